from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import escape_psql


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

    @api.model
    def _resolve_agents(self, provider, pcalls):
        """Agent key of each report -> Odoo user id, through ``provider``'s user map.

        Provider users are added to the map as they appear, linked to the
        internal Odoo user whose *login* is their e-mail: a login only
        administrators change, never the e-mail users edit about themselves
        (an agent could otherwise take over a new colleague's calls).  No
        such user, or several (logins differing in case), leaves the
        provider user unlinked, with the reason on its row, for an
        administrator to link by hand; the map is what counts afterwards.
        """
        provider.ensure_one()
        reports = {}
        for pcall in pcalls:
            if pcall.agent_key:
                reports.setdefault(pcall.agent_key, pcall)
        if not reports:
            return {}
        # sudo: the import keeps the account's user map, whoever triggers it.
        Map = self.sudo()
        maps = {
            entry.external_user_id: entry
            for entry in Map.search(
                [("provider_id", "=", provider.id), ("external_user_id", "in", list(reports))]
            )
        }
        missing = [key for key in reports if key not in maps]
        if missing:
            by_login = self._users_by_login(
                {(reports[key].agent_email or "").strip().lower() for key in missing} - {""}
            )
            values = []
            for key in missing:
                email = (reports[key].agent_email or "").strip().lower()
                users = by_login.get(email, [])
                if len(users) == 1:
                    note = False
                elif users:
                    note = self.env._(
                        "Not linked: several Odoo users have the login %(login)s.", login=email
                    )
                elif email:
                    note = self.env._(
                        "Not linked: no Odoo user has the login %(login)s.", login=email
                    )
                else:
                    note = self.env._("Not linked: the provider sent no e-mail.")
                values.append(
                    {
                        "provider_id": provider.id,
                        "external_user_id": key,
                        "name": reports[key].agent_name or reports[key].agent_email or key,
                        "email": reports[key].agent_email or False,
                        "user_id": users[0] if len(users) == 1 else False,
                        "match_note": note,
                    }
                )
            for entry in Map.create(values):
                maps[entry.external_user_id] = entry
        return {key: maps[key].user_id.id for key in reports if maps[key].user_id}

    @api.model
    def _users_by_login(self, logins):
        """Lower-cased login -> ids of the active internal users with that login."""
        if not logins:
            return {}
        domain = Domain.OR(Domain("login", "=ilike", escape_psql(login)) for login in logins)
        # sudo: any internal user may be an agent, whoever imports.
        users = (
            self.env["res.users"]
            .sudo()
            .search_fetch(Domain("share", "=", False) & domain, ["login"])
        )
        found = {}
        for user in users:
            found.setdefault(user.login.lower(), []).append(user.id)
        return found
