"""The Odoo side of an export run: which files wait, and what became of each."""

from odoo import fields
from odoo.fields import Domain

from ..lib import manifest as manifest_lib
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
        # sudo: the transfer log is the system's, written by the run only
        self.Export = self.env["call.recording.export"].sudo()
        self.rewrite = set()  # manifests to write again after this run's deletions

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

    def manifest_written(self, paths, keys=()):
        self.run.manifest_paths = "".join(
            f"{line}\n" for line in [*(self.run.manifest_paths or "").split(), *paths]
        )
        json_path = next((path for path in paths if path.endswith(".json")), False)
        if keys and json_path:
            self.Export.browse(list(keys)).write({"manifest_path": json_path})

    def manifest_rewrites(self):
        """The manifests that listed a file deleted in this run, written again:
        their other files as they were, the deleted ones without personal data."""
        files = []
        for json_path in sorted(self.rewrite):
            exports = self.Export.search(
                [("target_id", "=", self.target.id), ("manifest_path", "=", json_path)],
                order="id",
            )
            entries = [export._manifest_row() for export in exports]
            name = json_path.rsplit("/", 1)[-1].removesuffix(".json")
            facts = {
                **self.manifest_facts(name, len(entries), sum(e["size"] or 0 for e in entries)),
                "run_started": fields.Datetime.to_string(exports[:1].run_id.start_date),
                "rewritten": fields.Datetime.to_string(fields.Datetime.now()),
            }
            csv_path = json_path.removesuffix(".json") + ".csv"
            files += [
                (json_path, manifest_lib.manifest_json(facts, entries)),
                (csv_path, manifest_lib.manifest_csv(entries)),
            ]
        self.rewrite.clear()
        return files

    def manifest_failed(self, batch_name, error):
        self.run.error_count += 1
        self.run._add_log(
            self.env._("Manifest %(name)s not written: %(reason)s", name=batch_name, reason=error)
        )

    # -- deletions -------------------------------------------------------------

    def deletions(self):
        return [(export.id, export.remote_path) for export in self.target._deletable_exports()]

    def deleted(self, key):
        export = self.Export.browse(key)
        export._mark_deleted(self.run)
        if export.manifest_path:
            self.rewrite.add(export.manifest_path)

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
