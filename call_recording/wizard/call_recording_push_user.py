from odoo import Command, api, fields, models
from odoo.exceptions import AccessError

from ..models.call_recording_push import INTEGRATION_GROUP


class CallRecordingPushUser(models.TransientModel):
    """A new integration user for a push account, and its API key, shown once.

    The integration user is an external (portal) user that Odoo's user
    form does not offer: it has no password and signs in with its key
    only.  A key is the password of the Push API, so only system
    administrators (who may read the accounts' secrets) create one.
    """

    _name = "call.recording.push.user"
    _description = "New Push API Integration User"

    provider_id = fields.Many2one(
        "call.recording.provider",
        string="Push Account",
        required=True,
        domain=[("provider_type", "=", "push")],
    )
    name = fields.Char(required=True, default="PBX")
    login = fields.Char(
        required=True, help="A name for the technical user, e.g. pbx@example.com (no mail is sent)."
    )

    @api.model
    def _check_system(self):
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only system administrators create integration users and their keys.")
            )

    def action_create(self):
        self.ensure_one()
        self._check_system()
        provider = self.provider_id
        user = (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": self.name,
                    "login": self.login,
                    "group_ids": [Command.set(self.env.ref(INTEGRATION_GROUP).ids)],
                    "company_id": provider.company_id.id,
                    "company_ids": [Command.set(provider.company_id.ids)],
                }
            )
        )
        provider.push_user_ids |= user
        # sudo: a key without expiry for the new user, created by a system
        # administrator (checked above), as Odoo's own shell recipe does.
        key = (
            self.env["res.users.apikeys"]
            .with_user(user)
            .sudo()
            ._generate("rpc", provider.name, None)
        )
        provider.message_post(
            body=self.env._(
                "Integration user %(login)s and its API key created by %(user)s.",
                login=user.login,
                user=self.env.user.name,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("API Key of %(login)s", login=user.login),
            "res_model": "res.users.apikeys.show",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_key": key},
        }
