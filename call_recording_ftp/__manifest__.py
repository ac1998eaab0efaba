{
    "name": "Call Recording: Export to FTP, FTPS or SFTP",
    "summary": "Periodic, verified transfer of call recordings to the customer's own "
    "FTP, FTPS or SFTP server",
    "version": "19.0.1.0.0",
    "category": "Sales/Call Recording",
    "website": "https://github.com/callrec/odoo-call-recording",
    "author": "Call Recording Team",
    "license": "LGPL-3",
    "depends": ["call_recording"],
    "external_dependencies": {"python": ["paramiko"]},
    "data": [
        "security/call_recording_ftp_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/call_recording_export_target_views.xml",
        "views/call_recording_export_run_views.xml",
        "views/call_recording_export_views.xml",
        "views/call_recording_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
    ],
    "demo": ["demo/call_recording_ftp_demo.xml"],
}
