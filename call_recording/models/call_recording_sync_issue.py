from odoo import fields, models


class CallRecordingSyncIssue(models.Model):
    """A call the provider reported but we could not read; it is read again each run."""

    _name = "call.recording.sync.issue"
    _description = "Unreadable Provider Call"
    _order = "last_seen desc, id desc"
    _rec_name = "external_id"

    provider_id = fields.Many2one(
        "call.recording.provider", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    log_id = fields.Many2one(
        "call.recording.sync.log", string="First Seen In", ondelete="set null", readonly=True
    )
    external_id = fields.Char(string="Provider Call ID", readonly=True, index=True)
    reason = fields.Text(readonly=True)
    attempts = fields.Integer(default=1, readonly=True)
    first_seen = fields.Datetime(default=fields.Datetime.now, readonly=True)
    last_seen = fields.Datetime(default=fields.Datetime.now, readonly=True)
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Imported"), ("ignored", "Ignored")],
        default="open",
        required=True,
        readonly=True,
    )
    resolved_date = fields.Datetime(readonly=True)

    def action_ignore(self):
        self.write({"state": "ignored", "resolved_date": fields.Datetime.now()})
        return True
