import hashlib
import io
import logging
import time
import uuid
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from odoo.addons.call_recording.lib.audio import AUDIO_EXTENSIONS

from ..lib import manifest as manifest_lib
from ..lib import retry as retry_lib
from ..lib import template as template_lib
from ..lib.errors import TransferError
from ..lib.pipeline import VerifyingPipeline
from ..lib.transport import DEFAULT_PORTS, TargetConfig, open_transport
from ..lib.upload import cleanup, temporary_name, upload_bytes

_logger = logging.getLogger(__name__)

PROTOCOLS = [
    ("sftp", "SFTP (SSH)"),
    ("ftps", "FTPS (explicit TLS)"),
    ("ftp", "FTP (unencrypted)"),
]
SCHEDULES = [("hourly", "Every Hour"), ("daily", "Every Day"), ("weekly", "Every Week")]
SCHEDULE_DELTAS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
}
SCOPES = [
    ("all", "All Calls"),
    ("company", "Calls of the Target's Company"),
    ("lines", "Calls of Some Lines"),
]
#: Calls sent per batch: a manifest and a commit after each.
BATCH_SIZE = 50
#: Failed files in a row after which a run gives up (the server is unwell).
MAX_FAILURES_IN_A_ROW = 5


class CallRecordingExportTarget(models.Model):
    """A customer's own FTP, FTPS or SFTP server that receives the recordings."""

    _name = "call.recording.export.target"
    _description = "Call Recording Export Target"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "name, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        [("active", "Active"), ("suspended", "Suspended")],
        required=True,
        default="active",
        readonly=True,
        tracking=True,
        help="A target is suspended after repeated failed runs; Resume after fixing it.",
    )
    protocol = fields.Selection(PROTOCOLS, required=True, default="sftp", tracking=True)
    host = fields.Char(required=True, tracking=True)
    port = fields.Integer(help="Empty: 22 for SFTP, 21 for FTP and FTPS.", tracking=True)
    username = fields.Char(string="User Name", tracking=True)
    auth_method = fields.Selection(
        [("password", "Password"), ("key", "Private Key")],
        string="Authentication",
        required=True,
        default="password",
    )
    password = fields.Char(groups="base.group_system", copy=False)
    private_key = fields.Text(
        groups="base.group_system",
        copy=False,
        help="The client's private key in OpenSSH or PEM form (Ed25519, ECDSA or RSA).",
    )
    passphrase = fields.Char(string="Key Passphrase", groups="base.group_system", copy=False)
    host_key_fingerprint = fields.Char(
        string="Pinned Host Key",
        tracking=True,
        help="SHA-256 fingerprint of the server's host key as 'ssh-keygen -l' prints it "
        "(SHA256:...). The connection is refused if the server presents another key.",
    )
    tls_verify = fields.Boolean(
        string="Verify TLS Certificate",
        default=True,
        help="Check the FTPS server's certificate against the system's authorities. "
        "Turn off only for a self-signed certificate on a trusted network.",
    )
    timeout = fields.Integer(
        string="Timeout (s)", default=30, help="Seconds without an answer before giving up."
    )
    connect_tries = fields.Integer(string="Connection Attempts", default=3)
    retry_delay = fields.Float(
        string="First Retry After (s)", default=5.0, help="Doubled after each failed attempt."
    )
    base_folder = fields.Char(
        default="recordings", help="Folder on the server under which everything is written."
    )
    path_template = fields.Char(
        string="Folder and File Name",
        required=True,
        default=template_lib.DEFAULT_TEMPLATE,
        help="Placeholders: " + ", ".join(f"{{{k}}}" for k in template_lib.PLACEHOLDERS),
    )
    schedule = fields.Selection(SCHEDULES, required=True, default="daily", tracking=True)
    next_run_date = fields.Datetime(string="Next Run", default=fields.Datetime.now, copy=False)
    call_scope = fields.Selection(SCOPES, string="Calls", required=True, default="company")
    line_ids = fields.Many2many("call.recording.line", string="Lines", check_company=True)
    remove_local_audio = fields.Boolean(
        string="Remove Local Audio After Transfer",
        help="Once a recording is on this server and verified, its audio is removed from "
        "Odoo; the call keeps its data and fetches the audio back when played.",
        tracking=True,
    )
    max_failures = fields.Integer(
        string="Suspend After Failed Runs", default=5, help="Failed runs in a row."
    )
    failure_count = fields.Integer(string="Failed Runs in a Row", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    last_run_date = fields.Datetime(readonly=True, copy=False)
    run_ids = fields.One2many("call.recording.export.run", "target_id", string="Runs")
    export_ids = fields.One2many("call.recording.export", "target_id", string="Exports")
    exported_count = fields.Integer(string="Exported", compute="_compute_counts")
    waiting_count = fields.Integer(string="To Send or Retry", compute="_compute_counts")

    # ------------------------------------------------------------------
    # Computes and checks
    # ------------------------------------------------------------------

    def _compute_counts(self):
        groups = self.env["call.recording.export"]._read_group(
            [("target_id", "in", self.ids)], ["target_id", "state"], ["__count"]
        )
        counts = {(target.id, state): count for target, state, count in groups}
        for target in self:
            target.exported_count = counts.get((target.id, "done"), 0)
            target.waiting_count = counts.get((target.id, "pending"), 0) + counts.get(
                (target.id, "failed"), 0
            )

    @api.constrains("path_template", "base_folder")
    def _check_template(self):
        for target in self:
            try:
                template_lib.validate(target.path_template)
                template_lib.normalize_base(target.base_folder)
            except TransferError as exc:
                raise ValidationError(
                    self.env._(
                        "The folder and file name of %(target)s are not valid: %(reason)s",
                        target=target.name,
                        reason=exc.message,
                    )
                ) from exc

    @api.constrains("port", "timeout", "max_failures", "connect_tries")
    def _check_numbers(self):
        for target in self:
            if target.port < 0 or target.port > 65535:
                raise ValidationError(self.env._("The port must be between 1 and 65535."))
            if target.timeout < 1 or target.max_failures < 1 or target.connect_tries < 1:
                raise ValidationError(
                    self.env._(
                        "Timeout, connection attempts and failed runs before suspension "
                        "must be at least 1."
                    )
                )

    @api.onchange("protocol")
    def _onchange_protocol(self):
        if self.port in (0, *DEFAULT_PORTS.values()):
            self.port = DEFAULT_PORTS[self.protocol]

    # ------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------

    def _transport_config(self):
        self.ensure_one()
        # sudo: the credentials are readable by administrators only; the
        # transfer runs for whoever started it (the cron, a manager).
        secret = self.sudo()
        return TargetConfig(
            protocol=self.protocol,
            host=self.host,
            port=self.port,
            username=self.username or "",
            password=secret.password or "" if self.auth_method == "password" else "",
            private_key=secret.private_key or "" if self.auth_method == "key" else "",
            passphrase=secret.passphrase or "",
            host_key_fingerprint=self.host_key_fingerprint or "",
            timeout=float(self.timeout or 30),
            verify_tls=self.tls_verify,
        )

    def _connect(self, sleep=time.sleep):
        """A connected transport, after retries with backoff for passing troubles."""
        self.ensure_one()
        config = self._transport_config()

        def attempt():
            transport = open_transport(config)
            transport.connect()
            return transport

        return retry_lib.with_retries(
            attempt, tries=self.connect_tries, delay=self.retry_delay, sleep=sleep
        )

    def _explain(self, error):
        """The administrator's reading of a transfer error."""
        kind = error.kind
        if kind == "connection":
            text = self.env._("The server could not be reached.")
        elif kind == "timeout":
            text = self.env._("The server stopped answering.")
        elif kind == "auth":
            text = self.env._("The server refused the user name, password or key.")
        elif kind == "host_key":
            text = self.env._(
                "The server's host key is not the pinned one. Compare it with the key "
                "on the server before pinning it."
            )
        elif kind == "disk_full":
            text = self.env._("The server has no space left.")
        elif kind == "permission":
            text = self.env._("The server does not allow writing there.")
        elif kind == "verify":
            text = self.env._("The file on the server differs from the recording.")
        elif kind == "config":
            text = self.env._("The target's settings are not valid.")
        else:
            text = self.env._("The transfer failed.")
        return f"{text} ({error.message})"

    def action_test_connection(self):
        """Connect, write a small file, check and delete it; say what went wrong."""
        self.ensure_one()
        self.check_access("write")
        folder = template_lib.normalize_base(self.base_folder)
        name = f".call-recording-test-{uuid.uuid4().hex[:12]}.txt"
        path = f"{folder}/{name}" if folder else name
        transport = None
        try:
            transport = self._connect()
            result = upload_bytes(transport, b"Odoo call recording export test\n", path)
            transport.delete(path)
            if transport.stat(path) is not None:
                raise TransferError("permission", f"{path} could not be deleted")
        except TransferError as exc:
            raise UserError(
                self.env._(
                    "Test of %(target)s failed: %(reason)s",
                    target=self.name,
                    reason=self._explain(exc),
                )
            ) from exc
        finally:
            if transport is not None:
                transport.close()
        checked = (
            self.env._("size and SHA-256 checked by the server")
            if result.sha256_verified_by_server
            else self.env._("size checked")
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": self.env._("Connection works"),
                "message": self.env._(
                    "A test file was written to %(path)s, checked (%(checked)s) and deleted.",
                    path=path,
                    checked=checked,
                ),
                "sticky": False,
            },
        }

    # ------------------------------------------------------------------
    # Which calls
    # ------------------------------------------------------------------

    def _calls_domain(self):
        self.ensure_one()
        domain = Domain(
            [
                ("recording_status", "=", "available"),
                ("audio_sha256", "!=", False),
                ("export_ids", "not any", [("target_id", "=", self.id)]),
            ]
        )
        if self.call_scope == "company":
            domain &= Domain("company_id", "=", self.company_id.id)
        elif self.call_scope == "lines":
            domain &= Domain("line_id", "in", self.line_ids.ids)
        return domain

    def _queue_new_calls(self, limit=None):
        """Create the export records of calls not yet queued for this target."""
        self.ensure_one()
        # sudo: the target decides which calls leave, not the user's own access.
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
                        "company_id": call.company_id.id,
                    }
                    for call in calls
                ]
            )
        )

    def _due_exports_domain(self):
        now = fields.Datetime.now()
        return Domain(
            [
                ("target_id", "=", self.id),
                ("state", "in", ("pending", "failed")),
                ("call_id", "!=", False),
                "|",
                ("next_attempt_date", "=", False),
                ("next_attempt_date", "<=", now),
            ]
        )

    # ------------------------------------------------------------------
    # Runs
    # ------------------------------------------------------------------

    def action_export_now(self):
        """Send what is waiting now (in this request), then show the run."""
        self.ensure_one()
        # Runs are written by the system: only who may configure the target starts one.
        self.check_access("write")
        if self.state == "suspended":
            raise UserError(self.env._("This target is suspended: resume it first."))
        run = self._run(trigger="manual")
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
    def _cron_export(self):
        """Hourly: run the targets that are due, then delete what must go from servers."""
        Cron = self.env["ir.cron"]
        # sudo: the cron serves every company's targets.
        Target = self.sudo()
        now = fields.Datetime.now()
        due = Target.search(
            [
                ("state", "=", "active"),
                "|",
                ("next_run_date", "=", False),
                ("next_run_date", "<=", now),
            ]
        )
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

    def _run(self, trigger="manual", commit=False, deletions_only=False):
        """One run: send the waiting calls in batches, remove local audio, delete.

        Every file is verified before its call is marked exported; a broken
        connection ends the run and the next one resumes.  With ``commit``
        (the cron) each batch is committed with its manifest.
        """
        self.ensure_one()
        # sudo: the run, its log and the export records are written by the
        # system; who may start a run is checked by the buttons' groups.
        target = self.sudo()
        started = fields.Datetime.now()
        run = (
            self.env["call.recording.export.run"]
            .sudo()
            .create(
                {
                    "name": f"{started:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}",
                    "target_id": target.id,
                    "trigger": trigger,
                    "user_id": self.env.uid,
                    "start_date": started,
                }
            )
        )
        clock = time.perf_counter()
        transport = None
        connection_error = None
        try:
            transport = target._connect()
        except TransferError as exc:
            connection_error = exc
            run._add_log(self._explain(exc))
        if transport is not None:
            try:
                if not deletions_only:
                    target._send_waiting(transport, run, commit)
                target._delete_remote(transport, run)
            finally:
                transport.close()
        if not deletions_only and transport is not None:
            target._remove_local_audio(run)
        run.seconds = run.seconds or time.perf_counter() - clock
        target._finish_run(run, connection_error, reschedule=not deletions_only)
        if commit:
            self.env["ir.cron"]._commit_progress()
        return run

    def _send_waiting(self, transport, run, commit):
        """Queue new calls, then send every due export in batches.

        A second connection checks and renames each file while the next
        one is sent (lib/pipeline.py); without it, files are checked one
        after the other on the first.
        """
        self.ensure_one()
        self._queue_new_calls()
        Export = self.env["call.recording.export"].sudo()
        clock = time.perf_counter()
        try:
            verifier = self._connect()
        except TransferError as exc:
            run._add_log(self._explain(exc))
            verifier = None
        state = {"failed_in_a_row": 0, "stop": False}
        batch_number = 0
        seen = set()
        try:
            while not state["stop"]:
                batch = Export.search(
                    self._due_exports_domain() & Domain("id", "not in", list(seen)),
                    limit=BATCH_SIZE,
                    order="id",
                )
                if not batch:
                    break
                batch_number += 1
                seen.update(batch.ids)
                sent = self._send_batch(transport, verifier, batch, run, state)
                if sent:
                    self._write_manifest(verifier or transport, run, batch_number, sent)
                run.seconds = time.perf_counter() - clock
                if commit:
                    self.env["ir.cron"]._commit_progress()
        finally:
            if verifier is not None:
                verifier.close()

    def _send_batch(self, transport, verifier, batch, run, state):
        """Send one batch; returns the (export, result) of the verified files."""
        exports = {export.id: export for export in batch}
        sent = []

        def record(outcomes):
            for key, result, error in outcomes:
                if error is None:
                    self._mark_done(exports[key], result, run)
                    sent.append((exports[key], result))
                    state["failed_in_a_row"] = 0
                else:
                    self._mark_failed(exports[key], error, run)
                    state["failed_in_a_row"] += 1

        pipeline = VerifyingPipeline(transport, verifier)
        try:
            for export in batch:
                error = self._submit(pipeline, export, run)
                record(pipeline.results())
                if error is None:
                    continue
                state["failed_in_a_row"] += 1
                if error.breaks_connection or state["failed_in_a_row"] >= MAX_FAILURES_IN_A_ROW:
                    run._add_log(self.env._("Run stopped; the next run resumes here."))
                    state["stop"] = True
                    if error.breaks_connection:
                        # A fresh connection for what follows (manifest, deletions).
                        self._reconnect(transport, run)
                    break
        finally:
            record(pipeline.close())
        return sent

    def _reconnect(self, transport, run):
        transport.close()
        try:
            retry_lib.with_retries(
                transport.connect, tries=self.connect_tries, delay=self.retry_delay
            )
        except TransferError as exc:
            run._add_log(self._explain(exc))
            return False
        return True

    def _submit(self, pipeline, export, run):
        """Send one call's audio; its check follows.  Returns the upload's error."""
        call = export.call_id
        attachment = call._get_audio_attachment()
        if call.recording_status != "available" or not attachment or not call.audio_sha256:
            export.write({"state": "cancelled", "last_error": "no local audio any more"})
            return None
        try:
            path = template_lib.render(
                self.path_template, self._template_values(call), self.base_folder
            )
            with self._open_attachment(attachment) as stream:
                pipeline.submit(export.id, stream, path, call.audio_size, call.audio_sha256)
        except TransferError as exc:
            self._mark_failed(export, exc, run)
            return exc
        except OSError as exc:
            # The local file cannot be read (filestore damaged): this call
            # fails, the batch goes on.
            self._mark_failed(export, TransferError("other", f"reading the audio: {exc}"), run)
        return None

    def _mark_failed(self, export, error, run):
        """Not exported: say why, and when it is tried again."""
        attempts = export.attempt_count + 1
        export.write(
            {
                "state": "failed",
                "attempt_count": attempts,
                "next_attempt_date": fields.Datetime.now() + retry_lib.next_attempt_delay(attempts),
                "last_error": self._explain(error),
                "run_id": run.id,
            }
        )
        run.error_count += 1
        run._add_log(f"{export.call_reference}: {self._explain(error)}")

    def _mark_done(self, export, result, run):
        """Exported: verified and in place on the server."""
        export.write(
            {
                "state": "done",
                "remote_path": result.remote_path,
                "size": result.size,
                "sha256": result.sha256,
                "server_verified": result.sha256_verified_by_server,
                "exported_date": fields.Datetime.now(),
                "run_id": run.id,
                "last_error": False,
                "next_attempt_date": False,
            }
        )
        run.file_count += 1
        run.byte_count += result.size

    def _open_attachment(self, attachment):
        """A binary file object on the stored audio, read from the filestore."""
        attachment = attachment.sudo()
        if attachment.store_fname:
            return open(attachment._full_path(attachment.store_fname), "rb")
        return io.BytesIO(attachment.raw or b"")

    def _template_values(self, call):
        return template_lib.values_for(
            {
                "start": call.start_datetime,
                "reference": call.name,
                "direction": call.direction,
                "number": call.external_number_e164 or call.external_number,
                "line": call.line_number_e164 or call.line_number,
                "agent": call.user_id.login,
                "company": call.company_id.name,
                "id": call.id,
                "ext": AUDIO_EXTENSIONS.get(call.audio_mimetype, "bin"),
            }
        )

    def _manifest_entry(self, export, result):
        call = export.call_id
        return {
            "reference": call.name,
            "start": fields.Datetime.to_string(call.start_datetime),
            "direction": call.direction,
            "state": call.state,
            "duration": call.duration,
            "number": call.external_number_e164 or call.external_number or "",
            "line": call.line_number_e164 or call.line_number or "",
            "agent": call.user_id.login or "",
            "company": call.company_id.name,
            "remote_path": result.remote_path,
            "size": result.size,
            "sha256": result.sha256,
            "mimetype": call.audio_mimetype,
        }

    def _write_manifest(self, transport, run, batch_number, sent):
        """Write the batch's manifest (JSON and CSV) beside the recordings."""
        entries = [self._manifest_entry(export, result) for export, result in sent]
        batch_name = f"{run.name}-{batch_number:03d}"
        base = template_lib.normalize_base(self.base_folder)
        folder = f"{base}/manifests" if base else "manifests"
        json_path, csv_path = manifest_lib.manifest_paths(folder, batch_name)
        facts = {
            "name": batch_name,
            "target": self.name,
            "run_started": fields.Datetime.to_string(run.start_date),
            "files": len(entries),
            "bytes": sum(e["size"] for e in entries),
        }
        try:
            upload_bytes(transport, manifest_lib.manifest_json(facts, entries), json_path)
            upload_bytes(transport, manifest_lib.manifest_csv(entries), csv_path)
        except TransferError as exc:
            # The recordings are verified and stay exported; the run shows
            # that this batch has no manifest on the server.
            run.error_count += 1
            run._add_log(
                self.env._("Manifest %(name)s not written: %(reason)s", name=batch_name, reason=exc)
            )
            return False
        run.manifest_paths = f"{run.manifest_paths or ''}{json_path}\n{csv_path}\n"
        return True

    def _remove_local_audio(self, run):
        """Remove the local audio of calls whose copy here is verified."""
        self.ensure_one()
        if not self.remove_local_audio:
            return
        exports = self.env["call.recording.export"].search(
            [
                ("target_id", "=", self.id),
                ("state", "=", "done"),
                ("call_id.recording_status", "=", "available"),
            ]
        )
        held = self._held_calls(exports.call_id)
        calls = self.env["call.recording"]
        for export in exports:
            call = export.call_id
            # Only the very audio that was verified on the server; held
            # calls keep their local copy too.
            if call.audio_sha256 == export.sha256 and call not in held:
                calls |= call
        if calls:
            calls._move_audio_to_export_server()
            run.removed_local_count += len(calls)
            run._add_log(self.env._("Local audio removed from %(count)s calls.", count=len(calls)))

    def _held_calls(self, calls):
        """Those of ``calls`` on legal hold now (searched, never a cached value)."""
        if not calls:
            return calls
        return calls.search([("id", "in", calls.ids), ("legal_hold", "=", True)])

    def _deletable_exports(self):
        """Copies to delete from this server now: refused or purged, and not held."""
        self.ensure_one()
        exports = self.env["call.recording.export"].search(
            [("target_id", "=", self.id), ("state", "=", "to_delete")]
        )
        # never while held; retried once the hold is released
        held = self._held_calls(exports.call_id)
        return exports.filtered(lambda e: not (e.call_id and e.call_id in held))

    def _delete_remote(self, transport, run):
        """Delete remote copies of refused or purged recordings, unless held."""
        self.ensure_one()
        for export in self._deletable_exports():
            try:
                transport.delete(export.remote_path)
                cleanup(transport, temporary_name(export.remote_path))
            except TransferError as exc:
                export.last_error = self._explain(exc)
                run.error_count += 1
                run._add_log(f"{export.call_reference}: {self._explain(exc)}")
                if exc.breaks_connection:
                    return
                continue
            export.write({"state": "deleted", "deleted_date": fields.Datetime.now()})
            run.deleted_count += 1
            run._add_log(
                self.env._(
                    "%(call)s: deleted from the server (%(path)s).",
                    call=export.call_reference,
                    path=export.remote_path,
                )
            )
            if export.call_id:
                export.call_id.message_post(
                    body=self.env._(
                        "The copy on export server %(target)s was deleted.", target=self.name
                    ),
                    subtype_xmlid="mail.mt_note",
                )

    def _finish_run(self, run, connection_error, reschedule=True):
        """Close the run; count failed runs and suspend the target after too many.

        A run that only deleted (``reschedule=False``) leaves the schedule alone.
        """
        self.ensure_one()
        failed = connection_error is not None or (run.error_count and not run.file_count)
        run.write(
            {
                "end_date": fields.Datetime.now(),
                "state": "failed" if failed else ("partial" if run.error_count else "done"),
            }
        )
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
        elif connection_error is not None and connection_error.kind == "host_key":
            self._alert_admins(
                self.env._(
                    "Export target %(target)s presented an unexpected host key: %(error)s",
                    target=self.name,
                    error=connection_error.message,
                )
            )

    def _admin_users(self):
        group = self.env.ref("call_recording.group_call_recording_admin")
        return group.all_user_ids.filtered(
            lambda u: u.active and not u.share and self.company_id in u.company_ids
        )

    def _alert_admins(self, message):
        """An activity for each administrator, and a message that e-mails them."""
        self.ensure_one()
        admins = self._admin_users()
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

    # ------------------------------------------------------------------
    # Fetch-back
    # ------------------------------------------------------------------

    def _fetch_audio(self, export):
        """Download ``export``'s file into a spooled temporary file and verify it.

        Returns the file object positioned at 0; raises TransferError.
        """
        import tempfile  # noqa: PLC0415

        self.ensure_one()
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        transport = self._connect()
        try:
            transport.download(export.remote_path, spool)
        finally:
            transport.close()
        spool.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: spool.read(1024 * 1024), b""):
            digest.update(chunk)
        if digest.hexdigest() != export.sha256:
            spool.close()
            raise TransferError(
                "verify", f"{export.remote_path}: the copy on the server is not the recording"
            )
        spool.seek(0)
        return spool
