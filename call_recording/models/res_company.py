from odoo import fields, models

from .call_recording_line import DEFAULT_RETENTION_MONTHS, RECORDING_POLICIES

#: How long call data stay after the recording: its term, or months of their own.
METADATA_MODES = [
    ("recording", "As long as the recording"),
    ("months", "A number of months"),
]


class ResCompany(models.Model):
    _inherit = "res.company"

    call_recording_default_policy = fields.Selection(
        RECORDING_POLICIES,
        string="Unlisted Lines",
        help="Policy of the calls on lines that are not listed: record them as "
        "customer service (legal obligation), with consent, or not at all "
        "(only listed lines are recorded). Chosen when the suite is installed; "
        "until then such calls are kept as by legal obligation, and the dashboard "
        "says so.",
    )
    call_recording_default_policy_date = fields.Datetime(
        string="Unlisted Lines Chosen On", readonly=True, copy=False
    )
    call_recording_default_policy_user_id = fields.Many2one(
        "res.users", string="Unlisted Lines Chosen By", readonly=True, copy=False
    )
    call_recording_consent_retention_months = fields.Integer(
        string="Keep Consent Recordings (months)", default=12
    )
    call_recording_metadata_mode = fields.Selection(
        METADATA_MODES,
        string="Keep Call Data",
        required=True,
        default="recording",
        help="How long a call's data (numbers, contact, agent) stay once its recording "
        "is gone: as long as the recording (the default), or a number of months. "
        "Each line may set its own period.",
    )
    call_recording_metadata_retention_months = fields.Integer(
        string="Keep Call Data (months)",
        default=120,
        help="With 'a number of months', and for lines that are not recorded: calls "
        "(without audio) are deleted this many months after the call.",
    )
    call_recording_metadata_purpose = fields.Text(
        string="Why Call Data Are Kept",
        translate=True,
        default=lambda self: self.env._(
            "Evidence that the call took place (date, numbers, agent) for complaints and disputes."
        ),
        help="The purpose of call data on unlisted lines (and of lines that do not say).",
    )
    call_recording_link_max_days = fields.Integer(
        string="Download Links Valid At Most (days)",
        default=7,
        help="The longest a hand-over download link may be valid; managers choose a "
        "shorter one, never a longer one.",
    )
    call_recording_package_keep_days = fields.Integer(
        string="Keep Hand-over Packages (days)",
        default=7,
        help="A hand-over package (on the request and on the e-mail that carried it) is "
        "deleted after this many days, when its link expires if that is sooner, and "
        "whenever a recording in it is deleted. The request keeps the list of what was "
        "handed over and the package's SHA-256.",
    )

    _call_recording_link_days_positive = models.Constraint(
        "CHECK(call_recording_link_max_days > 0)",
        "A download link must be valid for at least a day.",
    )
    _call_recording_package_days_positive = models.Constraint(
        "CHECK(call_recording_package_keep_days > 0)",
        "Hand-over packages are kept for at least a day.",
    )

    def write(self, vals):
        if vals.get("call_recording_default_policy"):
            # the explicit choice is evidence of who made it, and when
            changed = self.filtered(
                lambda c: c.call_recording_default_policy != vals["call_recording_default_policy"]
            )
            res = super().write(vals)
            super(ResCompany, changed).write(
                {
                    "call_recording_default_policy_date": fields.Datetime.now(),
                    "call_recording_default_policy_user_id": self.env.uid,
                }
            )
            return res
        return super().write(vals)

    def _call_recording_unlisted_policy(self):
        """The policy of unlisted lines: the company's choice, legal obligation until made."""
        self.ensure_one()
        return self.call_recording_default_policy or "legal"

    def _call_recording_unlisted_months(self, policy):
        """How long recordings of unlisted lines of ``policy`` are kept (months)."""
        self.ensure_one()
        if policy == "consent":
            return self.call_recording_consent_retention_months
        return DEFAULT_RETENTION_MONTHS[policy]

    def _call_recording_metadata_months(self, policy, recording_months):
        """How long call data stay on a line of ``policy`` whose recordings stay
        ``recording_months``: that long, or the company's months (never less)."""
        self.ensure_one()
        company_months = self.call_recording_metadata_retention_months
        if policy == "none" or self.call_recording_metadata_mode == "months":
            return max(company_months, recording_months)
        return recording_months

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
