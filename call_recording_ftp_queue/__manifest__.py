{
    "name": "Call Recording: FTP Exports as Queued Jobs",
    "summary": "Exports to FTP, FTPS and SFTP servers run as OCA queue_job jobs, one per target",
    "version": "19.0.1.0.0",
    "category": "Sales/Call Recording",
    "website": "https://github.com/callrec/odoo-call-recording",
    "author": "Call Recording Team",
    "license": "LGPL-3",
    "depends": ["call_recording_ftp", "call_recording_queue"],
    "data": ["data/queue_job_data.xml"],
    "auto_install": True,
}
