from odoo import fields, models


class CallRecordingRequestExtend(models.TransientModel):
    """Extend a request's deadline: by how much, why, and when the customer was told."""

    _name = "call.recording.request.extend"
    _description = "Extend a Recording Request's Deadline"

    request_id = fields.Many2one("call.recording.request", required=True, ondelete="cascade")
    months = fields.Selection([("1", "One month"), ("2", "Two months")], required=True, default="1")
    reason = fields.Text(
        required=True, help="Why the request needs more time (e.g. many or complex requests)."
    )
    notified_date = fields.Date(
        string="Customer Told On",
        required=True,
        default=fields.Date.context_today,
        help="When the customer was told of the extension and its reason (within the first month).",
    )

    def action_extend(self):
        self.ensure_one()
        self.request_id._extend_deadline(int(self.months), self.reason, self.notified_date)
        return {"type": "ir.actions.act_window_close"}
