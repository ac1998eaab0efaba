from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain


class CallRecording(models.Model):
    _inherit = "call.recording"

    lead_id = fields.Many2one(
        "crm.lead",
        string="Lead / Opportunity",
        index="btree_not_null",
        check_company=True,
        tracking=True,
        help="The open lead or opportunity this call belongs to: found by the "
        "customer or, for leads without a customer, by the phone number.",
    )

    def _agent_writable_fields(self):
        return super()._agent_writable_fields() | {"lead_id"}

    @api.model_create_multi
    def create(self, vals_list):
        calls = super().create(vals_list)
        calls.filtered(lambda c: not c.lead_id)._match_leads()
        return calls

    def write(self, vals):
        if vals.get("lead_id"):
            # Only a lead the user may read: the link is noted (with the
            # lead's name) in the call's chatter.
            self.env["crm.lead"].browse(vals["lead_id"]).check_access("read")
        previous = {call.id: call.lead_id for call in self} if "lead_id" in vals else {}
        res = super().write(vals)
        if "lead_id" in vals:
            for call in self.filtered(lambda c: c.lead_id and c.lead_id != previous[c.id]):
                call._post_on_lead()
        elif "partner_id" in vals:
            self.filtered(lambda c: not c.lead_id)._match_leads()
        return res

    def _lead_candidates_domain(self):
        """Open leads this call may belong to (its customer's, or its number's)."""
        self.ensure_one()
        conditions = []
        if self.commercial_partner_id:
            conditions.append(Domain("partner_id", "child_of", self.commercial_partner_id.id))
        if self.external_number_e164:
            conditions.append(
                Domain("partner_id", "=", False)
                & Domain("phone_sanitized", "=", self.external_number_e164)
            )
        if not conditions:
            return None
        # A lead without a company is its salesperson's: it takes calls of
        # the companies they work in only.
        company = Domain("company_id", "=", self.company_id.id) | (
            Domain("company_id", "=", False)
            & Domain("user_id.company_ids", "in", self.company_id.ids)
        )
        return (
            Domain.OR(conditions)
            & Domain([("active", "=", True), ("won_status", "=", "pending")])
            & company
        )

    def _match_leads(self):
        """Link each call to the most recent open lead of its customer or number."""
        # sudo: the link is the system's, whatever leads the importing or
        # editing user may read; who sees the call is unchanged by it.
        Lead = self.env["crm.lead"].sudo()
        for call in self:
            domain = call._lead_candidates_domain()
            if not domain:
                continue
            lead = Lead.search(domain, order="create_date desc, id desc", limit=1)
            if lead:
                # sudo: the system's link (see above).
                call.sudo().lead_id = lead

    def _post_on_lead(self):
        """Tell both chatters: the lead about the call, the call about the lead."""
        self.ensure_one()
        lead = self.lead_id
        direction = dict(self._fields["direction"]._description_selection(self.env))
        # sudo: an agent may link their call to a lead they cannot write on,
        # and the note on the call is the system's record of the link.
        lead.sudo().message_post(
            body=Markup("%s %s (%s, %s)")
            % (
                self.env._("Call"),
                self._get_html_link(title=self.name),
                direction[self.direction],
                self.duration_display,
            ),
            subtype_xmlid="mail.mt_note",
        )
        # sudo: the note on the call is the system's (the lead was checked
        # readable when a user set it).
        self.sudo().message_post(
            body=Markup("%s %s") % (self.env._("Linked to"), lead._get_html_link(title=lead.name)),
            subtype_xmlid="mail.mt_note",
        )
