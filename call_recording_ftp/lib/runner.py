"""One export run, whatever the protocol: batches of verified files, manifests, deletions.

Plain Python, like the import's sync engine: the runner decides what is
sent on which connection and when a run must stop; its *sink* (the Odoo
export run in production, a list in unit tests) says which files wait,
stores what became of each, writes the log in the administrator's
language, and commits.  Every file is verified before the sink hears it
was sent; a file whose upload broke the connection ends the run, and the
next run resumes with the files still waiting.
"""

import hashlib
import io
import time
from dataclasses import dataclass, field

from .errors import TransferError
from .manifest import manifest_csv, manifest_json, manifest_paths
from .pipeline import TransferPipeline
from .upload import cleanup, temporary_name, upload_bytes

#: Failed files in a row after which a run gives up (the server is unwell).
MAX_FAILURES_IN_A_ROW = 5


@dataclass
class FileToSend:
    """One recording to send: where it goes, its fingerprints, how to read it."""

    key: object
    remote_path: str
    size: int
    sha256: str
    opener: object  # () -> binary file object; no database access
    manifest: dict = field(default_factory=dict)  # the manifest's facts about it


@dataclass
class RunReport:
    """What a run did, for its record."""

    connection_error: TransferError | None = None
    sent: int = 0
    failed: int = 0
    bytes: int = 0
    stopped: bool = False
    seconds: float = 0.0


@dataclass
class _Batch:
    """A batch under way: its files, those still out, and what became of its manifest."""

    number: int
    items: dict
    waiting: set = field(default_factory=set)
    sent: list = field(default_factory=list)
    name: str = ""
    manifest_waiting: set = field(default_factory=set)
    manifest_written: list = field(default_factory=list)
    manifest_done: bool = False

    def __post_init__(self):
        self.waiting = set(self.items)

    @property
    def complete(self):
        return not self.waiting


class _ManifestKey:
    """The pipeline's key of a manifest file (its batch and path)."""

    __slots__ = ("path", "state")

    def __init__(self, state, path):
        self.state = state
        self.path = path


def _json_first(path):
    return (not path.endswith(".json"), path)


class ExportSink:
    """The storage side of a run (implemented by the Odoo export run)."""

    def next_batch(self, limit):
        """Up to ``limit`` :class:`FileToSend` not yet tried in this run (may be fewer)."""
        raise NotImplementedError

    def sent(self, item, result):
        """``item`` is on the server, verified (an ``UploadResult``)."""
        raise NotImplementedError

    def failed(self, item, error):
        """``item`` was not sent or not verified; it is retried later."""
        raise NotImplementedError

    def manifest_facts(self, batch_name, count, size):
        """The batch facts heading a manifest (JSON-serialisable)."""
        return {"name": batch_name, "files": count, "bytes": size}

    def manifest_written(self, paths, keys=()):
        """The batch's manifest files are on the server; ``keys``: the files it lists."""

    def manifest_rewrites(self):
        """``[(remote path, bytes)]`` of manifests to write again after the deletions
        (their deleted files' personal data removed)."""
        return []

    def manifest_failed(self, batch_name, error):
        """The batch's manifest could not be written (its files stay sent)."""

    def deletions(self):
        """``(key, remote_path)`` of the copies to delete from the server now."""
        return []

    def deleted(self, key):
        """The copy of ``key`` is gone from the server."""

    def delete_failed(self, key, error):
        """The copy of ``key`` could not be deleted; it is tried again next run."""

    def connection_failed(self, error):
        """A connection (the first, an extra one, or a reconnection) could not be made."""

    def stopped(self, error):
        """The run stops early (a broken connection, or too many failures in a row)."""

    def progress(self, seconds):
        """A batch is stored: commit it; ``seconds`` spent sending so far."""

    def out_of_time(self):
        """Whether the run must stop now (cron time budget)."""
        return False


