from odoo import fields, models

from .call_recording_line import RECORDING_POLICIES


class ResCompany(models.Model):
    _inherit = "res.company"

    call_recording_default_policy = fields.Selection(
        RECORDING_POLICIES,
        string="Unlisted Lines",
        required=True,
        default="legal",
        help="Policy of the calls on lines that are not listed: record them as "
        "customer service (legal obligation), with consent, or not at all "
        "(only listed lines are recorded).",
    )
    call_recording_consent_retention_months = fields.Integer(
        string="Keep Consent Recordings (months)", default=12
    )
    call_recording_metadata_retention_months = fields.Integer(
        string="Keep Call Data (months)",
        default=120,
        help="Calls (without audio) are deleted this many months after the call.",
    )
    call_recording_request_days = fields.Integer(
        string="Answer Requests Within (days)",
        default=30,
        help="Legal deadline to hand recordings over to the customer (GDPR Art. 12(3)).",
    )
