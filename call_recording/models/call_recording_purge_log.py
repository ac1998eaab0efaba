from odoo import api, fields, models
from odoo.exceptions import UserError

PURGE_RULES = [
    ("retention", "Retention period over"),
    ("consent", "Consent refused"),
    ("not_recorded", "Line not recorded"),
    ("metadata", "Call data retention over"),
    ("manual", "Deleted by hand"),
]


class CallRecordingPurgeLog(models.Model):
    """Evidence of each deletion, for an auditor: what, when, under which rule.

    Holds the call's reference and the policy facts only, no personal data
    (no numbers, names or content).
    """

    _name = "call.recording.purge.log"
    _description = "Call Recording Purge Log"
    _order = "create_date desc, id desc"
    _rec_name = "call_reference"

    call_reference = fields.Char(string="Reference", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    rule = fields.Selection(PURGE_RULES, required=True, readonly=True)
    what = fields.Selection(
        [("audio", "Recording"), ("call", "Call data")], required=True, readonly=True
    )
    line_name = fields.Char(string="Line", readonly=True)
    legal_basis = fields.Char(readonly=True)
    retention_date = fields.Date(readonly=True)
    audio_sha256 = fields.Char(string="SHA-256 of Deleted Audio", readonly=True)
    user_id = fields.Many2one("res.users", string="Run By", readonly=True)
    create_date = fields.Datetime(string="Deleted On", readonly=True, index=True)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The purge log cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The purge log cannot be deleted."))
