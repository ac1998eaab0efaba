from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..lib import phone as phone_lib

#: Why a call may be recorded (GDPR Art. 6): the law obliges it (Fgytv. 17/B
#: customer service), the other party consents, or it must not be recorded.
RECORDING_POLICIES = [
    ("legal", "Legal obligation"),
    ("consent", "With consent"),
    ("none", "Not recorded"),
]
DEFAULT_RETENTION_MONTHS = {"legal": 60, "consent": 12, "none": 0}


class CallRecordingLine(models.Model):
    """One of our phone numbers and the recording policy that applies to it."""

    _name = "call.recording.line"
    _description = "Recorded Line"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    number = fields.Char(required=True, help="The line's phone number, as dialled.")
    number_e164 = fields.Char(
        string="Number (E.164)", compute="_compute_number_e164", store=True, index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    policy = fields.Selection(
        RECORDING_POLICIES,
        required=True,
        default="legal",
        help="Legal obligation: every call is recorded and kept for the retention "
        "period (customer service, Fgytv. 17/B). With consent: recorded only if "
        "the other party agrees; a refusal deletes the audio. Not recorded: "
        "recordings of this line are refused.",
    )
    retention_months = fields.Integer(
        string="Keep Recordings (months)",
        compute="_compute_retention_months",
        store=True,
        readonly=False,
        help="Recordings are deleted this many months after the call; 60 "
        "months (5 years) for customer service lines.",
    )
    metadata_retention_months = fields.Integer(
        string="Keep Call Data (months)",
        help="The call's data (numbers, contact, agent, notes) are deleted this many months "
        "after the call, not before the recording. Empty: the company's setting, by default "
        "as long as the recording.",
    )
    metadata_months_effective = fields.Integer(
        string="Call Data Kept (months)",
        compute="_compute_metadata_months_effective",
        help="How long call data of this line are kept: the line's own period, else the "
        "company's setting.",
    )
    metadata_purpose = fields.Text(
        string="Why Call Data Is Kept",
        translate=True,
        help="The purpose the call data serve once the recording is gone (GDPR Art. 5(1)(b) "
        "and (e)): shown in the settings beside the period.",
    )
    consent_deadline_hours = fields.Integer(
        string="Consent Within (hours)",
        help="With consent: the consent must be noted within this many hours of the call's "
        "start, or the recording is deleted (the consent could not be shown, GDPR Art. "
        "7(1)). 0: no time limit.",
    )
    announcement = fields.Text(
        translate=True,
        help="What the IVR or the operator tells the caller. {reference} is "
        "replaced by the call's unique reference.",
    )
    call_count = fields.Integer(compute="_compute_call_count", string="Calls")

    _number_company_unique = models.Constraint(
        "UNIQUE(number_e164, company_id)", "A line can be listed only once per company."
    )
    _retention_positive = models.Constraint(
        "CHECK(retention_months >= 0)", "The retention period cannot be negative."
    )
    _metadata_retention_positive = models.Constraint(
        "CHECK(metadata_retention_months >= 0)", "The call data period cannot be negative."
    )
    _consent_deadline_positive = models.Constraint(
        "CHECK(consent_deadline_hours >= 0)", "The time to note consent cannot be negative."
    )

    @api.depends("number", "company_id.country_id")
    def _compute_number_e164(self):
        for line in self:
            line.number_e164 = phone_lib.to_e164(line.number, line.company_id.country_id.code)

    @api.depends("policy")
    def _compute_retention_months(self):
        for line in self:
            if line.policy == "consent":
                line.retention_months = line.company_id.call_recording_consent_retention_months
            else:
                line.retention_months = DEFAULT_RETENTION_MONTHS[line.policy]

    @api.depends(
        "policy",
        "retention_months",
        "metadata_retention_months",
        "company_id.call_recording_metadata_mode",
        "company_id.call_recording_metadata_retention_months",
    )
    def _compute_metadata_months_effective(self):
        for line in self:
            line.metadata_months_effective = line._metadata_months()

    def _metadata_months(self):
        """Months a call's data stay on this line: its own period, else the company's rule."""
        self.ensure_one()
        months = self.retention_months if self.policy != "none" else 0
        return self.metadata_retention_months or self.company_id._call_recording_metadata_months(
            self.policy, months
        )

    @api.constrains("retention_months", "metadata_retention_months")
    def _check_metadata_retention(self):
        for line in self:
            if (
                line.metadata_retention_months
                and line.policy != "none"
                and line.metadata_retention_months < line.retention_months
            ):
                raise ValidationError(
                    self.env._(
                        "%(line)s: call data cannot be deleted before the recording; keep "
                        "them at least %(months)s months.",
                        line=line.name,
                        months=line.retention_months,
                    )
                )

    @api.constrains("number", "number_e164")
    def _check_number(self):
        for line in self:
            if not line.number_e164:
                raise ValidationError(
                    self.env._("%(number)s is not a valid phone number.", number=line.number)
                )

    @api.constrains("policy", "retention_months")
    def _check_legal_retention(self):
        for line in self:
            if line.policy == "legal" and line.retention_months < 60:
                raise ValidationError(
                    self.env._(
                        "Customer service recordings must be kept for at least 5 years (60 months)."
                    )
                )

    def _compute_call_count(self):
        groups = dict(
            self.env["call.recording"]._read_group(
                [("line_id", "in", self.ids)], ["line_id"], ["__count"]
            )
        )
        for line in self:
            line.call_count = groups.get(line, 0)

    def _announcement_for(self, reference):
        """The announcement with the call's reference filled in ("" without a line)."""
        if not self:
            return ""
        self.ensure_one()
        return (self.announcement or "").replace("{reference}", reference or "")
