"""An unreachable store, moving the filestore's recordings, and who may configure it."""

import hashlib
import json
import os
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models import evidence
from odoo.addons.call_recording.tests import test_import, test_push_api
from odoo.addons.call_recording.tests.common import CallRecordingCommon

from .common import CODE, ObjectStorageMixin, cron_commits_off

FS_LOGGER = "odoo.addons.call_recording_fs.models.call_recording_file"
SINK_LOGGER = "odoo.addons.call_recording.models.call_recording_provider_sink"


@tagged("post_install", "-at_install")
class TestAudioRouteOutage(ObjectStorageMixin, test_push_api.TestPushApi):
    """The audio route and the Push API when the store does not answer."""

    allow_inherited_tests_method = False

    def test_audio_route_streams_ranges_from_the_bucket(self):
        call = self.call_a
        big = synth_call_wav(120, seed=5)  # ~2 MB, more than a block
        call._set_audio_bytes(big)
        key = self._key(call._get_audio_attachment())
        self.assertEqual(self._object(key), big)
        self.authenticate("cr_agent_a", "cr_agent_a")
        url = f"/call_recording/{call.id}/audio"
        middle = len(big) // 2
        response = self.url_open(url, headers={"Range": f"bytes={middle}-{middle + 65535}"})
        self.assertEqual(response.status_code, 206)
        self.assertEqual(response.content, big[middle : middle + 65536])
        self.assertEqual(
            response.headers["Content-Range"], f"bytes {middle}-{middle + 65535}/{len(big)}"
        )
        response = self.url_open(url)
        self.assertEqual((response.status_code, response.content), (200, big))
        etag = response.headers["ETag"]
        response = self.url_open(url, headers={"If-None-Match": etag})
        self.assertEqual(response.status_code, 304)

    def test_audio_route_answers_503_when_the_store_is_down(self):
        self.authenticate("cr_agent_a", "cr_agent_a")
        self._store_down()
        with mute_logger(FS_LOGGER, "odoo.http"):
            response = self.url_open(f"/call_recording/{self.call_a.id}/audio")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.headers["Retry-After"], "30")
        self.assertIn("cannot be reached", response.text)
        # no play was logged for audio that was not served
        logs = self.env["call.recording.access.log"].search([("call_id", "=", self.call_a.id)])
        self.assertFalse(logs.filtered(lambda log: log.access_type == "play"))

    def test_push_answers_503_unavailable_and_stores_nothing(self):
        self._store_down()
        audio = synth_call_wav(1, seed=515)
        with mute_logger(FS_LOGGER):
            status, answer = self._push_http(self._vals("outage-1"), audio=audio)
        self.assertEqual(status, 503, answer)
        self.assertEqual(answer["error"], "unavailable")
        self.assertIn("cannot be reached", answer["errors"]["audio"])
        self._store_up()
        sha1 = hashlib.sha1(audio, usedforsecurity=False).hexdigest()
        self.assertIsNone(self._object(f"{sha1[:2]}/{sha1[2:4]}/{sha1}"))
        # sent again once the store is back: stored
        status, answer = self._push_http(self._vals("outage-1"), audio=audio)
        self.assertIn(status, (200, 201), answer)
        call = self._calls("outage-1")
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(self._object(self._key(call._get_audio_attachment())), audio)


@tagged("post_install", "-at_install")
class TestImportOutage(ObjectStorageMixin, test_import.TestProviderImport):
    """The import with the store down: a clear error on the call, retried, nothing lost."""

    allow_inherited_tests_method = False

    def test_import_retries_when_the_store_is_back(self):
        self.agent_a.email = "cr_agent_a@example.com"
        provider = self.providers["twilio"]
        with_audio, _no_audio = self._add_calls("twilio")
        self.s3.pause()  # the store itself is down
        try:
            with mute_logger(SINK_LOGGER, FS_LOGGER):
                log = self.sync(provider)
        finally:
            self.s3.start()
        call = self.calls_of(provider).filtered(lambda c: c.external_id == with_audio)
        self.assertEqual(call.recording_status, "pending", "still due, not failed")
        self.assertIn("object storage of the recordings cannot be reached", call.import_error)
        self.assertEqual(call.import_attempts, 1)
        self.assertTrue(call.import_next_try)
        self.assertEqual(log.audio_failed, 1)
        # later, with the store back: downloaded again and stored
        evidence.writer(call).write({"import_next_try": False})
        log = self.sync(provider)
        self.assertEqual(log.audio_downloaded, 1, log.error)
        self.assertEqual(call.recording_status, "available")
        self.assertFalse(call.import_error)
        self.assertEqual(self._object(self._key(call._get_audio_attachment())), self.audio_1)


