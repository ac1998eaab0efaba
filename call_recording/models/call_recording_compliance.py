import logging
import threading
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
#: Which deletion rule a removal of audio with this final status follows.
RULE_OF_STATUS = {"refused": "consent", "purged": "retention", "no_consent": "consent_missing"}
#: The person who pressed *Run Manually* on one of the suite's jobs, while it
#: runs in this thread as the job's (system) user: named in the purge log.
#: Set by ``ir.cron.method_direct_trigger`` only; no client can reach it.
MANUAL_RUN = threading.local()


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
    # Purge
    # ------------------------------------------------------------------

    def _check_removable(self, rule="manual"):
        """Whether these calls' audio (or the calls) may go under ``rule``.

        Follows the legal basis, the dates and the holds, never a status a
        user could have changed: a held call stays; ``consent`` removes
        only refused consent-line audio, ``consent_missing`` only audio of a
        consent line whose time to note consent is over; ``retention`` and
        ``metadata`` only what is past its date; by hand (``manual``), a
        recording kept by legal obligation, or a call whose reference was
        announced to the caller, stays until its date.
        """
        today = fields.Date.context_today(self)
        # a hold placed or released in this transaction counts: read it now
        self.invalidate_recordset(["legal_hold"])
        for call in self:
            if call.legal_hold:
                raise UserError(
                    self.env._("%(call)s is on legal hold and cannot be deleted.", call=call.name)
                )
            if rule == "consent":
                if call.legal_basis != "consent" or call.consent_state != "refused":
                    raise UserError(self.env._("%(call)s has no refused consent.", call=call.name))
                continue
            if rule == "consent_missing":
                if not call._consent_expired():
                    raise UserError(
                        self.env._(
                            "%(call)s is not a consent-line call whose time to note consent "
                            "is over.",
                            call=call.name,
                        )
                    )
                continue
            date = call.metadata_retention_date if rule == "metadata" else call.retention_date
            if rule in ("retention", "metadata") and date and date >= today:
                raise UserError(
                    self.env._("%(call)s must be kept until %(date)s.", call=call.name, date=date)
                )
            if call.legal_basis == "legal" and call.retention_date and call.retention_date > today:
                raise UserError(
                    self.env._(
                        "%(call)s is recorded by legal obligation and must be kept until %(date)s.",
                        call=call.name,
                        date=call.retention_date,
                    )
                )
            if (
                rule == "manual"
                and call.reserved_date
                and call.retention_date
                and call.retention_date > today
            ):
                raise UserError(
                    self.env._(
                        "The reference %(call)s was announced to the caller: the call is kept "
                        "until %(date)s, with or without its recording.",
                        call=call.name,
                        date=call.retention_date,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_retention(self):
        if evidence.is_writer(self.env):
            # the purge of expired call data: checked by _purge_metadata
            self.invalidate_recordset(["legal_hold"])
            for call in self.filtered("legal_hold"):
                raise UserError(
                    self.env._("%(call)s is on legal hold and cannot be deleted.", call=call.name)
                )
            return
        self._check_removable("manual")

    def unlink(self):
        if self and not evidence.is_writer(self.env):
            # A deletion by hand (an administrator) leaves its trace too.
            logs = self._purge_log_values("manual", "call")
            self.env["call.recording.request"]._drop_packages_of(self)
            res = super().unlink()
            self._write_purge_log(logs)
            return res
        return super().unlink()

    @api.model
    def _purge_person(self):
        """Who caused a deletion: the user, or whoever ran the job by hand."""
        return getattr(MANUAL_RUN, "person", None) or self.env.uid

    def _purge_log_values(self, rule, what, note=None):
        """What the purge log keeps of these calls: no personal data of the other party."""
        person = self._purge_person()
        return [
            {
                "call_reference": call.name,
                "provider_call_id": call.external_id or False,
                "company_id": call.company_id.id,
                "rule": rule,
                "what": what,
                "line_name": call.line_id.name or call.line_number_e164 or False,
                "legal_basis": call.legal_basis or False,
                "retention_date": call.metadata_retention_date
                if rule == "metadata"
                else call.retention_date,
                "audio_sha256": call.audio_sha256 or False,
                "user_id": person,
                "note": note or False,
            }
            for call in self
        ]

    @api.model
    def _write_purge_log(self, values):
        # sudo: the purge log is written by the system only, through here.
        return self.env["call.recording.purge.log"].sudo()._record(values)

    def _log_replaced_audio(self):
        """A stored recording replaced by another copy (a PBX's, a provider's): logged."""
        self._write_purge_log(self._purge_log_values("replaced", "audio"))

    def _remove_audio(self, status="none"):
        self._check_removable(RULE_OF_STATUS.get(status, "manual"))
        return super()._remove_audio(status=status)

    def _purge_audio(self, rule="retention", status="purged", note=None):
        """Delete the audio of these calls under ``rule`` and write the purge log.

        Hand-over packages that carry one of these recordings go with it.
        """
        logs = self._purge_log_values(rule, "audio", note=note)
        self._check_removable(rule)
        self._remove_audio(status=status)
        self.env["call.recording.request"]._drop_packages_of(self)
        self._write_purge_log(logs)

    @api.model
    def _purge_due_domain(self):
        today = fields.Date.context_today(self)
        return Domain(
            [
                ("retention_date", "<", today),
                ("recording_status", "=", "available"),
                ("legal_hold", "=", False),
            ]
        )

    @api.model
    def _metadata_due_domain(self):
        today = fields.Date.context_today(self)
        return Domain(
            [
                ("metadata_retention_date", "<", today),
                ("recording_status", "!=", "available"),
                ("legal_hold", "=", False),
            ]
        )

    @api.model
    def _purge_metadata(self, calls):
        logs = calls._purge_log_values("metadata", "call")
        calls._check_removable("metadata")
        self.env["call.recording.request"]._drop_packages_of(calls)
        evidence.writer(calls).unlink()
        self._write_purge_log(logs)

    @api.model
    def _cron_purge(self, batch_size=200):
        """Hourly: delete expired recordings, then expired call data, in batches.

        Also the audio of consent-line calls whose time to note consent is
        over, and hand-over packages past their time.  Each batch is
        committed with its log, so an interrupted run resumes where it
        stopped and never deletes without a trace.
        """
        Cron = self.env["ir.cron"]
        # sudo: the cron purges every company's calls, whatever its user sees.
        Call = self.sudo()
        self.env["call.recording.file"]._remove_stale_parts()
        consent_domain = Call._consent_missing_domain()
        audio_domain = Call._purge_due_domain()
        data_domain = Call._metadata_due_domain()
        remaining = sum(Call.search_count(d) for d in (consent_domain, audio_domain, data_domain))
        Cron._commit_progress(remaining=remaining)
        for domain, purge in (
            (
                consent_domain,
                lambda calls: calls._purge_audio(rule="consent_missing", status="no_consent"),
            ),
            (audio_domain, lambda calls: calls._purge_audio()),
            (data_domain, Call._purge_metadata),
        ):
            while calls := Call.search(domain, limit=batch_size, order="id"):
                purge(calls)
                if Cron._commit_progress(len(calls)) <= 0:
                    return
        # sudo: the packages of every company's requests.
        self.env["call.recording.request"].sudo()._cron_drop_expired_packages()

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
