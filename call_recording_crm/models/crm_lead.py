from odoo import api, fields, models

#: Lead fields whose change may bring calls to the lead.
_MATCH_TRIGGERS = ("partner_id", "phone")


class CrmLead(models.Model):
    _inherit = "crm.lead"

    call_recording_ids = fields.One2many("call.recording", "lead_id", string="Calls", readonly=True)
    call_recording_count = fields.Integer(
        string="Call Count", compute="_compute_call_recording_count"
    )

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_call_recording_count(self):
        Call = self.env["call.recording"]
        counts = {}
        if Call.has_access("read") and self.ids:
            counts = {
                lead.id: count
                for lead, count in Call._read_group(
                    [("lead_id", "in", self.ids)], ["lead_id"], ["__count"]
                )
            }
        for lead in self:
            lead.call_recording_count = counts.get(lead.id, 0)

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        leads._link_calls()
        return leads

    def write(self, vals):
        res = super().write(vals)
        if any(f in vals for f in _MATCH_TRIGGERS):
            self._link_calls()
        return res

    def _link_calls(self):
        """Bring the customer's (or the number's) calls that have no lead yet.

        Only calls of the lead's company; a lead without a company is its
        salesperson's and takes calls of their companies (none without one).
        """
        # sudo: the link is the system's, whatever calls the user editing the
        # lead may read; only calls of the lead's companies are linked.
        Call = self.env["call.recording"].sudo()
        for lead in self.filtered(lambda lead: lead.active and lead.won_status == "pending"):
            companies = lead.company_id or lead.user_id.company_ids
            if lead.partner_id:
                domain = [("commercial_partner_id", "=", lead.partner_id.commercial_partner_id.id)]
            elif lead.phone_sanitized:
                domain = [("external_number_e164", "=", lead.phone_sanitized)]
            else:
                continue
            if not companies:
                continue
            Call.search(
                [*domain, ("lead_id", "=", False), ("company_id", "in", companies.ids)]
            ).write({"lead_id": lead.id})

    def action_view_call_recordings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "call_recording.call_recording_action"
        )
        action["domain"] = [("lead_id", "=", self.id)]
        action["context"] = {"default_lead_id": self.id}
        action["name"] = self.env._("Calls of %s", self.name)
        return action
