from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

from . import evidence


class CallRecordingHold(models.Model):
    """A legal hold: named calls, or all calls of a customer, are never purged.

    Placed by a manager with a reason (a dispute, an authority's request) and
    released with a reason; both are kept as evidence.  A hold only grows
    until it is released: its customer is fixed, calls are added (a
    customer's calls as they arrive, too) and never taken out, so neither a
    changed contact on a call nor a deleted contact lets a call escape it.
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
    call_ids = fields.Many2many("call.recording", string="Calls", check_company=True, tracking=True)
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

    @api.onchange("partner_id", "company_id")
    def _onchange_partner_id(self):
        """A customer-wide hold lists the calls it covers (those of now; later
        ones join as they arrive)."""
        if self.partner_id and self.state == "active":
            self.call_ids |= self.env["call.recording"].search(
                [
                    ("commercial_partner_id", "=", self.partner_id.commercial_partner_id.id),
                    ("company_id", "=", self.company_id.id or self.env.company.id),
                ]
            )

    def _evidence_fields(self):
        """Placed and released through the actions only: see ``evidence.py``."""
        return evidence.HOLD_EVIDENCE

    def _evidence_facts(self):
        return evidence.HOLD_FACTS

    @api.model_create_multi
    def create(self, vals_list):
        self = evidence.check_create(self, vals_list)  # noqa: PLW0642
        holds = super().create(vals_list)
        holds._hold_customer_calls()
        self.env["call.recording"].invalidate_model(["legal_hold"])
        return holds

    def write(self, vals):
        if any(h.state == "released" for h in self) and set(vals) - {"message_main_attachment_id"}:
            raise UserError(self.env._("A released hold is kept as evidence and cannot change."))
        evidence.check_write(self, vals)
        before = {hold.id: hold.call_ids for hold in self} if "call_ids" in vals else {}
        res = super().write(vals)
        if before and not evidence.is_writer(self.env):
            for hold in self:
                if before[hold.id] - hold.call_ids:
                    raise AccessError(
                        self.env._(
                            "Calls cannot be taken out of an active legal hold; release "
                            "the hold (with its reason) instead."
                        )
                    )
        self.env["call.recording"].invalidate_model(["legal_hold"])
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Legal holds are kept as evidence and cannot be deleted."))

    def _hold_customer_calls(self, calls=None):
        """Add the customer's calls (of the hold's company) to its calls.

        The hold then keeps them whatever happens to the contact: a call
        linked to someone else, a contact deleted.  ``calls`` limits the
        search to these (new calls as they arrive).
        """
        for hold in self.filtered(lambda h: h.state == "active" and h.partner_id):
            domain = Domain("commercial_partner_id", "=", hold.partner_id.commercial_partner_id.id)
            domain &= Domain("company_id", "=", hold.company_id.id)
            if calls is not None:
                domain &= Domain("id", "in", calls.ids)
            # sudo: the hold covers every call of the customer, whoever may read them.
            found = self.env["call.recording"].sudo().with_context(active_test=False).search(domain)
            if found - hold.call_ids:
                evidence.writer(hold).write({"call_ids": [(4, call.id) for call in found]})

    def action_release(self, reason=None):
        self.check_access("write")
        reason = reason or self.env.context.get("release_reason")
        if not reason:
            raise UserError(self.env._("Say why the hold is released."))
        released = self.filtered(lambda h: h.state == "active")
        for hold in released:
            evidence.writer(hold).write(
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
        # Refusals noted while the hold kept the audio are applied now.
        # sudo: the released holds' calls, whoever may read them.
        calls = (
            self.env["call.recording"]
            .sudo()
            .search(self.env["call.recording"]._held_domain(released))
        )
        calls._apply_deferred_refusals()
        return True
