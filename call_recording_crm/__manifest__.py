{
    "name": "Call Recording on CRM Leads",
    "summary": "Calls and their recordings on leads and opportunities",
    "version": "19.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/callrec/odoo-call-recording",
    "author": "Call Recording Team",
    "license": "LGPL-3",
    "auto_install": True,
    "depends": ["call_recording", "crm"],
    "data": [
        "views/call_recording_views.xml",
        "views/crm_lead_views.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "call_recording_crm/static/tests/tours/**/*",
        ],
    },
}
