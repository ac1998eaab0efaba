"""Provider imports and recording downloads as queue_job jobs.

The scheduled import enqueues one import job per account (channel
``root.call_recording.import``); an import job lists and stores calls
only, and enqueues the account's download job (``root.call_recording.download``)
as soon as recordings are due.  Each job runs for a slice of time and
enqueues its own continuation, so that it stays below the workers' time
limits and a busy account leaves room to the others.

No duplicates: an account's listing runs under its sync lock (the core's
advisory lock, as without jobs) and its downloads under a download lock;
a job killed mid-way has committed its progress batch by batch, and the
job queue retries it, which resumes where the committed work ends (the
import's upsert is idempotent and only recordings still due are fetched).
"""

from datetime import UTC, datetime, timedelta

from odoo import api, models
from odoo.tools import SQL

from odoo.addons.call_recording.lib import providers as providers_lib
from odoo.addons.call_recording.lib.sync_engine import SyncEngine
from odoo.addons.call_recording.models.call_recording_provider_sink import ProviderSink
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact
from odoo.addons.queue_job.utils import must_run_without_delay

#: First key of the advisory lock that keeps two download runs of one
#: account apart (the second key is the account's id).
DOWNLOAD_LOCK_KEY = 0x4352444C  # "CRDL"
#: System parameter: seconds one job works before it enqueues the rest.
JOB_SECONDS_PARAM = "call_recording_queue.job_seconds"
#: Default slice, below Odoo's default limit_time_cpu (60 s) and
#: limit_time_real (120 s) of the workers that run the jobs.
JOB_SECONDS = 45


class DeferredDownloadSink(ProviderSink):
    """Stores the calls; the recordings due are left to the account's download job."""

    def pending_audio(self, limit):
        if super().pending_audio(1):
            self.provider._enqueue_download()
        self.audio_batch = self.Call.browse()
        return []


class CallRecordingProvider(models.Model):
    _inherit = "call.recording.provider"

    # ------------------------------------------------------------------
    # Enqueueing
    # ------------------------------------------------------------------

    @api.model
    def _cron_sync(self):
        """Scheduled: one import job per enabled account, instead of importing here.

        The identity key keeps one pending job per account: a cron run while
        the last one still waits adds nothing.
        """
        self._scheduled_accounts()._enqueue_import()

    def _enqueue_import(self):
        for provider in self:
            provider.with_delay(
                description=self.env._("Import calls of %(provider)s", provider=provider.name),
                identity_key=identity_exact,
            )._job_import()

    def _enqueue_download(self):
        for provider in self:
            provider.with_delay(
                description=self.env._(
                    "Download recordings of %(provider)s", provider=provider.name
                ),
                identity_key=identity_exact,
            )._job_download()

    def _job_seconds(self):
        # sudo: a technical setting, read by the jobs of every user.
        value = self.env["ir.config_parameter"].sudo().get_param(JOB_SECONDS_PARAM)
        try:
            return max(int(value), 5) if value else JOB_SECONDS
        except ValueError:
            return JOB_SECONDS

    # ------------------------------------------------------------------
    # Jobs
    # ------------------------------------------------------------------

    def _job_import(self):
        """Queued: a slice of this account's import; the rest in a new job.

        An import of the account already running (by hand, or an older job)
        does the work: this job ends at once.
        """
        self.ensure_one()
        log = self._sync(trigger="job", time_budget=self._job_seconds())
        if not log:
            return "An import of this account is running already."
        if log.state == "partial":
            self._enqueue_import()
        return log.summary

    def _job_download(self):
        """Queued: download this account's due recordings for a slice; the rest in a new job.

        Waits (postponed, no attempt counted) while another run downloads
        for the account, and while the provider's rate limit lasts.
        """
        self.ensure_one()
        # sudo: downloads write recordings of every agent of the account, as the import.
        provider = self.sudo()
        if not provider._try_download_lock():
            # soon: the running one may be ending its slice (this job is then its
            # continuation), or have looked for due recordings just before the
            # import committed the page that enqueued this job
            raise RetryableJobError(
                "The account's recordings are being downloaded by another run.",
                seconds=5,
                ignore_retry=True,
            )
        try:
            return provider._download_due()
        finally:
            provider._download_unlock()

    def _download_due(self):
        deadline = datetime.now(UTC) + timedelta(seconds=self._job_seconds())
        sink = ProviderSink(self, self.env["call.recording.sync.log"], deadline)
        try:
            stats = SyncEngine(self._adapter(), sink).download_due()
        except providers_lib.ProviderRateLimited as exc:
            sink.commit()
            delay = exc.retry_after if exc.retry_after is not None else 60
            raise RetryableJobError(
                str(exc), seconds=min(max(int(delay), 1), 3600) + 1, ignore_retry=True
            ) from exc
        sink.commit()
        if not stats.complete:
            self._enqueue_download()
        return (
            f"{stats.audio_downloaded} downloaded, {stats.audio_failed} failed, "
            f"{stats.audio_waiting} waiting"
        )

    # ------------------------------------------------------------------
    # Locks and the sink of a run
    # ------------------------------------------------------------------

    def _try_download_lock(self):
        """This account's download lock for the database session, or False (as the sync lock)."""
        self.env.cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", DOWNLOAD_LOCK_KEY, self.id))
        return self.env.cr.fetchone()[0]

    def _download_unlock(self):
        self.env.cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", DOWNLOAD_LOCK_KEY, self.id))

    def _holds_download_lock(self):
        self.env.cr.execute(
            SQL(
                "SELECT EXISTS(SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted AND objsubid = 2 "
                "AND classid = %s AND objid = %s)",
                DOWNLOAD_LOCK_KEY,
                self.id,
            )
        )
        return self.env.cr.fetchone()[0]

    def _downloads_inline(self, trigger):
        """Whether a run downloads itself, as without jobs: one not started by
        a job (by hand, a webhook), or any run while queue_job is told to run
        jobs at once (its no-delay mode: the download job would run right
        there, in the middle of the listing)."""
        return trigger != "job" or must_run_without_delay(self.env)

    def _sync_locked(self, trigger, time_budget):
        """A run that downloads itself does so while it can take the download
        lock; else it leaves the downloads to the account's download job."""
        held = self._downloads_inline(trigger) and self._try_download_lock()
        try:
            return super()._sync_locked(trigger, time_budget)
        finally:
            if held:
                self._download_unlock()

    def _sync_sink(self, log, deadline, trigger):
        if self._downloads_inline(trigger) and self._holds_download_lock():
            return super()._sync_sink(log, deadline, trigger)
        return DeferredDownloadSink(self, log, deadline)
