from odoo import api, fields, models
from odoo.exceptions import UserError


class CallRecordingHold(models.Model):
    """A legal hold: named calls, or all calls of a customer, are never purged.

    Placed by a manager with a reason (a dispute, an authority's request) and
    released with a reason; both are kept as evidence.
    """

    _name = "call.recording.hold"
    _description = "Legal Hold on Call Recordings"
    _inherit = ["mail.thread"]
    _order = "create_date desc, id desc"

    name = fields.Char(string="Reason", required=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        index="btree_not_null",
        help="Holds every call of this customer and its contacts, past and future.",
    )
    call_ids = fields.Many2many("call.recording", string="Calls", check_company=True)
    state = fields.Selection(
        [("active", "Active"), ("released", "Released")],
        default="active",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    placed_by_id = fields.Many2one("res.users", readonly=True, default=lambda self: self.env.user)
    released_by_id = fields.Many2one("res.users", readonly=True)
    release_date = fields.Datetime(readonly=True)
    release_reason = fields.Char(readonly=True)

    @api.constrains("partner_id", "call_ids")
    def _check_scope(self):
        for hold in self:
            if not hold.partner_id and not hold.call_ids:
                raise UserError(self.env._("A legal hold needs a customer or calls."))

    def write(self, vals):
        if any(h.state == "released" for h in self) and set(vals) - {"message_main_attachment_id"}:
            raise UserError(self.env._("A released hold is kept as evidence and cannot change."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Legal holds are kept as evidence and cannot be deleted."))

    def action_release(self, reason=None):
        reason = reason or self.env.context.get("release_reason")
        if not reason:
            raise UserError(self.env._("Say why the hold is released."))
        for hold in self.filtered(lambda h: h.state == "active"):
            hold.write(
                {
                    "state": "released",
                    "released_by_id": self.env.uid,
                    "release_date": fields.Datetime.now(),
                    "release_reason": reason,
                }
            )
            hold.message_post(
                body=self.env._("Hold released: %(reason)s", reason=reason),
                subtype_xmlid="mail.mt_note",
            )
        return True
