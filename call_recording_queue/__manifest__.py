{
    "name": "Call Recording: Imports and Downloads as Queued Jobs",
    "summary": "Provider imports and recording downloads run as OCA queue_job jobs, "
    "a channel per kind, in parallel over several workers",
    "version": "19.0.1.0.0",
    "category": "Sales/Call Recording",
    "website": "https://github.com/callrec/odoo-call-recording",
    "author": "Call Recording Team",
    "license": "LGPL-3",
    "depends": ["call_recording", "queue_job"],
    "data": ["data/queue_job_data.xml"],
    "auto_install": True,
}
