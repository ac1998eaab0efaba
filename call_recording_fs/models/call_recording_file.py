"""Recording files in object storage: ``call.recording.file``'s storage primitives.

The suite keeps every recording file through ``call.recording.file`` (see
its docstring in ``call_recording``).  Here only its storage primitives
change, for the attachments that OCA's ``fs_attachment`` routes to an
``fs.storage`` (the call's ``audio`` field, the requests' hand-over
packages; see README.rst, "Object storage"): their bytes go to that
storage's file system (fsspec; an S3 bucket through s3fs), named
``<storage code>://ab/cd/<sha1>`` as ``fs_attachment`` names them, and
everything else stays where Odoo keeps it.

- :meth:`_place` uploads the spooled file (multipart, from disk, never
  whole in memory) and checks the size the store reports;
- :meth:`_opener` opens the object for reading in blocks (seekable);
- :meth:`_stream` serves it with Range requests (see ``lib/objects.py``);
- :meth:`_remove_file` deletes the object and checks it is gone; what
  cannot be deleted is kept in ``call.recording.fs.removal`` and tried
  again (``fs_attachment``'s own garbage collection forgets a name whose
  deletion failed).

A store that cannot be reached raises ``StorageUnavailable`` (nothing
stored or removed; the import and the Push API try again later, the audio
route answers 503).  :meth:`_move_to_object_storage` moves the recordings
already in the filestore, batch by batch, each checked by SHA-256.

One file, over 400 lines: the primitives and the migration share the
object naming, the content lock and the store's error handling; the S3
protocol itself is fsspec's, and the Range reading is ``lib/objects.py``.
"""

import contextlib
import logging
import os

# Imported with the add-on, not by the first request that reads a
# recording (s3fs, aiobotocore and botocore take a second to import).
import s3fs  # noqa: F401 pylint: disable=unused-import
from werkzeug.exceptions import NotFound, ServiceUnavailable

from odoo import api, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.http import Response, Stream, request
from odoo.tools import SQL

from odoo.addons.call_recording.models.call_recording_file import StorageUnavailable

from ..lib import objects

_logger = logging.getLogger(__name__)

#: The suite's files that may live in object storage: (model, field).
ROUTED = (("call.recording", "audio"), ("call.recording.request", False))
#: seconds a client should wait before asking again when the store is down
RETRY_AFTER = 30


