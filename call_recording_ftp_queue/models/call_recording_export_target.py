"""Exports to FTP, FTPS and SFTP servers as queue_job jobs, one per target.

The hourly export cron enqueues a job per due target (channel
``root.call_recording.export``) instead of running them one after the
other; a slow or unreachable server then holds up only its own target.
A target's runs never overlap (an advisory lock per target), and a run
killed mid-way is resumed by the next one: every file is verified before
its call is marked exported, batch by batch, as without jobs.
"""

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.job import identity_exact

#: First key of the advisory lock that keeps two runs of one target apart.
EXPORT_LOCK_KEY = 0x43524558  # "CREX"


class CallRecordingExportTarget(models.Model):
    _inherit = "call.recording.export.target"

    @api.model
    def _cron_export(self):
        """Hourly: a job per due target, and per target with copies to delete."""
        # sudo: the cron serves every company's targets (as without jobs).
        Target = self.sudo()
        due = Target.search(Target._due_targets_domain())
        waiting = Target.search([("export_ids.state", "=", "to_delete")]) - due
        for target in due:
            target._enqueue_export()
        for target in waiting:
            # only when something can be deleted now (as without jobs)
            if target._deletable_exports():
                target._enqueue_export(deletions_only=True)

    def _enqueue_export(self, deletions_only=False):
        for target in self:
            target.with_delay(
                description=self.env._("Export to %(target)s", target=target.name),
                identity_key=identity_exact,
            )._job_export(deletions_only=deletions_only)

    def _job_export(self, deletions_only=False):
        """Queued: one run of this target; ends at once if one is running."""
        self.ensure_one()
        # sudo: runs are written by the system (the job was enqueued by the cron).
        target = self.sudo()
        if not target._try_export_lock():
            return "An export to this target is running already."
        try:
            run = target._run(trigger="cron", commit=True, deletions_only=deletions_only)
        finally:
            target._export_unlock()
        return f"{run.name}: {run.state}, {run.file_count} files"

    def _run(self, trigger="manual", commit=False, deletions_only=False, retry_now=False):
        """Runs of one target never overlap: a job's, the cron's, one started by hand."""
        self.ensure_one()
        if not self._try_export_lock():
            raise UserError(
                self.env._(
                    "An export to %(target)s is running; try again in a moment.",
                    target=self.name,
                )
            )
        try:
            return super()._run(
                trigger=trigger, commit=commit, deletions_only=deletions_only, retry_now=retry_now
            )
        finally:
            self._export_unlock()

    def _try_export_lock(self):
        """This target's lock for the database session (released if the process dies)."""
        self.env.cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", EXPORT_LOCK_KEY, self.id))
        return self.env.cr.fetchone()[0]

    def _export_unlock(self):
        self.env.cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", EXPORT_LOCK_KEY, self.id))