class ExportRunner:
    """Runs one export: ``connect()`` gives a connected transport (with its own retries)."""

    def __init__(
        self,
        connect,
        sink,
        *,
        run_name,
        manifest_folder,
        uploads=2,
        batch_size=50,
        max_failures_in_a_row=MAX_FAILURES_IN_A_ROW,
    ):
        self.connect = connect
        self.sink = sink
        self.run_name = run_name
        self.manifest_folder = manifest_folder
        self.uploads = max(int(uploads or 1), 1)
        self.batch_size = batch_size
        self.max_failures_in_a_row = max_failures_in_a_row
        self.report = RunReport()
        self._failed_in_a_row = 0
        self._broken = None  # the error that broke a connection
        self._batch_of = {}  # file key -> its batch, while under way
        self._manifests_left = []  # batches whose manifest waits for a working connection
        self._began = time.perf_counter()

    # -- connections --------------------------------------------------------------

    def _open(self):
        """A new connection, or None (the sink hears why)."""
        try:
            return self.connect()
        except TransferError as exc:
            self.sink.connection_failed(exc)
            return None

    @staticmethod
    def _close(transports):
        for transport in transports:
            if transport is not None:
                transport.close()

    # -- the run ----------------------------------------------------------------

    def run(self, send=True):
        """Send what waits (unless ``send`` is false), then delete what must go."""
        began = time.perf_counter()
        try:
            main = self.connect()
        except TransferError as exc:
            self.report.connection_error = exc
            self.sink.connection_failed(exc)
            return self.report
        extra = []
        try:
            if send:
                extra = [self._open() for _n in range(self.uploads)]
                main = self._send_all(main, [t for t in extra if t is not None], began)
            if main is not None:
                self._delete_remote(main)
        finally:
            self._close([main, *extra])
        self.report.seconds = time.perf_counter() - began
        return self.report

    def _send_all(self, main, extra, began):
        """Batches until nothing waits or the run must stop; returns a working connection.

        One pipeline serves the whole run: the files of the next batch go
        while the last checks of the previous one finish, and a batch's
        manifest is sent like its files as soon as its last file is checked.
        """
        # ``main`` uploads; the extra connections upload too, except the last,
        # which checks and renames (with a single connection, it does both).
        uploaders, verifiers = [main, *extra[:-1]], extra[-1:]
        pipeline = TransferPipeline(uploaders, verifiers)
        self._began = began
        number = 0
        try:
            while not self.report.stopped and not self.sink.out_of_time():
                batch = self.sink.next_batch(self.batch_size)
                if not batch:
                    break
                number += 1
                state = _Batch(number, {item.key: item for item in batch})
                for item in batch:
                    self._batch_of[item.key] = state
                for item in batch:
                    pipeline.submit(item.key, item.opener, item.remote_path, item.size, item.sha256)
                    self._collect(pipeline.results(), pipeline)
                    if self.report.stopped:
                        pipeline.cancel()
                        break
        finally:
            self._collect(pipeline.close(), None)
        self._broken = pipeline.broken
        working = self._working_connection(uploaders, verifiers)
        if working is not None:
            for state in self._manifests_left:
                self._write_manifest(working, state)
        self._manifests_left = []
        return working

    def _collect(self, outcomes, pipeline):
        """Record outcomes; a batch whose files are all done gets its manifest and a commit."""
        for outcome in outcomes:
            if isinstance(outcome.key, _ManifestKey):
                self._manifest_outcome(outcome)
                continue
            state = self._batch_of.pop(outcome.key)
            self._record(outcome, state)
            if state.complete:
                if state.sent:
                    self._send_manifest(state, pipeline)
                self.sink.progress(time.perf_counter() - self._began)

    def _record(self, outcome, state):
        item = state.items[outcome.key]
        state.waiting.discard(outcome.key)
        if outcome.result is not None:
            self.sink.sent(item, outcome.result)
            state.sent.append((item, outcome.result))
            self.report.sent += 1
            self.report.bytes += outcome.result.size
            self._failed_in_a_row = 0
        elif outcome.error is not None:
            self.sink.failed(item, outcome.error)
            self.report.failed += 1
            self._failed_in_a_row += 1
            error = outcome.error
            if not self.report.stopped and (
                error.breaks_connection or self._failed_in_a_row >= self.max_failures_in_a_row
            ):
                self.report.stopped = True
                self.sink.stopped(error)

    # -- manifests ---------------------------------------------------------------

    def _manifest_files(self, state):
        """The batch's manifest: [(remote path, bytes)] for its JSON and CSV."""
        order = list(state.items)
        sent = sorted(state.sent, key=lambda pair: order.index(pair[0].key))
        entries = [
            {
                **item.manifest,
                "remote_path": result.remote_path,
                "size": result.size,
                "sha256": result.sha256,
            }
            for item, result in sent
        ]
        facts = self.sink.manifest_facts(state.name, len(entries), sum(e["size"] for e in entries))
        json_path, csv_path = manifest_paths(self.manifest_folder, state.name)
        return [(json_path, manifest_json(facts, entries)), (csv_path, manifest_csv(entries))]

    def _send_manifest(self, state, pipeline):
        state.name = f"{self.run_name}-{state.number:03d}"
        if pipeline is None:
            self._manifests_left.append(state)
            return
        for path, data in self._manifest_files(state):
            state.manifest_waiting.add(path)
            pipeline.submit(
                _ManifestKey(state, path),
                lambda data=data: io.BytesIO(data),
                path,
                len(data),
                hashlib.sha256(data).hexdigest(),
            )

    def _manifest_outcome(self, outcome):
        state = outcome.key.state
        if state.manifest_done:
            return
        if outcome.skipped:
            # The connections broke first: written afterwards on a fresh one.
            state.manifest_done = True
            self._manifests_left.append(state)
            return
        if outcome.error is not None:
            state.manifest_done = True
            self.sink.manifest_failed(state.name, outcome.error)
            return
        state.manifest_waiting.discard(outcome.key.path)
        state.manifest_written.append(outcome.key.path)
        if not state.manifest_waiting:
            state.manifest_done = True
            self.sink.manifest_written(
                sorted(state.manifest_written, key=_json_first),
                [item.key for item, _result in state.sent],
            )

    def _working_connection(self, uploaders, verifiers):
        """A connection for manifests and deletions: one not broken, or a new one."""
        if self._broken is None:
            return uploaders[0] if uploaders else (verifiers[0] if verifiers else None)
        # A connection broke: do not trust any of this batch's; start afresh.
        self._close([*uploaders, *verifiers])
        uploaders.clear()
        verifiers.clear()
        self._broken = None
        fresh = self._open()
        if fresh is not None:
            uploaders.append(fresh)
        return fresh

    def _write_manifest(self, transport, state):
        """A batch's manifest (JSON and CSV) beside the recordings, on ``transport``."""
        paths = []
        try:
            for path, data in self._manifest_files(state):
                upload_bytes(transport, data, path)
                paths.append(path)
        except TransferError as exc:
            # The recordings are verified and stay exported; the run says
            # that this batch has no manifest on the server.
            self.sink.manifest_failed(state.name, exc)
            return False
        self.sink.manifest_written(paths, [item.key for item, _result in state.sent])
        return True

    def _delete_remote(self, transport):
        """Delete the copies the sink says must go (refused or purged, not held),
        then write again the manifests that listed them, without their personal data."""
        for key, remote_path in self.sink.deletions():
            try:
                transport.delete(remote_path)
                cleanup(transport, temporary_name(remote_path))
            except TransferError as exc:
                self.sink.delete_failed(key, exc)
                if exc.breaks_connection:
                    return
                continue
            self.sink.deleted(key)
        for path, data in self.sink.manifest_rewrites():
            try:
                upload_bytes(transport, data, path)
            except TransferError as exc:
                self.sink.manifest_failed(path, exc)
                if exc.breaks_connection:
                    return
