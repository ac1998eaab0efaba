{
    "name": "Call Recording",
    "summary": "Phone calls and their recordings on the customer card, "
    "with access rules and an access log",
    "version": "19.0.1.0.0",
    "category": "Sales/Call Recording",
    "website": "https://github.com/callrec/odoo-call-recording",
    "author": "Call Recording Team",
    "license": "LGPL-3",
    "application": True,
    "depends": ["mail", "bus", "portal", "contacts", "phone_validation", "sales_team", "rpc"],
    "external_dependencies": {"python": ["phonenumbers>=8.12", "requests>=2.25"]},
    "data": [
        "security/call_recording_security.xml",
        "security/ir.model.access.csv",
        "data/ir_sequence_data.xml",
        "data/ir_cron_data.xml",
        "data/call_recording_outcome_data.xml",
        "views/call_recording_work_views.xml",
        "views/call_recording_views.xml",
        "views/call_recording_access_log_views.xml",
        "report/call_recording_report_views.xml",
        "views/call_recording_compliance_views.xml",
        "views/call_recording_provider_views.xml",
        "views/call_recording_push_views.xml",
        "views/res_partner_views.xml",
        "views/res_config_settings_views.xml",
        "views/call_recording_dashboard.xml",
        "views/menus.xml",
    ],
    "demo": [
        "demo/call_recording_demo.xml",
        "demo/call_recording_provider_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "call_recording/static/src/utils/**/*",
            "call_recording/static/src/fields/**/*",
            "call_recording/static/src/components/**/*",
            "call_recording/static/src/search/**/*",
            "call_recording/static/src/dashboard/**/*",
            "call_recording/static/src/services/**/*",
        ],
        # the graph view is loaded on first use (Odoo's lazy bundle)
        "web.assets_backend_lazy": [
            "call_recording/static/src/views/**/*",
        ],
        "web.assets_tests": [
            "call_recording/static/tests/tours/**/*",
        ],
    },
}
