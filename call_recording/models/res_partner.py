from odoo import api, fields, models
from odoo.exceptions import UserError

from ..lib import phone as phone_lib

#: Partner fields whose change can change ``phone_sanitized``.
_PHONE_TRIGGERS = ("phone", "country_id", "company_id", "parent_id", "active")
#: Calls listed on the contact form; the smart button opens all of them.
LATEST_CALLS = 100


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Calls are matched on this column: index it (phone_validation does not).
    phone_sanitized = fields.Char(index="btree_not_null")
    call_recording_refused = fields.Boolean(
        string="Refuses Call Recording",
        tracking=True,
        help="The contact does not consent to being recorded: their calls on "
        "consent lines are treated as refused and their audio is not kept. "
        "Calls on customer service lines are recorded by law all the same.",
    )
    call_recording_ids = fields.Many2many(
        "call.recording",
        string="Latest Calls",
        compute="_compute_call_recording_ids",
        help="The latest calls with this contact and, for a company, its "
        "contacts, among those the user may see.",
    )
    call_recording_count = fields.Integer(
        string="Call Count", compute="_compute_call_recording_count"
    )
    call_recording_on_hold = fields.Boolean(
        string="On Legal Hold",
        compute="_compute_call_recording_on_hold",
        groups="call_recording.group_call_recording_user",
        help="An active legal hold names this customer: none of their calls is deleted.",
    )

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_call_recording_ids(self):
        Call = self.env["call.recording"]
        readable = Call.has_access("read")
        for partner in self:
            partner.call_recording_ids = (
                Call.search([("partner_id", "child_of", partner.id)], limit=LATEST_CALLS)
                if readable and partner.id
                else Call
            )

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_call_recording_count(self):
        # Counted with the user's own access rules: agents see their calls.
        Call = self.env["call.recording"]
        if not Call.has_access("read"):
            self.call_recording_count = 0
            return
        all_partners = self.with_context(active_test=False).search_fetch(
            [("id", "child_of", self.ids)], ["parent_id"]
        )
        groups = Call._read_group(
            [("partner_id", "in", all_partners.ids)], ["partner_id"], ["__count"]
        )
        self_ids = set(self._ids)
        self.call_recording_count = 0
        for called, count in groups:
            partner = called
            while partner:
                if partner.id in self_ids:
                    partner.call_recording_count += count
                partner = partner.parent_id

    def _call_recording_active_holds(self):
        """The active customer-wide holds of these contacts' customers (of every company)."""
        # sudo: whether a customer is held is shown to whoever sees the
        # contact (a yes or no); the holds themselves stay managers'.
        return (
            self.env["call.recording.hold"]
            .sudo()
            .search(
                [
                    ("state", "=", "active"),
                    ("partner_id.commercial_partner_id", "in", self.commercial_partner_id.ids),
                ]
            )
        )

    @api.depends_context("uid")
    def _compute_call_recording_on_hold(self):
        held = self._call_recording_active_holds().partner_id.commercial_partner_id
        for partner in self:
            partner.call_recording_on_hold = partner.commercial_partner_id in held

    def action_legal_hold(self):
        """The customer's legal hold: the active one, or a new one prefilled for them."""
        self.ensure_one()
        customer = self.commercial_partner_id
        Hold = self.env["call.recording.hold"]
        Hold.check_access("create")
        hold = Hold.search([("state", "=", "active"), ("partner_id", "=", customer.id)], limit=1)
        action = {
            "type": "ir.actions.act_window",
            "res_model": "call.recording.hold",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
        if hold:
            action.update(res_id=hold.id, name=hold.name)
        else:
            action.update(
                name=self.env._("Legal Hold: %(name)s", name=customer.display_name),
                context={"default_partner_id": customer.id},
            )
        return action

    def action_erase_consent_recordings(self):
        """A standing refusal: list the earlier consent recordings, to erase them."""
        self.ensure_one()
        self.env["call.recording.consent.erase"].check_access("create")
        wizard = self.env["call.recording.consent.erase"].create(
            {"partner_id": self.commercial_partner_id.id}
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "call.recording.consent.erase",
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "name": self.env._("Erase Earlier Consent Recordings"),
        }

    def action_view_call_recordings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "call_recording.call_recording_action"
        )
        action["domain"] = [("partner_id", "child_of", self.id)]
        action["context"] = {
            "default_partner_id": self.id,
            "search_default_filter_not_empty": 1,
        }
        action["name"] = self.env._("Calls of %s", self.display_name)
        return action

    @api.ondelete(at_uninstall=False)
    def _unlink_except_legal_hold(self):
        """A customer named by an active legal hold stays (the hold would lose them)."""
        # sudo: whether a hold names the contact matters whoever deletes it.
        holds = (
            self.env["call.recording.hold"]
            .sudo()
            .search([("state", "=", "active"), ("partner_id", "in", self.ids)], limit=1)
        )
        if holds:
            raise UserError(
                self.env._(
                    "%(partner)s is on legal hold and cannot be deleted until the hold is "
                    "released.",
                    partner=holds.partner_id.display_name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        self.env["call.recording"]._rematch_numbers(partners.mapped("phone_sanitized"))
        return partners

    def write(self, vals):
        if not any(f in vals for f in _PHONE_TRIGGERS):
            return super().write(vals)
        before = set(self.mapped("phone_sanitized"))
        res = super().write(vals)
        after = set(self.mapped("phone_sanitized"))
        if before != after or "active" in vals or "company_id" in vals:
            self.env["call.recording"]._rematch_numbers(before | after)
        return res

    def _compute_phone_sanitized(self):  # pylint: disable=missing-return
        """Also understand numbers that ``phonenumbers`` alone rejects.

        Hungarian address books write extensions as ``mellék 12`` or
        ``m. 12``; the number before it is still the customer's and must
        match their calls.
        """
        super()._compute_phone_sanitized()
        for partner in self:
            if partner.phone_sanitized or not partner.phone:
                continue
            country = (
                partner.country_id or partner.company_id.country_id or self.env.company.country_id
            )
            partner.phone_sanitized = phone_lib.to_e164(partner.phone, country.code) or False
