"""The one home of recording files: how a recording or a hand-over package is
stored, opened or deleted.

Every other part of the suite (the import, the Push API, uploads, the audio
route, hand-over packages, consent refusal and purges, the FTP export and
its fetch-back) goes through ``env["call.recording.file"]``; none touches
the storage itself (``_full_path``, ``store_fname``, ``_mark_for_gc``, raw
SQL on ``ir_attachment``).  The files are ordinary ``ir.attachment``
records; only where their bytes live is this model's business.

- **Store**: :meth:`_receive` copies a stream in chunks into a temporary
  file beside the storage, computing size, SHA-1, SHA-256 and (with a
  ``sniff``) the type on the way, never holding it whole in memory;
  :meth:`_store` creates the attachment and moves the bytes into place
  (:meth:`_place`).  Identical content is kept once (SHA-1 key, checked
  byte by byte).
- **Open**: :meth:`_opener` resolves where the bytes are *now*, while the
  cursor lives, and returns a callable that opens them later without the
  database (another thread, after the request's cursor closed);
  :meth:`_open` and :meth:`_sha256` build on it.  Missing bytes raise
  :class:`OSError`, never read as an empty file.  :meth:`_stream` gives
  the HTTP stream (Range, conditional requests) of the audio route and of
  the hand-over download.
- **Delete**: :meth:`_delete` unlinks the attachments and, once that is
  committed, removes their bytes and checks they are gone
  (:meth:`_remove_file`); bytes another attachment still uses are kept, a
  rolled-back deletion removes nothing, a content that an uncommitted
  transaction is storing again (an advisory lock taken by :meth:`_place`)
  is left alone, and what cannot be removed is logged and stays in Odoo's
  garbage collection, which tries again.

Another storage (object storage, issue 17) plugs in by overriding the
storage primitives only: :meth:`_place`, :meth:`_opener`, :meth:`_stream`
and :meth:`_remove_file`; the callers do not change.  A storage that
cannot be reached raises :class:`StorageUnavailable`: nothing was stored
or removed, and the caller tries again later.
"""

import contextlib
import io
import logging
import os

from odoo import SUPERUSER_ID, api, models
from odoo.exceptions import UserError
from odoo.sql_db import Cursor
from odoo.tools import SQL

from ..lib import files as files_lib

_logger = logging.getLogger(__name__)

#: First key of the advisory lock that serialises storing and deleting the
#: same content (the second key is a hash of its storage name).
FILE_LOCK_KEY = 0x43524649  # "CRFI"


class StorageUnavailable(UserError, ConnectionError):
    """The storage of recording files cannot be reached now; try again later.

    Nothing was stored or removed.  A :class:`~odoo.exceptions.UserError`
    (its message is for the user) and an :class:`OSError` (what the
    openers raise when bytes cannot be read): the import keeps the
    recording due, the Push API answers 503, the audio route 503.
    """

    retryable = True


