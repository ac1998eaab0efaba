import hashlib
import io
import os
import secrets
import zipfile

from odoo.exceptions import UserError
from odoo.sql_db import db_connect
from odoo.tests import tagged

from odoo.addons.call_recording.lib.audio import AudioError, audio_mimetype, synth_call_wav
from odoo.addons.call_recording.lib.files import FileRefused
from odoo.addons.call_recording.models.call_recording_file import FILE_LOCK_KEY

from .test_compliance import ComplianceCommon

LOGGER = "odoo.addons.call_recording.models.call_recording_file"


class Trickle(io.BytesIO):
    """A stream that gives at most 1000 bytes a read, counting its reads."""

    reads = 0

    def read(self, size=-1):
        self.reads += 1
        return super().read(min(size, 1000) if size and size > 0 else 1000)


@tagged("post_install", "-at_install")
class TestRecordingFiles(ComplianceCommon):
    """The one home of recording files: store, open, delete."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Files = cls.env["call.recording.file"]

    def _data(self, size=20_000):
        """Content no other test stored (its own file in the filestore)."""
        return secrets.token_bytes(size)

    def _store(self, data, name="file.bin"):
        with self.Files._receive(io.BytesIO(data)) as spooled:
            return self.Files._store(spooled, {"name": name})

    def _path(self, attachment):
        return attachment._full_path(attachment.store_fname)

    def _after_commit(self):
        """Run what runs once the transaction is committed.

        Its own cursors then share the test's transaction, as after a real
        commit they would see its work (and its locks are no one else's).
        """
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()

    def _parts_left(self):
        spool = self.Files._spool_dir()
        return [n for n in os.listdir(spool) if n.endswith(".part")] if os.path.isdir(spool) else []

    # -- store ---------------------------------------------------------------

    def test_store_is_byte_identical_with_its_fingerprints(self):
        data = self._data(3_000_000)
        stream = Trickle(data)
        with self.Files._receive(stream) as spooled:
            attachment = self.Files._store(
                spooled, {"name": "package.zip", "mimetype": "application/zip"}
            )
        self.assertGreater(stream.reads, 1000, "read in chunks, not whole")
        self.assertEqual(spooled.size, len(data))
        self.assertEqual(spooled.sha256, hashlib.sha256(data).hexdigest())
        self.assertEqual(spooled.sha1, hashlib.sha1(data, usedforsecurity=False).hexdigest())
        self.assertEqual(attachment.checksum, spooled.sha1)
        self.assertEqual(attachment.file_size, len(data))
        self.assertEqual(attachment.mimetype, "application/zip")
        self.assertEqual(attachment.store_fname, f"{spooled.sha1[:2]}/{spooled.sha1}")
        with open(self._path(attachment), "rb") as fp:
            self.assertEqual(fp.read(), data)
        self.assertEqual(attachment.raw, data)
        self.assertFalse(self._parts_left(), "no temporary file is left behind")

    def test_sniffed_type_and_refusals_leave_nothing(self):
        wav = synth_call_wav(1, seed=42)
        with self.Files._receive(io.BytesIO(wav), sniff=audio_mimetype) as spooled:
            attachment = self.Files._store(spooled, {"name": "a.wav"})
        self.assertEqual(attachment.mimetype, "audio/wav")
        Attachment = self.env["ir.attachment"].sudo()
        count = Attachment.search_count([])
        for data, error, message in (
            (b"", FileRefused, "empty"),
            (self._data(5000), FileRefused, "larger than the limit"),
            (b"<html>" + self._data(100), AudioError, "not a known audio format"),
        ):
            with self.subTest(message=message), self.assertRaisesRegex(error, message):
                self.Files._receive(io.BytesIO(data), max_size=4000, sniff=audio_mimetype)
        self.assertEqual(Attachment.search_count([]), count)
        self.assertFalse(self._parts_left())

    def test_same_content_stored_once(self):
        data = self._data()
        first, second = self._store(data), self._store(data, name="notes.txt")
        self.assertEqual(first.mimetype, "application/octet-stream", "Odoo's guess by name")
        self.assertEqual(second.mimetype, "text/plain")
        self.assertNotEqual(first, second)
        self.assertEqual(first.store_fname, second.store_fname)
        self.assertEqual(second.raw, data)
        self.assertFalse(self._parts_left())

    def test_different_content_under_the_same_key_is_refused(self):
        """A file stored under a content's SHA-1 that holds other bytes (a
        collision, or a damaged file) is neither overwritten nor taken as it."""
        data = self._data()
        sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        path = self.env["ir.attachment"]._full_path(f"{sha1[:2]}/{sha1}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fp:
            fp.write(b"other bytes")
        self.addCleanup(os.unlink, path)
        with self.assertRaisesRegex(UserError, "same SHA-1"):
            self._store(data, name="x.bin")
        with open(path, "rb") as fp:
            self.assertEqual(fp.read(), b"other bytes")
        self.assertFalse(self.env["ir.attachment"].sudo().search([("checksum", "=", sha1)]))
        self.assertFalse(self._parts_left())

    # -- open ----------------------------------------------------------------

    def test_open_streams_and_seeks(self):
        data = self._data(300_000)
        attachment = self._store(data)
        with self.Files._open(attachment) as fp:
            self.assertEqual(fp.read(1000), data[:1000])
            fp.seek(200_000)
            self.assertEqual(fp.read(10), data[200_000:200_010])
        self.assertEqual(self.Files._sha256(attachment), hashlib.sha256(data).hexdigest())

    def test_opener_needs_no_database(self):
        """Resolved while the cursor lives; opened later without a query
        (the export opens files in its threads)."""
        data = self._data()
        opener = self.Files._opener(self._store(data))
        queries = self.env.cr.sql_log_count
        with opener() as fp:
            self.assertEqual(fp.read(), data)
        self.assertEqual(self.env.cr.sql_log_count, queries)

    def test_missing_bytes_raise_never_read_empty(self):
        attachment = self._store(self._data())
        self.env.cr.execute(
            "UPDATE ir_attachment SET store_fname = 'ab/missing-file' WHERE id = %s",
            [attachment.id],
        )
        attachment.invalidate_recordset(["store_fname"])
        with self.assertRaises(FileNotFoundError):
            self.Files._open(attachment)
        with self.assertRaises(OSError):
            self.Files._sha256(attachment)
        empty = self.env["ir.attachment"].sudo().create({"name": "nothing.bin"})
        with self.assertRaises(FileNotFoundError):
            self.Files._open(empty)

    # -- delete --------------------------------------------------------------

    def test_delete_removes_the_file_once_committed(self):
        attachment = self._store(self._data())
        path = self._path(attachment)
        self.Files._delete(attachment)
        self.assertFalse(attachment.exists())
        self.assertTrue(os.path.exists(path), "nothing is removed before the commit")
        self._after_commit()
        self.assertFalse(os.path.exists(path))

    def test_shared_file_kept_until_its_last_user_goes(self):
        data = self._data()
        first, second = self._store(data), self._store(data)
        path = self._path(first)
        self.Files._delete(first)
        self._after_commit()
        self.assertTrue(os.path.exists(path))
        self.assertEqual(self.Files._sha256(second), hashlib.sha256(data).hexdigest())
        self.Files._delete(second)
        self._after_commit()
        self.assertFalse(os.path.exists(path))

    def test_rolled_back_deletion_keeps_the_file(self):
        attachment = self._store(self._data())
        path = self._path(attachment)
        with self.assertRaises(RuntimeError), self.env.cr.savepoint():
            self.Files._delete(attachment)
            raise RuntimeError("the deletion fails after the unlink")
        self.assertTrue(attachment.exists())
        self._after_commit()
        self.assertTrue(os.path.exists(path))
        self.assertTrue(self.Files._sha256(attachment))

    def test_content_being_stored_again_is_kept(self):
        """Another transaction storing the same content at this moment (it
        holds the content's lock until it commits) keeps the file."""
        attachment = self.env["ir.attachment"].sudo().create({"name": "a.bin", "raw": self._data()})
        fname, path = attachment.store_fname, self._path(attachment)
        self.Files._delete(attachment)
        with db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SET lock_timeout = '10s'")
            other.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))", [FILE_LOCK_KEY, fname]
            )
            self._after_commit()
            self.assertTrue(os.path.exists(path))
            other.rollback()
        # once that transaction is over, the file can go (nobody uses it)
        self.assertEqual(self.Files._remove_unused([fname]), [fname])
        self.assertFalse(os.path.exists(path))

    def test_file_that_cannot_be_removed_is_said(self):
        attachment = self._store(self._data())
        path = self._path(attachment)
        self.Files._delete(attachment)
        os.unlink(path)
        os.mkdir(path)  # something the deletion cannot remove
        self.addCleanup(os.rmdir, path)
        with self.assertLogs(LOGGER, "ERROR") as logs:
            self._after_commit()
        self.assertIn("could not be deleted", logs.output[0])
        self.assertTrue(os.path.isdir(path))

    # -- the suite's files go through it -------------------------------------

    def test_replaced_recording_file_removed_once_committed(self):
        call = self._call(self.agent_a, "+36301234567")
        call._set_audio_bytes(synth_call_wav(1, seed=1234))
        old = call._get_audio_attachment()
        path = self._path(old)
        call._set_audio_bytes(synth_call_wav(1, seed=4321))
        self.assertFalse(old.exists())
        self.assertTrue(os.path.exists(path))
        self._after_commit()
        self.assertFalse(os.path.exists(path))
        self.assertTrue(os.path.exists(self._path(call._get_audio_attachment())))

    def _request(self):
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id, "received_date": "2026-03-02"})
        )
        request.action_check_identity()
        return request

    def test_package_built_from_opened_recordings(self):
        request = self._request()
        request.action_prepare_package()
        package = request.package_id.sudo()
        self.assertEqual(package.mimetype, "application/zip")
        self.assertEqual(self.Files._sha256(package), request.package_sha256)
        self.assertEqual(package.file_size, request.package_size)
        with self.Files._open(package) as fp, zipfile.ZipFile(fp) as archive:
            for call in request.call_ids:
                data = archive.read(f"recordings/{call._audio_download_name()}")
                self.assertEqual(hashlib.sha256(data).hexdigest(), call.audio_sha256)
        self.assertEqual(request._handover_package(), package)

    def test_replaced_and_dropped_packages_removed_once_committed(self):
        request = self._request()
        request.action_prepare_package()
        first = request.package_id.sudo()
        first_path = self._path(first)
        request.action_prepare_package()  # built again
        second = request.package_id.sudo()
        self.assertFalse(first.exists())
        self._after_commit()
        # gone, unless the new package has the same bytes (then the file is shared)
        self.assertEqual(os.path.exists(first_path), self._path(second) == first_path)
        self.assertTrue(os.path.exists(self._path(second)))
        second_path = self._path(second)
        # fewer calls: the package no longer matches and is dropped
        request.call_ids -= self.call_b
        self.assertFalse(request.package_id)
        self.assertFalse(second.exists())
        self._after_commit()
        self.assertFalse(os.path.exists(second_path))

    def test_package_says_which_recording_cannot_be_read(self):
        request = self._request()
        call = self.call_b
        self.env.cr.execute(
            "UPDATE ir_attachment SET store_fname = 'ab/missing-file' WHERE id = %s",
            [call._get_audio_attachment().id],
        )
        self.env.invalidate_all()
        with self.assertRaisesRegex(UserError, call.name):
            request.action_prepare_package()
