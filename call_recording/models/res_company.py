from odoo import fields, models

from .call_recording_line import RECORDING_POLICIES


class ResCompany(models.Model):
    _inherit = "res.company"

    call_recording_default_policy = fields.Selection(
        RECORDING_POLICIES,
        string="Unlisted Lines",
        required=True,
        default="legal",
        help="Policy of the calls on lines that are not listed: record them as "
        "customer service (legal obligation), with consent, or not at all "
        "(only listed lines are recorded).",
    )
    call_recording_consent_retention_months = fields.Integer(
        string="Keep Consent Recordings (months)", default=12
    )
    call_recording_metadata_retention_months = fields.Integer(
        string="Keep Call Data (months)",
        default=120,
        help="Calls (without audio) are deleted this many months after the call.",
    )
    call_recording_request_days = fields.Integer(
        string="Answer Requests Within (days)",
        default=30,
        help="Legal deadline to hand recordings over to the customer (GDPR Art. 12(3)).",
    )

    def _call_recording_administrators(self):
        """Who is alerted when the import or an export needs someone: one answer for both.

        The active internal users of the call recording Administrator group
        (directly or through a group implying it) who work in this company;
        when none does, every active internal one (an alert must reach
        someone).
        """
        self.ensure_one()
        group = self.env.ref("call_recording.group_call_recording_admin")
        # sudo: who administers the suite is asked whatever the caller may
        # read of users and groups; only their ids are used.
        admins = group.sudo().all_user_ids.filtered(lambda u: u.active and not u.share)
        ours = admins.filtered(lambda u: self.id in u.company_ids.ids)
        return (ours or admins).sudo(False)
