import logging
import os
from collections import defaultdict

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

from .call_recording_line import DEFAULT_RETENTION_MONTHS, RECORDING_POLICIES

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
#: Evidence that only the system writes (through the actions below).
PROTECTED_FIELDS = frozenset(
    {
        "line_id",
        "legal_basis",
        "retention_date",
        "metadata_retention_date",
        "consent_state",
        "consent_user_id",
        "consent_date",
        "consent_source",
    }
)
PURGE_CONTEXT = "call_recording_purge"


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
        domain = Domain("id", "in", holds.call_ids.ids)
        if holds.partner_id:
            domain |= Domain(
                "commercial_partner_id", "in", holds.partner_id.commercial_partner_id.ids
            )
        return domain

    def _compute_legal_hold(self):
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
            policy = line.policy if line else company.call_recording_default_policy
            if line:
                months = line.retention_months
            elif policy == "consent":
                months = company.call_recording_consent_retention_months
            else:
                months = DEFAULT_RETENTION_MONTHS[policy]
            start = fields.Date.to_date(call.start_datetime) or fields.Date.today()
            vals = {
                "line_id": line.id if line else False,
                "legal_basis": policy,
                "retention_date": start + relativedelta(months=months),
                "metadata_retention_date": start
                + relativedelta(
                    months=max(company.call_recording_metadata_retention_months, months)
                ),
            }
            groups[tuple(sorted(vals.items()))].append(call.id)
        for vals, ids in groups.items():
            # sudo: evidence fields are the system's to write.  Calls of the
            # same line and day share their values: one write per group.
            self.browse(ids).sudo().write(dict(vals))
        self._apply_partner_refusal()

    def _apply_partner_refusal(self):
        """On consent lines, a contact's standing refusal refuses the call."""
        refused = self.filtered(
            lambda c: (
                c.legal_basis == "consent"
                and c.partner_refuses_recording
                and c.consent_state != "refused"
            )
        )
        if refused:
            refused._refuse_consent(source="partner")

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
        # sudo: consent evidence is written by the system for the agent.
        self.sudo().write(
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

    def _refuse_consent(self, source):
        """Record a refusal and delete the audio at once; the call stays as evidence."""
        self.sudo().write(
            {
                "consent_state": "refused",
                "consent_user_id": self.env.uid,
                "consent_date": fields.Datetime.now(),
                "consent_source": source,
            }
        )
        with_audio = self.filtered(lambda c: c._get_audio_attachment())
        with_audio._purge_audio(rule="consent", status="refused")
        for call in self:
            call.message_post(
                body=self.env._("The other party refused the recording; its audio is deleted."),
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------------------------
    # Purge
    # ------------------------------------------------------------------

    def _check_removable(self):
        """Legal-obligation recordings stay until their date; held ones stay."""
        if self.env.context.get(PURGE_CONTEXT):
            return
        today = fields.Date.context_today(self)
        for call in self:
            if call.legal_hold:
                raise UserError(
                    self.env._("%(call)s is on legal hold and cannot be deleted.", call=call.name)
                )
            if (
                call.legal_basis == "legal"
                and call.retention_date
                and call.retention_date > today
                and call.recording_status == "available"
            ):
                raise UserError(
                    self.env._(
                        "%(call)s is recorded by legal obligation and must be kept until %(date)s.",
                        call=call.name,
                        date=call.retention_date,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_retention(self):
        self._check_removable()

    def _remove_audio(self, status="none"):
        if status != "refused":
            self._check_removable()
        store_fnames = {a.store_fname for a in self._audio_attachments() if a.store_fname}
        res = super()._remove_audio(status=status)
        self._delete_files_after_commit(store_fnames)
        return res

    def _delete_files_after_commit(self, store_fnames):
        """Remove deleted recordings from the filestore once the deletion is committed.

        Odoo's own garbage collection would leave them on disk until its
        next run; a purged or refused recording must be gone now.  Files
        still used by another attachment (same content) are kept.
        """
        if not store_fnames:
            return
        Attachment = self.env["ir.attachment"].sudo()
        paths = {fname: Attachment._full_path(fname) for fname in store_fnames}
        dbname = self.env.cr.dbname
        registry = self.env.registry

        def delete_files():
            with registry.cursor() as cr:
                cr.execute(
                    "SELECT store_fname FROM ir_attachment WHERE store_fname IN %s",
                    [tuple(paths)],
                )
                still_used = {row[0] for row in cr.fetchall()}
            for fname, path in paths.items():
                if fname not in still_used and os.path.exists(path):
                    os.unlink(path)
                    _logger.info("Deleted recording file %s of database %s", fname, dbname)

        self.env.cr.postcommit.add(delete_files)

    def _purge_audio(self, rule="retention", status="purged"):
        """Delete the audio of these calls and write the purge log."""
        logs = [
            {
                "call_reference": call.name,
                "company_id": call.company_id.id,
                "rule": rule,
                "what": "audio",
                "line_name": call.line_id.name or call.line_number_e164 or False,
                "legal_basis": call.legal_basis or False,
                "retention_date": call.retention_date,
                "audio_sha256": call.audio_sha256,
                "user_id": self.env.uid,
            }
            for call in self
        ]
        self.with_context(**{PURGE_CONTEXT: status != "refused"})._remove_audio(status=status)
        # sudo: the purge log is written by the system only.
        self.env["call.recording.purge.log"].sudo().create(logs)

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
        logs = [
            {
                "call_reference": call.name,
                "company_id": call.company_id.id,
                "rule": "metadata",
                "what": "call",
                "line_name": call.line_id.name or call.line_number_e164 or False,
                "legal_basis": call.legal_basis or False,
                "retention_date": call.metadata_retention_date,
                "user_id": self.env.uid,
            }
            for call in calls
        ]
        calls.with_context(**{PURGE_CONTEXT: True}).unlink()
        self.env["call.recording.purge.log"].sudo().create(logs)

    @api.model
    def _cron_purge(self, batch_size=200):
        """Daily: delete expired recordings, then expired call data, in batches.

        Each batch is committed with its log, so an interrupted run resumes
        where it stopped and never deletes without a trace.
        """
        Cron = self.env["ir.cron"]
        # sudo: the cron purges every company's calls, whatever its user sees.
        Call = self.sudo()
        Call._remove_stale_audio_parts()
        audio_domain = Call._purge_due_domain()
        data_domain = Call._metadata_due_domain()
        remaining = Call.search_count(audio_domain) + Call.search_count(data_domain)
        Cron._commit_progress(remaining=remaining)
        for domain, purge in (
            (audio_domain, lambda calls: calls._purge_audio()),
            (data_domain, Call._purge_metadata),
        ):
            while calls := Call.search(domain, limit=batch_size, order="id"):
                purge(calls)
                if Cron._commit_progress(len(calls)) <= 0:
                    return

    # ------------------------------------------------------------------
    # Hooks into the call's life
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        calls = super().create(vals_list)
        calls._apply_recording_policy()
        return calls

    def write(self, vals):
        if not self.env.su and PROTECTED_FIELDS & set(vals):
            raise AccessError(
                self.env._(
                    "Line, legal basis, retention and consent evidence are set by the "
                    "system; use the consent buttons or a legal hold."
                )
            )
        res = super().write(vals)
        if "partner_id" in vals:
            self._apply_partner_refusal()
        return res

    def _check_audio_allowed(self):
        """Refuse audio that must not be kept (and never re-import a refused one)."""
        for call in self:
            if call.consent_state == "refused":
                raise UserError(
                    self.env._(
                        "The other party of %(call)s refused the recording: its audio is not kept.",
                        call=call.name,
                    )
                )
            if call.legal_basis == "none":
                raise UserError(
                    self.env._(
                        "%(call)s is on a line that is not recorded: its audio is not kept.",
                        call=call.name,
                    )
                )
