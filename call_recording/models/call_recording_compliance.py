"""Compliance of a call: its line's policy, legal holds, consent.

The recorded line decides the legal basis and the retention dates of a
call (``_apply_recording_policy``); legal holds keep calls whatever
their dates; the other party's consent is noted, refused or missing in
time, and the consent rule (``_may_keep_audio``, declared in
``call_recording.py``) follows it.  Deleting what is due is
``call_recording_purge.py``.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from ..lib import phone as phone_lib
from . import evidence
from .call_recording_line import RECORDING_POLICIES

_logger = logging.getLogger(__name__)

CONSENT_STATES = [
    ("not_asked", "Not asked"),
    ("given", "Given"),
    ("refused", "Refused"),
]
CONSENT_SOURCES = [
    ("agent", "Agent"),
    ("provider", "Telephony provider"),
    ("partner", "Contact's standing refusal"),
]


class CallRecording(models.Model):
    _inherit = "call.recording"

    line_id = fields.Many2one(
        "call.recording.line", string="Recorded Line", readonly=True, index="btree_not_null"
    )
    legal_basis = fields.Selection(
        RECORDING_POLICIES,
        readonly=True,
        copy=False,
        help="Set from the line's policy when the call arrives, and kept if the "
        "policy changes later.",
    )
    retention_date = fields.Date(
        string="Keep Recording Until", readonly=True, copy=False, index="btree_not_null"
    )
    metadata_retention_date = fields.Date(
        string="Keep Call Data Until", readonly=True, copy=False, index="btree_not_null"
    )
    consent_state = fields.Selection(
        CONSENT_STATES, string="Consent", default="not_asked", readonly=True, copy=False
    )
    consent_user_id = fields.Many2one("res.users", string="Consent Noted By", readonly=True)
    consent_date = fields.Datetime(string="Consent Noted On", readonly=True)
    consent_source = fields.Selection(CONSENT_SOURCES, readonly=True)
    consent_deadline = fields.Datetime(
        string="Consent Needed By",
        readonly=True,
        copy=False,
        help="The line asks for consent to be noted by then; without it the recording is "
        "deleted, as the consent could not be shown (GDPR Art. 7(1)).",
    )
    partner_refuses_recording = fields.Boolean(
        related="partner_id.commercial_partner_id.call_recording_refused"
    )
    legal_hold = fields.Boolean(compute="_compute_legal_hold", search="_search_legal_hold")
    announcement = fields.Text(compute="_compute_announcement")

    # recordings due for deletion: the purge and the dashboard's "due in 30
    # days" read only the calls that still have their audio
    _available_retention_idx = models.Index("(retention_date) WHERE recording_status = 'available'")

    # ------------------------------------------------------------------
    # Policy
    # ------------------------------------------------------------------

    def _compute_announcement(self):
        for call in self:
            call.announcement = call.line_id._announcement_for(call.name) or False

    @api.model
    def _active_holds(self):
        # sudo: whether a call is held matters to everyone who may delete or
        # purge it, whatever holds they may read.
        return self.env["call.recording.hold"].sudo().search([("state", "=", "active")])

    def _held_domain(self, holds):
        """Calls these holds cover: their calls, and their customers' calls in
        the hold's company (a hold follows its company, as the calls do)."""
        domain = Domain("id", "in", holds.call_ids.ids)
        for company in holds.company_id:
            customers = holds.filtered(lambda h, c=company: h.company_id == c).partner_id
            if customers:
                domain |= Domain(
                    "commercial_partner_id", "in", customers.commercial_partner_id.ids
                ) & Domain("company_id", "=", company.id)
        return domain

    def _compute_legal_hold(self):
        # sudo: whether a call is held (a yes or no) counts every hold.
        held = self.sudo().filtered_domain(self._held_domain(self._active_holds()))
        for call in self:
            call.legal_hold = call.id in held.ids

    def _search_legal_hold(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        domain = self._held_domain(self._active_holds())
        return domain if (operator == "=") == value else ~domain

    def _apply_recording_policy(self):
        """Give new calls their line, legal basis and retention dates.

        Decided once, when the call arrives: a later change of the line's
        policy does not change what applied to the calls already kept.
        """
        numbers = {c.line_number_e164 for c in self if c.line_number_e164}
        lines = {}
        if numbers:
            # sudo: the policy applies whoever imports the call.
            for line in (
                self.env["call.recording.line"]
                .sudo()
                .search([("number_e164", "in", list(numbers))])
            ):
                lines[line.company_id.id, line.number_e164] = line
        groups = defaultdict(list)
        for call in self:
            company = call.company_id
            line = lines.get((company.id, call.line_number_e164))
            # an unlisted line follows the company's explicit choice (legal
            # obligation until it is made: nothing is lost meanwhile)
            policy = line.policy if line else company._call_recording_unlisted_policy()
            if line:
                months = line.retention_months
                data_months = line._metadata_months()
            else:
                months = company._call_recording_unlisted_months(policy)
                data_months = company._call_recording_metadata_months(policy, months)
            start = fields.Date.to_date(call.start_datetime) or fields.Date.today()
            deadline = False
            if policy == "consent" and line and line.consent_deadline_hours > 0:
                deadline = (call.start_datetime or fields.Datetime.now()) + timedelta(
                    hours=line.consent_deadline_hours
                )
            vals = {
                "line_id": line.id if line else False,
                "legal_basis": policy,
                "retention_date": start + relativedelta(months=months),
                "metadata_retention_date": start + relativedelta(months=max(data_months, months)),
                "consent_deadline": deadline,
            }
            groups[tuple(sorted(vals.items()))].append(call.id)
        for vals, ids in groups.items():
            # Evidence fields are the system's to write.  Calls of the same
            # line and day share their values: one write per group.
            evidence.writer(self.browse(ids)).write(dict(vals))
        self._join_customer_holds()
        self._apply_partner_refusal()

    def _join_customer_holds(self):
        """Calls of a customer on legal hold join that hold's calls for good."""
        customers = self.commercial_partner_id
        if not customers:
            return
        # sudo: whether a call is held matters whoever stores or links it.
        holds = (
            self.env["call.recording.hold"]
            .sudo()
            .search(
                [
                    ("state", "=", "active"),
                    ("partner_id.commercial_partner_id", "in", customers.ids),
                ]
            )
        )
        holds._hold_customer_calls(self)

    def _apply_partner_refusal(self):
        """On consent lines, a contact's standing refusal refuses the call.

        Applied when the call arrives only: a contact created or edited
        later (by anyone who may edit contacts) never deletes recordings
        already kept; the call shows the contact's refusal, and whoever
        handles the call notes it with *Consent Refused*.
        """
        refused = self.filtered(
            lambda c: (
                c.legal_basis == "consent"
                and c.partner_refuses_recording
                and c.consent_state != "refused"
            )
        )
        if refused:
            refused._refuse_consent(source="partner")

    @api.model
    def _unconfigured_lines(self, days=90):
        """Our numbers with calls in the last ``days`` that no recorded line lists.

        They follow the company's setting for unlisted lines; the dashboard
        shows them (and that setting) until every active line is configured.
        """
        since = fields.Datetime.now() - timedelta(days=days)
        groups = self._read_group(
            [
                ("line_id", "=", False),
                ("line_number_e164", "!=", False),
                ("start_datetime", ">=", since),
            ],
            ["company_id", "line_number_e164"],
            ["__count"],
            order="__count desc",
        )
        # sudo: which numbers are listed now (a line listed since its calls came counts)
        listed = {
            (line.company_id.id, line.number_e164)
            for line in self.env["call.recording.line"]
            .sudo()
            .search([("number_e164", "in", [number for _c, number, _n in groups])])
        }
        numbers = []
        for company, number, _count in groups:
            if (company.id, number) not in listed and number not in numbers:
                numbers.append(number)
        company = self.env.company
        policies = dict(self._fields["legal_basis"]._description_selection(self.env))
        return {
            "count": len(numbers),
            "numbers": [phone_lib.format_international(n) or n for n in numbers[:10]],
            "chosen": bool(company.call_recording_default_policy),
            "policy": policies.get(company._call_recording_unlisted_policy(), ""),
        }

    # ------------------------------------------------------------------
    # Consent
    # ------------------------------------------------------------------

    def _check_consent_line(self):
        for call in self:
            if call.legal_basis != "consent":
                raise UserError(
                    self.env._(
                        "%(call)s is not on a consent line: its recording is kept under %(basis)s.",
                        call=call.name,
                        basis=dict(
                            self._fields["legal_basis"]._description_selection(self.env)
                        ).get(call.legal_basis, ""),
                    )
                )

    def action_consent_given(self):
        self.check_access("write")
        self._check_consent_line()
        if self.filtered(lambda c: c.consent_state == "refused"):
            raise UserError(self.env._("A refusal cannot be turned into a consent."))
        # Consent evidence is written by the system for the agent.
        evidence.writer(self).write(
            {
                "consent_state": "given",
                "consent_user_id": self.env.uid,
                "consent_date": fields.Datetime.now(),
                "consent_source": "agent",
            }
        )
        return True

    def action_consent_refused(self):
        self.check_access("write")
        self._check_consent_line()
        self._refuse_consent(source="agent")
        return True

    def _refuse_consent(self, source, note=None):
        """Record a refusal and delete the audio at once; the call stays as evidence.

        A legal hold wins (GDPR Art. 17(3)(e)): a held call keeps its audio,
        the refusal is recorded and applied when the hold is released.
        ``note`` goes to the purge log with the deletion.
        """
        evidence.writer(self).write(
            {
                "consent_state": "refused",
                "consent_user_id": self.env.uid,
                "consent_date": fields.Datetime.now(),
                "consent_source": source,
            }
        )
        self.invalidate_recordset(["legal_hold"])
        held = self.filtered("legal_hold")
        (self - held)._apply_deferred_refusals(note=note)
        for call in self:
            call.message_post(
                body=self.env._(
                    "The other party refused the recording; its audio is kept while the "
                    "call is on legal hold and deleted when the hold is released."
                )
                if call in held
                else self.env._("The other party refused the recording; its audio is deleted."),
                subtype_xmlid="mail.mt_note",
            )

    def _apply_deferred_refusals(self, note=None):
        """Delete the audio of refused calls that no legal hold keeps any more."""
        self.invalidate_recordset(["legal_hold"])
        due = self.filtered(
            lambda c: c.consent_state == "refused" and not c.legal_hold and c.has_audio
        )
        for call in due:
            call_note = note
            if call_note is None and call.consent_user_id.id != self.env.uid:
                # a refusal kept while the call was held, applied now
                call_note = self.env._(
                    "Refusal noted by %(user)s on %(date)s, applied when the legal hold ended.",
                    user=call.consent_user_id.name or "-",
                    date=fields.Datetime.to_string(call.consent_date),
                )
            call._purge_audio(rule="consent", status="refused", note=call_note)

    def _consent_expired(self):
        """Whether the line's time to note consent passed without a consent."""
        self.ensure_one()
        return bool(
            self.legal_basis == "consent"
            and self.consent_state != "given"
            and self.consent_deadline
            and self.consent_deadline < fields.Datetime.now()
        )

    @api.model
    def _consent_missing_domain(self):
        """Calls whose line's time to note consent is over without one, audio kept."""
        return Domain(
            [
                ("legal_basis", "=", "consent"),
                ("consent_state", "=", "not_asked"),
                ("consent_deadline", "<", fields.Datetime.now()),
                ("recording_status", "in", self._stored_audio_statuses()),
                ("legal_hold", "=", False),
            ]
        )

    @api.model
    def _stored_audio_statuses(self):
        """Statuses of a call whose recording is kept (extended by add-ons)."""
        return ("available",)

    # ------------------------------------------------------------------
    # Hooks into the call's life
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        calls = super().create(vals_list)
        calls._apply_recording_policy()
        return calls

    def write(self, vals):
        res = super().write(vals)
        if "partner_id" in vals:
            self._join_customer_holds()
        return res

    def _may_keep_audio(self):
        """The consent rule: not when the other party refused or no consent came in time,
        nor on a line not recorded."""
        self.ensure_one()
        return (
            super()._may_keep_audio()
            and self.consent_state != "refused"
            and self.legal_basis != "none"
            and not self._consent_expired()
        )

    def _audio_not_kept_message(self):
        self.ensure_one()
        if self._consent_expired():
            return self.env._(
                "No consent was noted for %(call)s in the time its line allows: its "
                "audio is not kept.",
                call=self.name,
            )
        if self.consent_state == "refused":
            return self.env._(
                "The other party of %(call)s refused the recording: its audio is not kept.",
                call=self.name,
            )
        if self.legal_basis == "none":
            return self.env._(
                "%(call)s is on a line that is not recorded: its audio is not kept.",
                call=self.name,
            )
        return super()._audio_not_kept_message()
