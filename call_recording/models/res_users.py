from odoo import models


class ResUsers(models.Model):
    _inherit = "res.users"

    def _call_recording_home_action(self):
        """Where an agent lands after login when no home action is set.

        Agents (not managers, whose work is broader) open their calls of
        today; everyone else keeps Odoo's default.
        """
        self.ensure_one()
        if self.action_id or not self._is_internal():
            return None
        if not self.has_group("call_recording.group_call_recording_user") or self.has_group(
            "call_recording.group_call_recording_manager"
        ):
            return None
        return self.env.ref(
            "call_recording.call_recording_action_my_calls", raise_if_not_found=False
        )
