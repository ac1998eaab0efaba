from odoo import fields, models


class CallRecordingProviderUser(models.Model):
    """A user of the provider account and the Odoo user who is that agent."""

    _name = "call.recording.provider.user"
    _description = "Provider User"
    _order = "provider_id, name, external_user_id"
    _rec_name = "name"

    provider_id = fields.Many2one(
        "call.recording.provider", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    external_user_id = fields.Char(
        string="Provider User", required=True, help="User id, e-mail or extension at the provider."
    )
    name = fields.Char()
    email = fields.Char()
    user_id = fields.Many2one(
        "res.users",
        string="Odoo User",
        domain="[('share', '=', False)]",
        help="Calls of this provider user are this user's. Linked automatically to "
        "the user whose login is the e-mail the provider sends (never by the e-mail "
        "users edit themselves); otherwise an administrator links it here.",
    )
    match_note = fields.Char(
        string="Link",
        readonly=True,
        help="Why the provider user was not linked automatically.",
    )

    def write(self, vals):
        if "user_id" in vals and "match_note" not in vals:
            vals["match_note"] = False  # linked (or unlinked) by an administrator
        return super().write(vals)

    _provider_user_unique = models.Constraint(
        "UNIQUE(provider_id, external_user_id)",
        "A provider user can be mapped only once per account.",
    )
