"""The Odoo side of an export run: which files wait, and what became of each."""

from odoo import fields
from odoo.fields import Domain

from ..lib import template as template_lib
from ..lib.errors import TransferError
from ..lib.runner import ExportSink, FileToSend


class ExportRunSink(ExportSink):
    """Feeds one ``call.recording.export.run`` (a sudo record) to the runner.

    Files are read by the runner's threads through openers that touch no
    database; every record is written here, in the run's own thread.
    """

    def __init__(self, run, commit=False, retry_now=False, batch_size=50):
        self.run = run
        self.env = run.env
        self.target = run.target_id
        self.commit = commit
        self.retry_now = retry_now
        self.batch_size = batch_size
        self.seen = set()
        self.time_left = float("inf")
        self.Export = self.env["call.recording.export"].sudo()

    # -- what to send --------------------------------------------------------

    def next_batch(self, limit):
        batch = []
        while not batch:
            exports = self.Export.search(
                self.target._due_exports_domain(retry_now=self.retry_now)
                & Domain("id", "not in", list(self.seen)),
                limit=limit,
                order="id",
            )
            if not exports:
                return []
            self.seen.update(exports.ids)
            batch = [item for item in map(self._file_to_send, exports) if item is not None]
        return batch

    def _file_to_send(self, export):
        """The runner's view of one export, or None when it cannot be sent (said why)."""
        call = export.call_id
        attachment = call._get_audio_attachment()
        if call.recording_status != "available" or not attachment or not call.audio_sha256:
            export.write({"state": "cancelled", "last_error": "no local audio any more"})
            return None
        try:
            path = template_lib.render(
                self.target.path_template,
                export._template_values(self.target.tz),
                self.target.base_folder,
            )
        except TransferError as exc:
            export._mark_failed(exc, self.run)
            return None
        return FileToSend(
            key=export.id,
            remote_path=path,
            size=call.audio_size,
            sha256=call.audio_sha256,
            # resolved here, opened by a runner thread without the database
            opener=self.env["call.recording.file"]._opener(attachment),
            manifest=export._manifest_entry(),
        )

    # -- what became of it ---------------------------------------------------

    def sent(self, item, result):
        self.Export.browse(item.key)._mark_done(result, self.run)

    def failed(self, item, error):
        self.Export.browse(item.key)._mark_failed(error, self.run)

    def stopped(self, error):
        self.run._add_log(self.env._("Run stopped; the next run resumes here."))

    def connection_failed(self, error):
        self.run._add_log(self.run._explain(error))

    # -- manifests -------------------------------------------------------------

    def manifest_facts(self, batch_name, count, size):
        return {
            "name": batch_name,
            "target": self.target.name,
            "run_started": fields.Datetime.to_string(self.run.start_date),
            "time_zone": self.target.tz,
            "files": count,
            "bytes": size,
        }

    def manifest_written(self, paths):
        self.run.manifest_paths = "".join(
            f"{line}\n" for line in [*(self.run.manifest_paths or "").split(), *paths]
        )

    def manifest_failed(self, batch_name, error):
        self.run.error_count += 1
        self.run._add_log(
            self.env._("Manifest %(name)s not written: %(reason)s", name=batch_name, reason=error)
        )

    # -- deletions -------------------------------------------------------------

    def deletions(self):
        return [(export.id, export.remote_path) for export in self.target._deletable_exports()]

    def deleted(self, key):
        self.Export.browse(key)._mark_deleted(self.run)

    def delete_failed(self, key, error):
        export = self.Export.browse(key)
        export.last_error = self.run._explain(error)
        self.run.error_count += 1
        self.run._add_log(f"{export.call_reference}: {self.run._explain(error)}")

    # -- commits and time ------------------------------------------------------

    def progress(self, seconds):
        self.run.seconds = seconds
        if self.commit:
            self.time_left = self.env["ir.cron"]._commit_progress()

    def out_of_time(self):
        return self.commit and self.time_left <= 0
