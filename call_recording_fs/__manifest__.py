{
    "name": "Call Recording: Object Storage",
    "summary": "Recordings and hand-over packages in S3-compatible object storage "
    "(OCA fs_attachment), the rest of Odoo untouched",
    "version": "19.0.1.0.0",
    "category": "Sales/Call Recording",
    "website": "https://github.com/callrec/odoo-call-recording",
    "author": "Call Recording Team",
    "license": "LGPL-3",
    "depends": ["call_recording", "fs_attachment_s3"],
    "external_dependencies": {
        "python": ["fsspec==2026.9.0", "s3fs==2026.9.0", "botocore==1.43.117"],
    },
    "data": [
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/fs_storage_views.xml",
    ],
}
