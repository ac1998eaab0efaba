"""Adding a recording by hand: the same path as the import, for managers only."""

import base64
import hashlib
import xmlrpc.client

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models import evidence

from .common import CallRecordingCommon

XMLRPC_LOGGER = "odoo.addons.rpc.controllers.xmlrpc"


@tagged("post_install", "-at_install")
class TestUpload(HttpCase, CallRecordingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wav = synth_call_wav(3, seed=7)
        cls.wav_b64 = base64.b64encode(cls.wav).decode()
        cls.bare = cls._call(cls.agent_a, "+36301117777")  # no recording yet

    def _xmlrpc(self, user, model, method, *args, **kwargs):
        with mute_logger(XMLRPC_LOGGER):  # XML-RPC's deprecation notice
            uid = self.xmlrpc_common.authenticate(get_db_name(), user.login, user.login, {})
            return self.xmlrpc_object.execute_kw(
                get_db_name(), uid, user.login, model, method, list(args), kwargs
            )

    def _upload(self, user, call, data=None, filename="call.wav"):
        """The manager's way: the wizard's form, over XML-RPC."""
        wizard_id = self._xmlrpc(
            user,
            "call.recording.upload",
            "create",
            {"call_id": call.id, "audio_file": data or self.wav_b64, "audio_filename": filename},
        )
        return self._xmlrpc(user, "call.recording.upload", "action_upload", [wizard_id])

    def _attachments(self, call):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "call.recording"),
                    ("res_id", "=", call.id),
                    "|",
                    ("res_field", "=", False),
                    ("res_field", "!=", False),
                ]
            )
        )

    def test_manager_uploads_like_an_import(self):
        self._upload(self.manager, self.bare, filename="felvétel.wav")
        call = self.bare
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(call.audio_sha256, hashlib.sha256(self.wav).hexdigest())
        self.assertEqual(call.audio_size, len(self.wav))
        self.assertEqual(call.audio_mimetype, "audio/wav")
        attachment = self._attachments(call)
        self.assertEqual(len(attachment), 1, "stored as the call's audio, nothing else")
        self.assertEqual(attachment.res_field, "audio")
        self.assertEqual(attachment.raw, self.wav)
        note = call.message_ids.filtered(lambda m: "Recording uploaded by" in (m.body or ""))
        self.assertEqual(len(note), 1)
        self.assertIn(self.manager.name, note.body)
        self.assertIn("felvétel.wav", note.body)
        self.assertIn(call.audio_sha256, note.body)
        self.assertEqual(call.legal_basis, "legal", "the line's policy applies as to any call")
        # the file does not stay in the wizard
        wizard = self.env["call.recording.upload"].search([("call_id", "=", call.id)])
        self.assertFalse(wizard.with_context(bin_size=False).audio_file)
        # and the agent plays it through the logged route
        self.authenticate(self.agent_a.login, self.agent_a.login)
        response = self.url_open(f"/call_recording/{call.id}/audio")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, self.wav)

    def test_agent_and_internal_user_are_refused_over_rpc(self):
        for user in (self.agent_a, self.internal, self.portal):
            with (
                self.subTest(user=user.login),
                mute_logger(XMLRPC_LOGGER, "odoo.http"),
                self.assertRaises(xmlrpc.client.Fault) as caught,
            ):
                self._upload(user, self.bare)
            self.assertRegex(caught.exception.faultString, "(?i)access|not allowed")
        # not through the model's private methods either
        for method in ("_upload_audio", "_set_audio_stream", "_set_audio_bytes"):
            with (
                self.subTest(method=method),
                mute_logger(XMLRPC_LOGGER, "odoo.http"),
                self.assertRaises(xmlrpc.client.Fault) as caught,
            ):
                self._xmlrpc(self.agent_a, "call.recording", method, [self.bare.id], self.wav_b64)
            self.assertIn("private", caught.exception.faultString.lower())
        self.assertEqual(self.bare.recording_status, "none")
        self.assertFalse(self._attachments(self.bare))

    def test_agent_refused_even_through_the_model(self):
        """The check is on the server, not in the view: an agent's own call is refused."""
        with self.assertRaises(AccessError):
            self.bare.with_user(self.agent_a)._check_audio_upload()
        wizard = self.env["call.recording.upload"].create(
            {"call_id": self.bare.id, "audio_file": self.wav_b64}
        )
        with self.assertRaises(AccessError):
            wizard.with_user(self.agent_a).action_upload()
        self.assertEqual(self.bare.recording_status, "none")

    def test_other_company_refused(self):
        with mute_logger(XMLRPC_LOGGER, "odoo.http"), self.assertRaises(xmlrpc.client.Fault):
            self._upload(self.manager_b, self.bare)
        self.assertEqual(self.bare.recording_status, "none")

    def test_refused_calls(self):
        held = self._call(self.agent_a, "+36301117778")
        self.env["call.recording.hold"].create({"name": "Dispute", "call_ids": [(6, 0, held.ids)]})
        consent_line = self.env["call.recording.line"].create(
            {
                "name": "Newsroom",
                "number": "+3615550200",
                "policy": "consent",
                "company_id": self.company.id,
            }
        )
        self.assertTrue(consent_line)
        refused = self._call(self.agent_a, "+36301117779", callee_number="+3615550200")
        refused.action_consent_refused()
        self.env["call.recording.line"].create(
            {
                "name": "Internal",
                "number": "+3615550300",
                "policy": "none",
                "company_id": self.company.id,
            }
        )
        not_recorded = self._call(self.agent_a, "+36301117780", callee_number="+3615550300")
        self.assertEqual(not_recorded.legal_basis, "none")
        purged = self._call(self.agent_a, "+36301117781", audio=True)
        # its term is over (only the system dates it)
        evidence.writer(purged).write({"retention_date": "2020-01-01"})
        purged._purge_audio(rule="retention")
        self.assertEqual(purged.recording_status, "purged")
        cases = {
            "legal hold": held,
            "consent refused": refused,
            "not recorded": not_recorded,
            "already recorded": self.call_a,
            "deleted": purged,
        }
        for label, call in cases.items():
            sha = call.audio_sha256
            attachments = self._attachments(call)
            with (
                self.subTest(label),
                mute_logger(XMLRPC_LOGGER, "odoo.http"),
                self.assertRaises(xmlrpc.client.Fault) as caught,
            ):
                self._upload(self.manager, call)
            self.assertIn(call.name, caught.exception.faultString)
            self.assertEqual(call.audio_sha256, sha)
            self.assertEqual(self._attachments(call), attachments)

    def test_not_audio_is_refused_and_nothing_stored(self):
        page = base64.b64encode(b"<html><script>alert(1)</script></html>" * 20).decode()
        with self.assertRaises(UserError):
            wizard = (
                self.env["call.recording.upload"]
                .with_user(self.manager)
                .create({"call_id": self.bare.id, "audio_file": page, "audio_filename": "x.wav"})
            )
            wizard.action_upload()
        self.assertEqual(self.bare.recording_status, "none")
        self.assertFalse(self._attachments(self.bare))

    def test_pending_download_completed_by_hand(self):
        evidence.writer(self.bare).write(
            {"recording_status": "failed", "import_error": "404", "import_attempts": 8}
        )
        wizard = (
            self.env["call.recording.upload"]
            .with_user(self.manager)
            .create({"call_id": self.bare.id, "audio_file": self.wav_b64})
        )
        wizard.action_upload()
        self.assertEqual(self.bare.recording_status, "available")
        self.assertFalse(self.bare.import_error)
        self.assertEqual(self.bare.import_attempts, 0)

    def test_wizard_of_another_manager_is_not_readable(self):
        wizard = (
            self.env["call.recording.upload"]
            .with_user(self.manager)
            .create({"call_id": self.bare.id, "audio_file": self.wav_b64})
        )
        other = self._user("cr_manager_2", "call_recording.group_call_recording_manager")
        with self.assertRaises(AccessError):
            wizard.with_user(other).read(["audio_file"])
