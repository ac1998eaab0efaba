import hashlib
import io
import os
import secrets
import zipfile

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models.call_recording_file import StorageUnavailable
from odoo.addons.call_recording.tests.test_compliance import ComplianceCommon

from .common import CODE, ObjectStorageMixin, cron_commits_off

LOGGER = "odoo.addons.call_recording.models.call_recording_file"
FS_LOGGER = "odoo.addons.call_recording_fs.models.call_recording_file"


@tagged("post_install", "-at_install")
class TestObjectStorage(ObjectStorageMixin, ComplianceCommon):
    """Recordings and packages in a real S3 bucket; the rest of Odoo in the filestore."""

    def _new_call(self, seconds=2, seed=None, **vals):
        call = self._line_call("+3615550200", audio=False, **vals)
        data = synth_call_wav(seconds, seed=seed or secrets.randbelow(10**9))
        call._set_audio_bytes(data)
        return call, data

    def test_written_and_read_back_byte_identical(self):
        call, data = self._new_call(seconds=30)
        attachment = call._get_audio_attachment()
        key = self._key(attachment)
        sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        self.assertEqual(key, f"{sha1[:2]}/{sha1[2:4]}/{sha1}")
        self.assertEqual(self._object(key), data, "the bucket holds the recording's bytes")
        self.assertEqual(attachment.fs_storage_id, self.storage)
        self.assertEqual(attachment.fs_filename, key)
        self.assertEqual((attachment.file_size, attachment.checksum), (len(data), sha1))
        self.assertEqual(call.audio_sha256, hashlib.sha256(data).hexdigest())
        Files = self.env["call.recording.file"]
        with Files._open(attachment) as fp:
            self.assertEqual(fp.read(), data)
            fp.seek(1000)
            self.assertEqual(fp.read(16), data[1000:1016], "seekable")
        self.assertEqual(Files._sha256(attachment), call.audio_sha256)
        # nothing of it in the filestore, no temporary file left
        path = attachment._full_path(f"{sha1[:2]}/{sha1}")
        self.assertFalse(os.path.exists(path))
        self.assertFalse([n for n in os.listdir(Files._spool_dir()) if n.endswith(".part")])

    def test_only_the_suites_files_go_to_the_bucket(self):
        other = self.env["ir.attachment"].create(
            {
                "name": "note.txt",
                "raw": b"not a recording",
                "res_model": "res.partner",
                "res_id": self.customer.id,
            }
        )
        self.assertNotIn("://", other.store_fname, "the rest of Odoo stays in the filestore")
        self.assertFalse(other.fs_storage_id)
        chatter = self.env["ir.attachment"].create(
            {
                "name": "x.txt",
                "raw": b"chatter file",
                "res_model": "call.recording",
                "res_id": self.call_a.id,
            }
        )
        self.assertNotIn("://", chatter.store_fname, "only the audio field of the calls")

    def test_same_content_kept_once_and_checked(self):
        data = synth_call_wav(2, seed=4242)
        first = self._line_call("+3615550200", audio=False)
        second = self._line_call("+3615550200", audio=False)
        first._set_audio_bytes(data)
        second._set_audio_bytes(data)
        key = self._key(first._get_audio_attachment())
        self.assertEqual(self._key(second._get_audio_attachment()), key)
        # another content under a content's key (damaged object): refused
        other = synth_call_wav(2, seed=4243)
        sha1 = hashlib.sha1(other, usedforsecurity=False).hexdigest()
        self.bucket_fs.pipe(f"{self.s3.bucket}/{sha1[:2]}/{sha1[2:4]}/{sha1}", b"RIFF damaged")
        third = self._line_call("+3615550200", audio=False)
        with self.assertRaisesRegex(UserError, "different file with the same SHA-1"):
            third._set_audio_bytes(other)
        self.assertEqual(self._object(f"{sha1[:2]}/{sha1[2:4]}/{sha1}"), b"RIFF damaged")

    def test_consent_refusal_deletes_the_object_and_checks(self):
        call, data = self._new_call()
        key = self._key(call._get_audio_attachment())
        call.with_user(self.agent_a).action_consent_refused()
        self.assertEqual(self._object(key), data, "kept until the deletion is committed")
        self._after_commit()
        self.assertIsNone(self._object(key), "the object is gone from the bucket")
        self.assertFalse(self.env["call.recording.fs.removal"].search([]))

    def test_object_kept_while_another_recording_uses_it(self):
        data = synth_call_wav(2, seed=777)
        first = self._line_call("+3615550200", audio=False)
        second = self._line_call("+3615550200", audio=False)
        first._set_audio_bytes(data)
        second._set_audio_bytes(data)
        key = self._key(first._get_audio_attachment())
        first._remove_audio()
        self._after_commit()
        self.assertEqual(self._object(key), data)

    def test_failed_deletion_is_kept_and_retried(self):
        call, data = self._new_call()
        key = self._key(call._get_audio_attachment())
        call._remove_audio()
        self._store_down()
        with self.assertLogs(LOGGER, "ERROR"):
            self._after_commit()
        removal = self.env["call.recording.fs.removal"].search([])
        self.assertEqual(removal.store_fname, f"{CODE}://{key}")
        self.assertIn("cannot be reached", removal.last_error)
        self.assertEqual(self._object(key), data, "not deleted yet, not forgotten either")
        # fs_attachment's own collection would forget it; the hourly retry does not
        self._store_up()
        with cron_commits_off(self.env):
            self.env["call.recording.fs.removal"]._cron_retry()
        self.assertIsNone(self._object(key))
        self.assertFalse(removal.exists())

    def test_legal_hold_keeps_the_object(self):
        call, data = self._new_call()
        key = self._key(call._get_audio_attachment())
        self.env["call.recording.hold"].with_user(self.manager).create(
            {"name": "Panasz 2026/17", "call_ids": [(6, 0, call.ids)]}
        )
        with self.assertRaises(UserError):
            call._remove_audio()
        self._after_commit()
        self.assertEqual(self._object(key), data)

    def test_handover_package_in_the_bucket(self):
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id, "received_date": "2026-03-02"})
        )
        request.action_check_identity()
        request.action_prepare_package()
        package = request.sudo().package_id
        key = self._key(package)
        data = self._object(key)
        self.assertEqual(hashlib.sha256(data).hexdigest(), request.package_sha256)
        self.assertEqual(request._handover_package(), package)
        # recordings read from the bucket into the package, byte for byte
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for call in request.call_ids:
                member = archive.read(f"recordings/{call._audio_download_name()}")
                self.assertEqual(hashlib.sha256(member).hexdigest(), call.audio_sha256)

    def test_unreachable_store_is_a_clear_error_and_loses_nothing(self):
        call, data = self._new_call()
        attachment = call._get_audio_attachment()
        self._store_down()
        newer = synth_call_wav(2, seed=99)
        # a whole request or batch (a savepoint here) fails: nothing changed
        with (
            self.assertRaisesRegex(StorageUnavailable, "cannot be reached"),
            self.env.cr.savepoint(),
        ):
            call._set_audio_bytes(newer)
        self.env.invalidate_all()
        self.assertTrue(attachment.exists())
        # the error is a user error and an OSError (openers, _explained)
        with self.assertRaises(OSError):
            self.env["call.recording.file"]._open(attachment)
        self.assertEqual(call.audio_sha256, hashlib.sha256(data).hexdigest())
        self.assertEqual(self._object(self._key(attachment)), data)