class ObjectStream(Stream):
    """An ``odoo.http.Stream`` of an object in an fsspec file system."""

    type = "object"
    opener = None

    def read(self):
        if self.type != "object":
            return super().read()
        with self.opener() as fp:
            return fp.read()

    def get_response(self, as_attachment=None, immutable=None, **kwargs):
        fileobj = self.opener()
        response = objects.file_response(
            request.httprequest.environ,
            fileobj,
            self.size,
            self.mimetype,
            etag=self.etag if isinstance(self.etag, str) else None,
            last_modified=self.last_modified,
            download_name=self.download_name,
            as_attachment=self.as_attachment if as_attachment is None else as_attachment,
            response_class=Response,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response


class CallRecordingFile(models.AbstractModel):
    _inherit = "call.recording.file"

    # ------------------------------------------------------------------
    # Where a file goes
    # ------------------------------------------------------------------

    @api.model
    def _object_storage_code(self, res_model, res_field=False):
        """Code of the ``fs.storage`` keeping the suite's ``(res_model, res_field)``, or None."""
        if (res_model, res_field or False) not in ROUTED:
            return None
        # sudo: which storage is configured is no secret; its options are
        # never read here.
        return self.env["fs.storage"].sudo().get_storage_code_by_model_field(res_model, res_field)

    @api.model
    def _object_parts(self, fname):
        """``(fs, code, key)`` of a storage name ``code://key``, or None for the filestore's."""
        # sudo: the storage's file system, for the system's own files.
        Attachment = self.env["ir.attachment"].sudo()
        if not fname or not Attachment._is_file_from_a_storage(fname):
            return None
        code, _sep, key = fname.partition("://")
        with self._store_errors(fname):
            fs = self.env["fs.storage"].sudo().get_fs_by_code(code)
        if not fs:
            raise StorageUnavailable(
                self.env._(
                    "The storage %(code)s of %(name)s is not configured.", code=code, name=fname
                )
            )
        return fs, code, key

    @api.model
    def _unavailable_message(self, name, error):
        return self.env._(
            "The object storage of the recordings cannot be reached now (%(error)s); "
            "%(name)s was left as it is. Try again later.",
            error=error,
            name=name,
        )

    @contextlib.contextmanager
    def _store_errors(self, name, message=None):
        """Turn the store's connection errors into :class:`StorageUnavailable`."""
        message = message or (lambda exc: self._unavailable_message(name, exc))
        try:
            yield
        except StorageUnavailable:
            raise
        except Exception as exc:
            if objects.is_unavailable(exc):
                raise StorageUnavailable(message(exc)) from exc
            raise

    # ------------------------------------------------------------------
    # Store
    # ------------------------------------------------------------------

    @api.model
    def _gc_marker(self):
        # Downloads routed to object storage are uploaded, not moved into
        # the filestore: nothing to mark there (_place marks the object).
        if self._object_storage_code("call.recording", "audio"):
            return None
        return super()._gc_marker()

    @api.model
    def _held_object(self, code, sha1):
        """Where content ``sha1`` goes in object storage ``code``: (file system,
        key, storage name), held until this transaction ends as in the
        filestore (``_hold_content``)."""
        # sudo: the storage's settings, for the system's own files.
        Storage = self.env["fs.storage"].sudo()
        key = objects.object_key(sha1, Storage._must_optimize_directory_path(code))
        fname = f"{code}://{key}"
        self._hold_content(fname)
        return self._object_parts(fname)[0], key, fname

    @api.model
    def _place(self, attachment, spooled, gc_marked=False):
        code = self._object_storage_code(attachment.res_model, attachment.res_field)
        if not code:
            return super()._place(attachment, spooled, gc_marked=gc_marked)
        # sudo: the storage's settings, for the system's own files.
        Storage = self.env["fs.storage"].sudo()
        fs, key, fname = self._held_object(code, spooled.sha1)
        with self._store_errors(attachment.name):
            stored = self._object_size(fs, key)
            if stored is None:
                if not os.path.exists(spooled.path):
                    raise self._data_gone_error(attachment)
                # Marked first (committed on its own): should this
                # transaction abort, fs_attachment's garbage collection
                # removes the object.
                # sudo: fs_attachment's collection list is the system's.
                self.env["fs.file.gc"].sudo()._mark_for_gc(fname)
                fs.put_file(spooled.path, key)
                stored = self._object_size(fs, key)
                if stored != spooled.size:
                    raise StorageUnavailable(
                        self.env._(
                            "%(name)s was not stored: the object storage holds %(stored)s "
                            "of its %(size)s bytes.",
                            name=attachment.name,
                            stored=stored or 0,
                            size=spooled.size,
                        )
                    )
            elif os.path.exists(spooled.path):
                # The same SHA-1 stored already (identical content, kept
                # once): the same bytes, checked, or refused.
                with fs.open(key, "rb", block_size=objects.BLOCK_SIZE) as fp:
                    size, sha1, sha256 = objects.digests(fp)
                if (size, sha1, sha256) != (spooled.size, spooled.sha1, spooled.sha256):
                    raise self._other_content_error(attachment)
        spooled.discard()
        storage_id = Storage.get_id_by_code(code)
        # fs_attachment's own columns, as its create() sets them (the file
        # name is the key: names are not shown in the bucket).
        self.env.cr.execute(
            SQL(
                "UPDATE ir_attachment SET fs_filename = %s, fs_storage_id = %s, "
                "fs_storage_code = %s WHERE id = %s",
                key,
                storage_id,
                code,
                attachment.id,
            )
        )
        attachment.invalidate_recordset(["fs_filename", "fs_storage_id", "fs_storage_code"])
        return fname

    @api.model
    def _object_size(self, fs, key):
        """Size of the object ``key`` as the store says now, None when there is none."""
        fs.invalidate_cache(key)
        try:
            return fs.info(key)["size"]
        except FileNotFoundError:
            return None

    # ------------------------------------------------------------------
    # Open
    # ------------------------------------------------------------------

    @api.model
    def _opener(self, attachment):
        # sudo: where the bytes are is the system's; callers checked access.
        attachment = attachment.sudo().ensure_one()
        parts = self._object_parts(attachment.store_fname)
        if not parts:
            return super()._opener(attachment)
        fs, _code, key = parts
        unavailable = self._unavailable_message(attachment.name, "\x00")

        def open_object():
            # No database here: the message was made above.
            try:
                return fs.open(key, "rb", block_size=objects.BLOCK_SIZE)
            except Exception as exc:
                if objects.is_unavailable(exc):
                    raise StorageUnavailable(unavailable.replace("\x00", str(exc))) from exc
                raise

        return open_object

    @api.model
    def _stream(self, attachment):
        # sudo (here and below): where the bytes are and their size are the
        # system's; the audio route and the hand-over checked access.
        parts = self._object_parts(attachment.sudo().store_fname)
        if not parts:
            return super()._stream(attachment)
        # ir.binary first: its checks (recordings only on the audio route)
        # stay; its stream is replaced by one that answers Range.
        stream = super()._stream(attachment)
        opener = self._opener(attachment)
        name = attachment.sudo().name

        def open_or_answer():
            try:
                return opener()
            except StorageUnavailable as exc:
                _logger.warning("Recording file not served: %s", exc)
                raise ServiceUnavailable(str(exc), retry_after=RETRY_AFTER) from exc
            except FileNotFoundError as exc:
                _logger.error("Recording file %s is missing from the object storage", name)
                raise NotFound() from exc

        return ObjectStream(
            opener=open_or_answer,
            mimetype=stream.mimetype,
            download_name=stream.download_name,
            etag=attachment.sudo().checksum,
            size=attachment.sudo().file_size,
            last_modified=stream.last_modified,
            as_attachment=stream.as_attachment,
        )

    # ------------------------------------------------------------------
    # Delete
    # ------------------------------------------------------------------

    @api.model
    def _remove_file(self, fname):
        parts = self._object_parts(fname)
        if not parts:
            return super()._remove_file(fname)
        fs, _code, key = parts
        # sudo: the list of objects awaiting deletion is written by the system only.
        Removal = self.env["call.recording.fs.removal"].sudo()
        try:
            with self._store_errors(fname):
                with contextlib.suppress(FileNotFoundError):
                    fs.rm_file(key)
                if self._object_size(fs, key) is not None:
                    raise OSError(f"{fname} is still there after its deletion")
        except OSError as exc:
            # fs_attachment's garbage collection would forget it: kept here
            Removal._failed(fname, exc)
            raise
        Removal._done(fname)
        return True

    # ------------------------------------------------------------------
    # Moving the filestore's recordings to object storage
    # ------------------------------------------------------------------

    @api.model
    def _filestore_files_to_move(self):
        """Domain of the suite's attachments still in the filestore whose storage is now another."""
        domains = [
            Domain([("res_model", "=", res_model), ("res_field", "=", res_field)])
            for res_model, res_field in ROUTED
            if self._object_storage_code(res_model, res_field)
        ]
        if not domains:
            return None
        return Domain.OR(domains) & Domain(
            [("store_fname", "!=", False), ("store_fname", "not like", "://")]
        )

    @api.model
    def _move_to_object_storage(self, batch_size=50, limit=None):
        """Move the recordings (and packages) kept in the filestore to their object storage.

        Batch by batch, each committed (``ir.cron._commit_progress``), so an
        interrupted run resumes where it stopped: only what is still in
        the filestore is selected.  Each file is uploaded, read back and
        checked by SHA-256 against the one the suite recorded (the call's
        ``audio_sha256``, the request's ``package_sha256``) before its
        attachment points to the object; the local file is then left to
        Odoo's filestore garbage collection.  A file that cannot be checked
        stays where it is (logged); an unreachable store stops the run.
        Returns ``{"moved", "failed", "remaining"}``.
        """
        domain = self._filestore_files_to_move()
        if domain is None:
            _logger.info("No object storage is configured for the recordings: nothing to move")
            return {"moved": 0, "failed": 0, "remaining": 0}
        # sudo: recording files are the system's; only administrators reach
        # this method (a cron, the storage's button).
        Attachment = self.env["ir.attachment"].sudo()
        remaining = Attachment.search_count(domain)
        moved = failed = 0
        last_id = 0
        _logger.info("Moving %s recording files to object storage", remaining)
        while remaining and (limit is None or moved + failed < limit):
            size = batch_size if limit is None else min(batch_size, limit - moved - failed)
            batch = Attachment.search(domain & Domain("id", ">", last_id), order="id", limit=size)
            if not batch:
                break
            for attachment in batch:
                try:
                    with self.env.cr.savepoint():
                        self._move_one(attachment)
                    moved += 1
                except StorageUnavailable:
                    raise
                except (OSError, UserError) as exc:
                    failed += 1
                    _logger.error(
                        "Recording file %s (attachment %s) not moved: %s",
                        attachment.store_fname,
                        attachment.id,
                        exc,
                    )
            last_id = batch[-1].id
            remaining = max(remaining - len(batch), 0)
            _logger.info(
                "Moved %s recording files to object storage (%s failed), %s left",
                moved,
                failed,
                remaining,
            )
            if self.env["ir.cron"]._commit_progress(len(batch), remaining=remaining) <= 0:
                break
        return {"moved": moved, "failed": failed, "remaining": remaining}

    @api.model
    def _expected_sha256(self, attachment):
        """The SHA-256 the suite recorded for ``attachment``'s content, if any."""
        # sudo: the recorded checksum of the system's own file, for the migration.
        if attachment.res_model == "call.recording":
            record = self.env["call.recording"].sudo().browse(attachment.res_id).exists()
            return record.audio_sha256 or None
        record = self.env["call.recording.request"].sudo().browse(attachment.res_id).exists()
        return (record.package_sha256 if record.package_id == attachment else None) or None

    @api.model
    def _move_one(self, attachment):
        """Move one attachment's bytes from the filestore to its object storage, checked."""
        old = attachment.store_fname
        code = self._object_storage_code(attachment.res_model, attachment.res_field)
        # The local file stays while it is copied (a deletion of its
        # content waits for this transaction).
        self._hold_content(old)
        path = attachment._full_path(old)
        with open(path, "rb") as fp:
            size, sha1, sha256 = objects.digests(fp)
        expected = self._expected_sha256(attachment)
        if (expected and sha256 != expected) or size != attachment.file_size:
            raise UserError(
                self.env._(
                    "%(name)s in the filestore is not the recorded file (SHA-256 %(sha)s, "
                    "%(size)s bytes); it stays there.",
                    name=attachment.name,
                    sha=sha256,
                    size=size,
                )
            )
        # sudo: the storage's settings, for the system's own files.
        Storage = self.env["fs.storage"].sudo()
        fs, key, fname = self._held_object(code, sha1)
        with self._store_errors(attachment.name):
            if self._object_size(fs, key) is None:
                # sudo: fs_attachment's collection list is the system's.
                self.env["fs.file.gc"].sudo()._mark_for_gc(fname)
                fs.put_file(path, key)
            # read back: what the store holds is what the suite recorded
            with fs.open(key, "rb", block_size=objects.BLOCK_SIZE) as fp:
                stored = objects.digests(fp)
        if stored != (size, sha1, sha256):
            raise UserError(
                self.env._(
                    "%(name)s: the object storage holds other bytes (SHA-256 %(sha)s); "
                    "the file stays in the filestore.",
                    name=attachment.name,
                    sha=stored[2],
                )
            )
        self.env.cr.execute(
            SQL(
                "UPDATE ir_attachment SET store_fname = %s, fs_filename = %s, "
                "fs_storage_id = %s, fs_storage_code = %s WHERE id = %s AND store_fname = %s",
                fname,
                key,
                Storage.get_id_by_code(code),
                code,
                attachment.id,
                old,
            )
        )
        if self.env.cr.rowcount != 1:
            raise UserError(
                self.env._(
                    "%(name)s changed while it was moved; it is moved on the next run.",
                    name=attachment.name,
                )
            )
        attachment.invalidate_recordset(
            ["store_fname", "fs_filename", "fs_storage_id", "fs_storage_code"]
        )
        # the local copy goes with Odoo's filestore garbage collection,
        # unless another attachment still uses it
        attachment._mark_for_gc(old)
        _logger.debug("Moved %s to %s (SHA-256 %s)", old, fname, sha256)

    @api.model
    def _cron_move_to_object_storage(self):
        result = self._move_to_object_storage()
        if not result["remaining"]:
            # done: the cron ends (the storage's button starts it again)
            self.env["ir.cron"]._commit_progress(remaining=0, deactivate=True)
        return result
