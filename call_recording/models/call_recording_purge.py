"""What may delete a call's recording or the call, and the deletions themselves.

The rules (legal basis, dates, legal holds: never a status a user could
have changed), every deletion written to the purge log
(``call.recording.purge.log``) with who caused it, deletion by hand, the
replacement of a recording, and the hourly purge of what is past its
date (in committed batches, so that an interrupted run resumes and never
deletes without a trace).  The policy that sets the dates is
``call_recording_compliance.py``.
"""

import threading

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from . import evidence

#: Which deletion rule a removal of audio with this final status follows.
RULE_OF_STATUS = {"refused": "consent", "purged": "retention", "no_consent": "consent_missing"}
#: The person who pressed *Run Manually* on one of the suite's jobs, while it
#: runs in this thread as the job's (system) user: named in the purge log.
#: Set by ``ir.cron.method_direct_trigger`` only; no client can reach it.
MANUAL_RUN = threading.local()


class CallRecording(models.Model):
    _inherit = "call.recording"

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
