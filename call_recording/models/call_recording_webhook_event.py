from odoo import fields, models


class CallRecordingWebhookEvent(models.Model):
    """A webhook delivery we accepted, kept to recognise repeats and to finish it later.

    Providers deliver at least once and in any order: a delivery whose key
    is already here is answered and ignored.  One that names a call without
    its data waits here until the next run reads the call from the API.
    """

    _name = "call.recording.webhook.event"
    _description = "Provider Webhook Delivery"
    _order = "id desc"
    _rec_name = "event_key"

    provider_id = fields.Many2one(
        "call.recording.provider", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    event_key = fields.Char(required=True, readonly=True)
    kind = fields.Char(string="Event", readonly=True)
    external_id = fields.Char(string="Provider Call ID", readonly=True)
    recording_ref = fields.Char(string="Provider Recording ID", readonly=True)
    call_id = fields.Many2one("call.recording", readonly=True, ondelete="set null")
    state = fields.Selection(
        [("pending", "To read back"), ("done", "Done"), ("failed", "Failed")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True)
    error = fields.Text(readonly=True)

    _provider_event_unique = models.Constraint(
        "UNIQUE(provider_id, event_key)", "A webhook delivery is processed only once."
    )
