from odoo import api, fields, models
from odoo.exceptions import UserError

ACCESS_TYPES = [
    ("play", "Play"),
    ("download", "Download"),
    ("handover", "Hand-over download"),
    ("refused", "Refused"),
]


class CallRecordingAccessLog(models.Model):
    """Who listened to or downloaded which recording, when and from where.

    Written only by the audio and hand-over routes (accountability, GDPR Art.
    5(2)), refused attempts included; never edited, and kept when the call
    itself is deleted.
    """

    _name = "call.recording.access.log"
    _description = "Call Recording Access Log"
    _order = "create_date desc, id desc"
    _rec_name = "call_reference"

    call_id = fields.Many2one("call.recording", index=True, ondelete="set null", readonly=True)
    request_id = fields.Many2one(
        "call.recording.request", index="btree_not_null", ondelete="set null", readonly=True
    )
    call_reference = fields.Char(string="Reference", readonly=True, required=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True, required=True)
    user_id = fields.Many2one(
        "res.users", index=True, readonly=True, required=True, ondelete="restrict"
    )
    access_type = fields.Selection(ACCESS_TYPES, string="Access", readonly=True, required=True)
    ip_address = fields.Char(string="IP Address", readonly=True)
    user_agent = fields.Char(readonly=True)
    create_date = fields.Datetime(string="Date", readonly=True, index=True)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The access log of recordings cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The access log of recordings cannot be deleted."))