class CallRecordingFile(models.AbstractModel):
    _name = "call.recording.file"
    _description = "Recording Files"

    # ------------------------------------------------------------------
    # Store
    # ------------------------------------------------------------------

    @api.model
    def _spool_dir(self):
        """Where data waits before it is stored (on the storage's disk: a rename moves it)."""
        return os.path.join(self.env["ir.attachment"]._filestore(), "call_recording_tmp")

    @api.model
    def _remove_stale_parts(self):
        """Remove temporary files of downloads whose process was killed."""
        removed = files_lib.remove_stale_parts(self._spool_dir())
        if removed:
            _logger.info("Removed %s unfinished recording downloads", removed)
        return removed

    @api.model
    def _receive(self, stream, max_size=None, sniff=None):
        """Copy ``stream`` in chunks into a temporary file, with its fingerprints.

        Returns a :class:`~..lib.files.Spooled` (size, sha1, sha256,
        mimetype), to be given to :meth:`_store`; used as a context manager
        it removes the temporary file if it was not stored.  Raises
        :class:`~..lib.files.FileRefused` (or what ``sniff`` raises) when
        the data is empty, over ``max_size`` bytes or refused by ``sniff``.
        """
        return files_lib.spool(stream, self._spool_dir(), max_size, sniff=sniff)

    @api.model
    def _store(self, spooled, vals):
        """A new attachment created with ``vals`` whose bytes are ``spooled``'s.

        ``vals`` are the attachment's (name, res_model, res_id, res_field,
        mimetype: the sniffed one by default, else Odoo's guess from the
        name); size and checksum come from the spooled data.  The temporary
        file is moved, not copied.
        """
        return self._store_many([spooled], [vals])

    @api.model
    def _store_many(self, spooled_list, vals_list, gc_marked=False):
        """:meth:`_store` for several files at once: one ``create``, one update.

        The import stores its downloads in batches this way.  ``gc_marked``
        says the bytes were marked for Odoo's garbage collection already
        (by :meth:`_gc_marker`, in the download thread).
        """
        # sudo: recording files are the system's; this private method stores
        # what its callers checked may be stored.
        Attachment = self.env["ir.attachment"].sudo()
        vals_list = [
            {
                "type": "binary",
                **({"mimetype": spooled.mimetype} if spooled.mimetype else {}),
                **vals,
            }
            for spooled, vals in zip(spooled_list, vals_list, strict=True)
        ]
        # The rows first, the bytes second: a deletion of the same content
        # that checks for users of the file then sees these (_remove_unused).
        attachments = Attachment.create(vals_list)
        placed = []
        for attachment, spooled in zip(attachments, spooled_list, strict=True):
            fname = self._place(attachment, spooled, gc_marked=gc_marked)
            if fname:
                placed.append(
                    SQL("(%s, %s, %s, %s)", attachment.id, fname, spooled.size, spooled.sha1)
                )
        if placed:
            # create() computes these from bytes in memory; the bytes are
            # in place already, so they are set directly.
            self.env.cr.execute(
                SQL(
                    "UPDATE ir_attachment AS a SET store_fname = v.fname, file_size = v.size, "
                    "checksum = v.sha1 FROM (VALUES %s) AS v(id, fname, size, sha1) "
                    "WHERE a.id = v.id",
                    SQL(", ").join(placed),
                )
            )
            attachments.invalidate_recordset(["store_fname", "file_size", "checksum"])
        return attachments

    @api.model
    def _gc_marker(self):
        """A callable marking a spooled file for Odoo's garbage collection, or None.

        Safe in a thread without the database (the import's downloads mark
        their files as they arrive, so that storing them in a batch later
        touches the disk less).  A collection before the file is in place
        finds nothing to remove; a rolled-back transaction leaves no file
        unmarked.  None when the bytes are not kept in the filestore.
        """
        # sudo: only the storage's paths are read (no record).
        Attachment = self.env["ir.attachment"].sudo()
        if Attachment._storage() != "file":
            return None
        checklist = Attachment._full_path("checklist")

        def mark(spooled):
            files_lib.touch(os.path.join(checklist, spooled.sha1[:2], spooled.sha1))

        return mark

    @api.model
    def _hold_content(self, fname):
        """Hold the content stored as ``fname`` until this transaction ends.

        A deletion of this content that was committed meanwhile leaves it
        alone (_remove_unused).  Shared: transactions storing the same
        content do not wait for each other, only for a deletion that is
        removing it right now.
        """
        self.env.cr.execute(
            SQL("SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", FILE_LOCK_KEY, fname)
        )

    @api.model
    def _place(self, attachment, spooled, gc_marked=False):
        """Storage primitive: put ``spooled``'s bytes where ``attachment`` keeps them.

        Returns the attachment's storage name (``store_fname``), or None
        when Odoo keeps the bytes in the database (``ir_attachment.location``
        set to ``db``).  Content already stored under the same SHA-1 is kept
        once, after checking it is the same bytes.
        """
        if attachment._storage() != "file":
            with open(spooled.path, "rb") as fp:
                # Odoo's database storage takes the bytes whole.
                attachment.write({"raw": fp.read(), "mimetype": attachment.mimetype})
            spooled.discard()
            return None
        fname = f"{spooled.sha1[:2]}/{spooled.sha1}"
        self._hold_content(fname)
        path = attachment._full_path(fname)
        if not os.path.exists(spooled.path):
            # Moved into place by an attempt rolled back since (a batch of
            # the import stored again one by one); gone only if Odoo's
            # garbage collection removed it meanwhile.
            if os.path.exists(path):
                return fname
            raise self._data_gone_error(attachment)
        if os.path.exists(path):
            if not files_lib.same_content(path, spooled.path):
                raise self._other_content_error(attachment)
            spooled.discard()
        else:
            files_lib.place(spooled.path, path)
            if not gc_marked:
                # in case the transaction aborts, Odoo's garbage collection removes it
                attachment._mark_for_gc(fname)
        return fname

    def _data_gone_error(self, attachment):
        """The refusal to store ``attachment`` when its spooled bytes are gone."""
        return UserError(
            self.env._("%(name)s was not stored: its data is gone.", name=attachment.name)
        )

    def _other_content_error(self, attachment):
        """The refusal to store ``attachment`` over other bytes with the same SHA-1."""
        return UserError(
            self.env._(
                "%(name)s was not stored: a different file with the same SHA-1 is stored already.",
                name=attachment.name,
            )
        )

    # ------------------------------------------------------------------
    # Open
    # ------------------------------------------------------------------

    @api.model
    def _opener(self, attachment):
        """Storage primitive: a callable returning ``attachment``'s bytes as a binary file.

        Where the bytes are is resolved now; the callable touches no
        database, so it may run in another thread or after this cursor is
        closed.  The file object reads from the start, is seekable where the
        storage allows it, and is the caller's to close.  Bytes that are
        gone raise :class:`OSError` (``FileNotFoundError``) when opened.
        """
        # sudo: where the bytes are is the system's; callers checked access.
        attachment = attachment.sudo().ensure_one()
        if attachment.store_fname:
            path = attachment._full_path(attachment.store_fname)
            return lambda: open(path, "rb")
        if attachment.db_datas:
            data = attachment.raw
            return lambda: io.BytesIO(data)
        name = attachment.name

        def missing():
            raise FileNotFoundError(f"{name}: the attachment has no stored data")

        return missing

    @api.model
    def _open(self, attachment):
        """``attachment``'s bytes as a binary file object (see :meth:`_opener`)."""
        return self._opener(attachment)()

    @api.model
    def _sha256(self, attachment):
        """SHA-256 (hex) of ``attachment``'s bytes, read in chunks; OSError if gone."""
        with self._open(attachment) as fp:
            return files_lib.sha256_of(fp)

    @api.model
    def _stream(self, attachment):
        """Storage primitive: an ``odoo.http.Stream`` serving ``attachment``'s bytes.

        Its response answers Range and conditional requests.  Built by
        ``ir.binary`` with this environment's context (the audio route's
        key lets recordings through, see ``ir_binary.py``); the caller sets
        the download name and type.
        """
        return self.env["ir.binary"]._record_to_stream(attachment, "raw")

    # ------------------------------------------------------------------
    # Delete
    # ------------------------------------------------------------------

    @api.model
    def _delete(self, attachments):
        """Unlink ``attachments``; their bytes are removed once that is committed.

        Bytes still used by another attachment (same content) are kept; if
        the deletion is rolled back, nothing is removed.
        """
        # sudo: recording files are the system's; callers checked that the
        # deletion is allowed (retention, legal hold, consent).
        attachments = attachments.sudo()
        fnames = {a.store_fname for a in attachments if a.store_fname}
        attachments.unlink()
        if not fnames:
            return True
        # One removal after the commit for all the transaction's deletions.
        postcommit = self.env.cr.postcommit
        pending = postcommit.data.setdefault("call_recording.file.remove", set())
        if not pending:
            registry = self.env.registry
            postcommit.add(lambda: _remove_after_commit(registry, sorted(pending)))
        pending.update(fnames)
        return True

    @api.model
    def _remove_unused(self, fnames):
        """Remove the stored bytes of ``fnames`` that no attachment uses any more.

        Runs after the deletion was committed, in a transaction of its own.
        A content being stored again at this moment (locked by
        :meth:`_place`) is left alone; so is a file that cannot be removed
        (logged): both stay in Odoo's garbage collection.  Returns the names
        removed.
        """
        cr = self.env.cr
        removed = []
        for fname in fnames:
            cr.execute(
                SQL("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", FILE_LOCK_KEY, fname)
            )
            if not cr.fetchone()[0]:
                continue
            cr.execute(SQL("SELECT 1 FROM ir_attachment WHERE store_fname = %s LIMIT 1", fname))
            if cr.fetchone():
                continue
            try:
                self._remove_file(fname)
            except OSError as exc:
                _logger.error(
                    "Recording file %s of database %s could not be deleted (%s); "
                    "Odoo's garbage collection tries again",
                    fname,
                    cr.dbname,
                    exc,
                )
                continue
            removed.append(fname)
            _logger.info("Deleted recording file %s of database %s", fname, cr.dbname)
        return removed

    @api.model
    def _remove_file(self, fname):
        """Storage primitive: remove the bytes stored as ``fname`` and check they are gone.

        Raises :class:`OSError` when they could not be removed.
        """
        path = self.env["ir.attachment"]._full_path(fname)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if os.path.lexists(path):
            raise OSError(f"{fname} is still there after its deletion")


def _remove_after_commit(registry, fnames):
    """Run :meth:`CallRecordingFile._remove_unused` in a transaction of its own."""
    with registry.cursor() as cr:
        if isinstance(cr, Cursor):
            # A fresh view of what other transactions committed after each
            # lock taken by _remove_unused (Odoo's default keeps the view of
            # the transaction's first statement).
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["call.recording.file"]._remove_unused(fnames)
