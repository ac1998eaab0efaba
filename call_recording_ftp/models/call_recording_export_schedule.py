import logging
import uuid
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

_logger = logging.getLogger(__name__)

SCHEDULE_DELTAS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
}


class CallRecordingExportTarget(models.Model):
    """When a target runs and what it sends: calls, schedule, runs, alerts."""

    _inherit = "call.recording.export.target"

    # ------------------------------------------------------------------
    # Which calls
    # ------------------------------------------------------------------

    def _calls_domain(self):
        """The calls this target sends: never outside its company."""
        self.ensure_one()
        domain = Domain(
            [
                ("company_id", "=", self.company_id.id),
                ("recording_status", "=", "available"),
                ("audio_sha256", "!=", False),
                ("export_ids", "not any", [("target_id", "=", self.id)]),
            ]
        )
        if self.call_scope == "lines":
            domain &= Domain("line_id", "in", self.line_ids.ids)
        return domain

    def _queue_new_calls(self, limit=None):
        """Create the export records of calls not yet queued for this target."""
        self.ensure_one()
        # sudo: the target decides which calls leave (within its company, see
        # _calls_domain), not the access of the user who started the run.
        calls = self.env["call.recording"].sudo().search(self._calls_domain(), limit=limit)
        return (
            self.env["call.recording.export"]
            .sudo()
            .create(
                [
                    {
                        "call_id": call.id,
                        "call_reference": call.name,
                        "target_id": self.id,
                        "company_id": self.company_id.id,
                    }
                    for call in calls
                ]
            )
        )

    def _due_exports_domain(self, retry_now=False):
        """Exports to send now: new ones, and failed ones whose retry is due (or all)."""
        domain = Domain(
            [
                ("target_id", "=", self.id),
                ("state", "in", ("pending", "failed")),
                ("call_id", "!=", False),
            ]
        )
        if retry_now:
            return domain
        return domain & (
            Domain("next_attempt_date", "=", False)
            | Domain("next_attempt_date", "<=", fields.Datetime.now())
        )

    def _deletable_exports(self):
        """Copies to delete from this server now: refused or purged, and not held."""
        self.ensure_one()
        exports = self.env["call.recording.export"].search(
            [("target_id", "=", self.id), ("state", "=", "to_delete")]
        )
        # never while held; retried once the hold is released
        held = exports.call_id._held_now()
        return exports.filtered(lambda e: not (e.call_id and e.call_id in held))

    # ------------------------------------------------------------------
    # Runs and schedule
    # ------------------------------------------------------------------

    def action_export_now(self):
        """Send what is waiting now, failed files included at once; then show the run."""
        self.ensure_one()
        # Runs are written by the system: only who may configure the target starts one.
        self.check_access("write")
        if self.state == "suspended":
            raise UserError(self.env._("This target is suspended: resume it first."))
        run = self._run(trigger="manual", retry_now=True)
        return {
            "type": "ir.actions.act_window",
            "res_model": "call.recording.export.run",
            "res_id": run.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_resume(self):
        self.check_access("write")
        # sudo: state and failure count are read-only fields kept by the runs.
        self.sudo().write({"state": "active", "failure_count": 0})
        self.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("mail.mail_activity_data_warning")
        ).action_feedback(feedback=self.env._("Target resumed."))
        return True

    @api.model
    def _due_targets_domain(self):
        """Active targets whose next run is due."""
        return [
            ("state", "=", "active"),
            "|",
            ("next_run_date", "=", False),
            ("next_run_date", "<=", fields.Datetime.now()),
        ]

    @api.model
    def _cron_export(self):
        """Hourly: run the targets that are due, then delete what must go from servers."""
        Cron = self.env["ir.cron"]
        # sudo: the cron serves every company's targets.
        Target = self.sudo()
        due = Target.search(self._due_targets_domain())
        waiting = Target.search([("export_ids.state", "=", "to_delete")]) - due
        Cron._commit_progress(remaining=len(due) + len(waiting))
        for target in due:
            target._run(trigger="cron", commit=True)
            if Cron._commit_progress(1) <= 0:
                return
        for target in waiting:
            # Only when something can be deleted now: a copy kept for a
            # legal hold would otherwise log an empty run every hour.
            if target._deletable_exports():
                target._run(trigger="cron", commit=True, deletions_only=True)
            if Cron._commit_progress(1) <= 0:
                return

    def _run(self, trigger="manual", commit=False, deletions_only=False, retry_now=False):
        """Start one run of this target (see ``call.recording.export.run._execute``)."""
        self.ensure_one()
        started = fields.Datetime.now()
        # sudo: the run, its log and the export records are written by the
        # system; who may start a run is checked by the callers.
        run = (
            self.env["call.recording.export.run"]
            .sudo()
            .create(
                {
                    "name": f"{started:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}",
                    "target_id": self.id,
                    "trigger": trigger,
                    "user_id": self.env.uid,
                    "start_date": started,
                }
            )
        )
        run._execute(commit=commit, deletions_only=deletions_only, retry_now=retry_now)
        return run

    def _schedule_next(self, run, failed, reschedule=True):
        """After a run: the next date, the failure count, and suspension after too many.

        Returns whether the target was suspended now (the administrators heard of it).
        """
        self.ensure_one()
        vals = {}
        if reschedule:
            vals["last_run_date"] = run.start_date
            vals["next_run_date"] = fields.Datetime.now() + SCHEDULE_DELTAS[self.schedule]
        if failed:
            vals["failure_count"] = self.failure_count + 1
            lines = (run.log or "").strip().splitlines()
            vals["last_error"] = lines[-1] if lines else False
        else:
            vals["failure_count"] = 0
            vals["last_error"] = False
        self.write(vals)
        if failed and self.failure_count >= self.max_failures and self.state == "active":
            self.state = "suspended"
            self._alert_admins(
                self.env._(
                    "Export target %(target)s is suspended after %(count)s failed runs: %(error)s",
                    target=self.name,
                    count=self.failure_count,
                    error=self.last_error,
                )
            )
            return True
        return False

    def _alert_admins(self, message):
        """An activity for each administrator, and a message that e-mails them."""
        self.ensure_one()
        admins = self.company_id._call_recording_administrators()
        warning = self.env.ref("mail.mail_activity_data_warning")
        for user in admins:
            already = self.activity_ids.filtered(
                lambda a, user=user: a.user_id == user and a.activity_type_id == warning
            )
            if not already:
                self.activity_schedule(
                    "mail.mail_activity_data_warning",
                    summary=self.env._("Export to %(target)s failed", target=self.name),
                    note=message,
                    user_id=user.id,
                )
        self.message_post(
            body=message,
            partner_ids=admins.partner_id.ids,
            subtype_xmlid="mail.mt_comment",
        )
        _logger.warning("%s", message)
