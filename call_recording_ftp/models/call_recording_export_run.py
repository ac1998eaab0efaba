import time

from odoo import api, fields, models

from ..lib import template as template_lib
from ..lib.runner import ExportRunner
from .call_recording_export_sink import ExportRunSink

RUN_STATES = [
    ("running", "Running"),
    ("done", "Done"),
    ("partial", "Done with Errors"),
    ("failed", "Failed"),
]
TRIGGERS = [("cron", "Schedule"), ("manual", "Export Now")]
#: Calls sent per batch: a manifest and a commit after each.
BATCH_SIZE = 50


class CallRecordingExportRun(models.Model):
    """One run of a target, and its transfer log: files, bytes, time, errors.

    The run owns the sending: ``_execute`` drives the plain-Python
    :class:`~..lib.runner.ExportRunner` with this run as its sink
    (``call_recording_export_sink.py``), then removes the local audio of
    what was verified and closes the run.
    """

    _name = "call.recording.export.run"
    _description = "Call Recording Export Run"
    _order = "start_date desc, id desc"

    name = fields.Char(required=True, readonly=True)
    target_id = fields.Many2one(
        "call.recording.export.target",
        string="Export Target",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="target_id.company_id", store=True, index=True)
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True, default="manual")
    user_id = fields.Many2one("res.users", string="Started By", readonly=True)
    state = fields.Selection(RUN_STATES, required=True, default="running", readonly=True)
    start_date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    end_date = fields.Datetime(readonly=True)
    file_count = fields.Integer(string="Files", readonly=True)
    byte_count = fields.Float(string="Bytes", readonly=True, digits=(20, 0))
    megabytes = fields.Float(string="MB", compute="_compute_rates", digits=(16, 2))
    seconds = fields.Float(readonly=True, digits=(16, 2))
    rate = fields.Float(string="MB/s", compute="_compute_rates", digits=(16, 2))
    error_count = fields.Integer(string="Errors", readonly=True)
    deleted_count = fields.Integer(string="Deleted on Server", readonly=True)
    removed_local_count = fields.Integer(string="Local Audio Removed", readonly=True)
    manifest_paths = fields.Text(string="Manifests", readonly=True)
    log = fields.Text(readonly=True)

    @api.depends("byte_count", "seconds")
    def _compute_rates(self):
        for run in self:
            run.megabytes = run.byte_count / 1e6
            run.rate = run.megabytes / run.seconds if run.seconds else 0.0

    def _add_log(self, line):
        """Append a line to the run's log (written by the system)."""
        self.ensure_one()
        stamp = fields.Datetime.now().strftime("%H:%M:%S")
        self.log = f"{self.log or ''}{stamp} {line}\n"

    # ------------------------------------------------------------------
    # What went wrong, in the administrator's words
    # ------------------------------------------------------------------

    @api.model
    def _error_messages(self):
        """Transfer error kind (``lib/errors.py``) -> what the administrator reads."""
        return {
            "connection": self.env._("The server could not be reached."),
            "dropped": self.env._("The server closed the connection."),
            "timeout": self.env._("The server stopped answering."),
            "auth": self.env._("The server refused the user name, password or key."),
            "host_key": self.env._(
                "The server's host key is not the pinned one. Compare it with the key "
                "on the server before pinning it."
            ),
            "certificate": self.env._(
                "The server's TLS certificate is not trusted. Compare it with the "
                "certificate on the server before pinning it or its CA certificate."
            ),
            "tls": self.env._("The encrypted (TLS) connection failed."),
            "disk_full": self.env._("The server has no space left."),
            "write_failed": self.env._(
                "The server could not write the file: no space left or a quota reached, most often."
            ),
            "permission": self.env._("The server does not allow writing there."),
            "verify": self.env._("The file on the server differs from the recording."),
            "config": self.env._("The target's settings are not valid."),
            "other": self.env._("The transfer failed."),
        }

    @api.model
    def _explain(self, error):
        """The administrator's reading of a transfer error, with the server's words."""
        messages = self._error_messages()
        return f"{messages.get(error.kind, messages['other'])} ({error.message})"

    # ------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------

    def _execute(self, commit=False, deletions_only=False, retry_now=False):
        """Send the waiting calls in batches, delete what must go, remove local audio.

        Every file is verified before its call is marked exported; a broken
        connection ends the run and the next one resumes.  With ``commit``
        (the cron) each batch is committed with its manifest.
        """
        self.ensure_one()
        target = self.target_id
        if not deletions_only:
            target._queue_new_calls()
        base = template_lib.normalize_base(target.base_folder)
        runner = ExportRunner(
            target._connector(),
            ExportRunSink(self, commit=commit, retry_now=retry_now, batch_size=BATCH_SIZE),
            run_name=self.name,
            manifest_folder=f"{base}/manifests" if base else "manifests",
            uploads=target.upload_connections,
            batch_size=BATCH_SIZE,
        )
        clock = time.perf_counter()
        report = runner.run(send=not deletions_only)
        if not deletions_only and report.connection_error is None:
            self._remove_local_audio()
        self.seconds = self.seconds or time.perf_counter() - clock
        self._finish(report.connection_error, reschedule=not deletions_only)
        if commit:
            self.env["ir.cron"]._commit_progress()

    def _remove_local_audio(self):
        """Remove the local audio of the target's calls whose copy there is verified."""
        self.ensure_one()
        target = self.target_id
        if not target.remove_local_audio:
            return
        exports = self.env["call.recording.export"].search(
            [
                ("target_id", "=", target.id),
                ("state", "=", "done"),
                ("call_id.recording_status", "=", "available"),
            ]
        )
        held = exports.call_id._held_now()
        # Only the very audio that was verified on the server; held calls keep
        # their local copy too.
        calls = exports.filtered(
            lambda e: e.call_id.audio_sha256 == e.sha256 and e.call_id not in held
        ).call_id
        if calls:
            calls._move_audio_to_export_server()
            self.removed_local_count += len(calls)
            self._add_log(self.env._("Local audio removed from %(count)s calls.", count=len(calls)))

    def _finish(self, connection_error, reschedule=True):
        """Close the run; the target counts failed runs (and alerts at once on a suspicious key).

        A run that only deleted (``reschedule=False``) leaves the schedule alone.
        """
        self.ensure_one()
        failed = connection_error is not None or bool(self.error_count and not self.file_count)
        self.write(
            {
                "end_date": fields.Datetime.now(),
                "state": "failed" if failed else ("partial" if self.error_count else "done"),
            }
        )
        target = self.target_id
        suspended = target._schedule_next(self, failed, reschedule=reschedule)
        if not suspended and connection_error is not None and connection_error.suspicious:
            target._alert_admins(
                self.env._(
                    "Export target %(target)s presented an unexpected host key or "
                    "certificate: %(error)s",
                    target=target.name,
                    error=connection_error.message,
                )
            )
