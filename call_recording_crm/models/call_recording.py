from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from odoo.addons.call_recording.lib import phone as phone_lib


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
            self.filtered(lambda c: c.lead_id and c.lead_id != previous[c.id])._post_on_leads()
        elif "partner_id" in vals:
            self.filtered(lambda c: not c.lead_id)._match_leads()
        return res

    def _match_leads(self):
        """Link each call to the most recent open lead of its customer or number.

        A call's leads are the open ones of its customer (or of the
        customer's contacts) and, among leads without a customer, those of
        its number; a lead without a company is its salesperson's and takes
        calls of the companies they work in only.  One search for the whole
        batch, as partner matching; each call takes the newest of its own.
        """
        calls = self.filtered(lambda c: c.commercial_partner_id or c.external_number_e164)
        if not calls:
            return
        customers = calls.commercial_partner_id
        numbers = {call.external_number_e164 for call in calls if call.external_number_e164}
        conditions = []
        if customers:
            conditions.append(Domain("partner_id", "child_of", customers.ids))
        if numbers:
            conditions.append(
                Domain("partner_id", "=", False) & Domain("phone_sanitized", "in", list(numbers))
            )
        companies = calls.company_id
        company = Domain("company_id", "in", companies.ids) | (
            Domain("company_id", "=", False) & Domain("user_id.company_ids", "in", companies.ids)
        )
        # sudo: the link is the system's, whatever leads the importing or
        # editing user may read; who sees the call is unchanged by it.
        leads = (
            self.env["crm.lead"]
            .sudo()
            .search(
                Domain.OR(conditions)
                & Domain([("active", "=", True), ("won_status", "=", "pending")])
                & company,
                order="create_date desc, id desc",
            )
        )
        rank = {lead.id: index for index, lead in enumerate(leads)}
        of_customer, of_number = defaultdict(list), defaultdict(list)
        for lead in leads:
            if lead.partner_id:
                # child_of: the lead's contact or any of its parents
                partner = lead.partner_id
                while partner:
                    of_customer[partner.id].append(lead)
                    partner = partner.parent_id
            else:
                of_number[lead.phone_sanitized].append(lead)
        links = defaultdict(self.browse)
        for call in calls:
            candidates = of_customer.get(call.commercial_partner_id.id, []) + of_number.get(
                call.external_number_e164 or "", []
            )
            own = [lead for lead in candidates if call._lead_in_company(lead)]
            if own:
                links[min(own, key=lambda lead: rank[lead.id])] |= call
        for lead, linked in links.items():
            # sudo: the system's link (see above).
            linked.sudo().lead_id = lead

    def _lead_in_company(self, lead):
        """Whether ``lead`` may take this call: the call's company, or a lead
        without one whose salesperson works in it."""
        self.ensure_one()
        if lead.company_id:
            return lead.company_id == self.company_id
        return self.company_id in lead.user_id.company_ids

    def _post_on_leads(self):
        """Tell both chatters: each lead once about its new calls, each call about its lead.

        A lead that collects a customer's earlier calls gets one summary
        message listing them, not one message per call.
        """
        for lead in self.lead_id:
            calls = self.filtered(lambda c, lead=lead: c.lead_id == lead)
            if len(calls) == 1:
                body = self.env._("Call %(call)s", call=calls._lead_call_summary())
            else:
                body = Markup("<p>%s</p><ul>%s</ul>") % (
                    self.env._("%(count)s calls linked to this lead:", count=len(calls)),
                    Markup().join(
                        Markup("<li>%s</li>") % call._lead_call_summary()
                        for call in calls.sorted("start_datetime")
                    ),
                )
            # sudo: an agent may link their call to a lead they cannot write on,
            # and the note on the call is the system's record of the link.
            lead.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")
            for call in calls:
                # sudo: the note on the call is the system's (the lead was
                # checked readable when a user set it).
                call.sudo().message_post(
                    body=self.env._(
                        "Linked to %(lead)s", lead=lead._get_html_link(title=lead.name)
                    ),
                    subtype_xmlid="mail.mt_note",
                )

    def _post_on_lead(self):
        """Tell both chatters about this call's lead."""
        self.ensure_one()
        self._post_on_leads()

    def _lead_call_summary(self):
        """``CR/2026/000123 (Inbound, 2:05, 12/01/2026 10:30)`` with a link to the call."""
        self.ensure_one()
        direction = dict(self._fields["direction"]._description_selection(self.env))
        start = fields.Datetime.context_timestamp(self, self.start_datetime)
        lang = self.env["res.lang"]._get_data(code=self.env.lang or "en_US")
        date_format = lang.date_format or "%Y-%m-%d"
        time_format = "%H:%M"
        return self.env._(
            "%(call)s (%(direction)s, %(length)s, %(start)s)",
            call=self._get_html_link(title=self.name),
            direction=direction[self.direction],
            length=self.duration_display,
            start=start.strftime(f"{date_format} {time_format}"),
        )

    def action_create_lead(self):
        """A new lead with the call's number (and contact) filled in, linked to the call."""
        self.ensure_one()
        self.check_access("write")
        if self.lead_id:
            raise UserError(self.env._("This call is already on a lead."))
        number = self.external_number_e164
        if not number and not self.partner_id:
            raise UserError(self.env._("This call has neither a contact nor a number."))
        Lead = self.env["crm.lead"]
        Lead.check_access("create")
        vals = {
            "name": self.env._("Call from %s", self._other_party_label()),
            "phone": phone_lib.format_international(number) or number or False,
            "user_id": self.env.uid,
            "company_id": self.company_id.id,
        }
        if self.partner_id:
            vals["partner_id"] = self.partner_id.id
        lead = Lead.create(vals)
        if not self.lead_id:
            # sudo: as in _match_leads, the link is the system's.
            self.sudo().lead_id = lead
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "res_id": lead.id,
            "view_mode": "form",
            "views": [[False, "form"]],
            "target": "current",
        }