@tagged("post_install", "-at_install")
class TestMoveToObjectStorage(ObjectStorageMixin, test_import.TestProviderImport):
    """Moving recordings kept in the filestore: batched, resumable, checked by SHA-256."""

    allow_inherited_tests_method = False

    def _filestore_calls(self, count, seed):
        """Calls whose recordings are in the filestore (stored before the storage existed)."""
        self.storage.write({"field_xmlids": False, "model_xmlids": False})
        calls = self.env["call.recording"]
        for index in range(count):
            call = self._call(self.agent_a, "+36309012345")
            call._set_audio_bytes(synth_call_wav(1, seed=seed + index))
            calls |= call
        self.storage.action_store_call_recordings()
        for call in calls:
            self.assertNotIn("://", call._get_audio_attachment().store_fname)
        return calls

    def test_move_in_batches_checked_and_resumable(self):
        calls = self._filestore_calls(5, seed=9100)
        paths = {
            call: call._get_audio_attachment()._full_path(call._get_audio_attachment().store_fname)
            for call in calls
        }
        progress = []

        def commit_progress(cron, processed=0, *, remaining=None, deactivate=False):
            progress.append((processed, remaining))
            return float("inf") if len(progress) < 2 else 0  # the cron's time is up

        Files = self.env["call.recording.file"]
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", commit_progress):
            first = Files._move_to_object_storage(batch_size=2)
        self.assertEqual(first, {"moved": 4, "failed": 0, "remaining": 1})
        self.assertEqual(progress, [(2, 3), (2, 1)])
        with cron_commits_off(self.env):
            second = Files._move_to_object_storage(batch_size=2)  # resumes
            third = Files._move_to_object_storage(batch_size=2)
        self.assertEqual(second, {"moved": 1, "failed": 0, "remaining": 0})
        self.assertEqual(third, {"moved": 0, "failed": 0, "remaining": 0})
        checklist = self.env["ir.attachment"]._full_path("checklist")
        for call in calls:
            attachment = call._get_audio_attachment()
            data = self._object(self._key(attachment))
            self.assertEqual(hashlib.sha256(data).hexdigest(), call.audio_sha256)
            self.assertEqual(attachment.fs_storage_id, self.storage)
            with self.env["call.recording.file"]._open(attachment) as fp:
                self.assertEqual(fp.read(), data)
            # the local copy is left to Odoo's filestore garbage collection
            sha1 = attachment.checksum
            self.assertTrue(os.path.exists(os.path.join(checklist, sha1[:2], sha1)))
            self.assertTrue(os.path.exists(paths[call]))

    def test_damaged_local_file_is_not_moved(self):
        calls = self._filestore_calls(2, seed=9200)
        damaged = calls[0]._get_audio_attachment()
        path = damaged._full_path(damaged.store_fname)
        original = open(path, "rb").read()  # noqa: SIM115 restored below
        self.addCleanup(lambda: open(path, "wb").write(original))  # noqa: SIM115
        with open(path, "r+b") as fp:
            fp.seek(100)
            fp.write(b"\0" * 16)
        with cron_commits_off(self.env), self.assertLogs(FS_LOGGER, "ERROR") as logs:
            result = self.env["call.recording.file"]._move_to_object_storage()
        self.assertEqual((result["moved"], result["failed"]), (1, 1))
        self.assertIn("is not the recorded file", "\n".join(logs.output))
        self.assertNotIn("://", damaged.store_fname, "it stays where it is")
        self.assertTrue(calls[1]._get_audio_attachment().store_fname.startswith(f"{CODE}://"))

    def test_store_down_stops_the_move_and_loses_nothing(self):
        calls = self._filestore_calls(2, seed=9300)
        self._store_down()
        with cron_commits_off(self.env), self.assertRaisesRegex(Exception, "cannot be reached"):
            self.env["call.recording.file"]._move_to_object_storage()
        for call in calls:
            self.assertNotIn("://", call._get_audio_attachment().store_fname)

    def test_only_administrators_configure_and_move(self):
        """The storage holds credentials and decides where evidence lives."""
        manager = self.env["res.users"].search([("login", "=", "cr_manager")])
        admin_of_calls = self._user("cr_calls_admin", "call_recording.group_call_recording_admin")
        for user in (manager, admin_of_calls):
            storage = self.storage.with_user(user)
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    storage.read(["options"])
                with self.assertRaises(AccessError):
                    self.env["fs.storage"].with_user(user).search_read([], ["options"])
                with self.assertRaises(AccessError):
                    storage.action_move_call_recordings()
                with self.assertRaises(AccessError):
                    storage.action_store_call_recordings()
                with self.assertRaises(AccessError):
                    self.env["call.recording.fs.removal"].with_user(user).search([])
        # and the system administrator may
        cron = self.env.ref("call_recording_fs.ir_cron_move_to_object_storage")
        self.storage.with_user(self.env.ref("base.user_admin")).action_move_call_recordings()
        self.assertTrue(cron.active)


@tagged("post_install", "-at_install")
class TestConfigurationOverRpc(ObjectStorageMixin, HttpCase, CallRecordingCommon):
    """The same refusals through JSON-RPC, as a client would try."""

    allow_inherited_tests_method = False

    def _jsonrpc(self, model, method, args):
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/web/dataset/call_kw",
                data=json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "call",
                        "params": {"model": model, "method": method, "args": args, "kwargs": {}},
                    }
                ),
                headers={"Content-Type": "application/json"},
            )
        return response.json()

    def test_non_admin_cannot_read_credentials_or_start_the_move(self):
        self._user("cr_calls_admin2", "call_recording.group_call_recording_admin")
        self.authenticate("cr_calls_admin2", "cr_calls_admin2")
        for model, method, args in (
            ("fs.storage", "read", [[self.storage.id], ["options", "name"]]),
            ("fs.storage", "search_read", [[], ["options"]]),
            ("fs.storage", "action_move_call_recordings", [[self.storage.id]]),
            ("fs.storage", "action_store_call_recordings", [[self.storage.id]]),
            ("fs.storage", "write", [[self.storage.id], {"field_xmlids": False}]),
            ("call.recording.file", "_move_to_object_storage", []),
            ("call.recording.fs.removal", "search_read", [[], []]),
        ):
            with self.subTest(model=model, method=method):
                answer = self._jsonrpc(model, method, args)
                self.assertIn("error", answer)
                self.assertNotIn(self.s3.secret_key, json.dumps(answer))
        self.assertEqual(self.storage.field_xmlids, "call_recording.field_call_recording__audio")
        cron = self.env.ref("call_recording_fs.ir_cron_move_to_object_storage")
        self.assertFalse(cron.active)
