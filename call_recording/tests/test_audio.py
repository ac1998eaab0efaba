import base64
import hashlib
import io
import os

from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models import evidence

from .common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestAudioStorage(CallRecordingCommon):
    def test_audio_kept_with_checksum(self):
        call = self.call_a
        attachment = call._get_audio_attachment()
        data = self.audio_bytes
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(call.audio_sha256, hashlib.sha256(data).hexdigest())
        self.assertEqual(call.audio_size, len(data))
        self.assertEqual(call.audio_mimetype, "audio/wav")
        self.assertEqual(attachment.mimetype, "audio/wav")
        self.assertEqual(attachment.checksum, hashlib.sha1(data, usedforsecurity=False).hexdigest())
        self.assertEqual(attachment.file_size, len(data))
        self.assertEqual(attachment.raw, data)
        self.assertEqual(attachment.res_field, "audio")
        self.assertTrue(call.audio_filename.startswith(call.name.replace("/", "-")))
        self.assertTrue(call.audio_filename.endswith(".wav"))
        path = attachment._full_path(attachment.store_fname)
        self.assertTrue(os.path.isfile(path))
        self.assertFalse(
            [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".part")],
            "no temporary file is left behind",
        )

    def test_stream_in_chunks(self):  # pylint: disable=missing-return
        """A stream is stored chunk by chunk, with the same result."""
        data = synth_call_wav(3, seed=7)

        class Trickle(io.BytesIO):
            reads = 0

            def read(self, size=-1):
                Trickle.reads += 1
                return super().read(min(size, 1000) if size and size > 0 else 1000)

        call = self._call(self.agent_a, "+36301234567")
        call._set_audio_stream(Trickle(data))
        self.assertGreater(Trickle.reads, 10)
        self.assertEqual(call._get_audio_attachment().raw, data)
        self.assertEqual(call.audio_sha256, hashlib.sha256(data).hexdigest())

    def test_replace_audio(self):
        call = self.call_a
        old = call._get_audio_attachment()
        new_data = synth_call_wav(1, seed=99)
        call._set_audio_bytes(new_data)
        self.assertFalse(old.exists())
        self.assertEqual(call._get_audio_attachment().raw, new_data)
        self.assertEqual(call.audio_sha256, hashlib.sha256(new_data).hexdigest())

    def test_system_writes_audio_field(self):
        """Writing the binary field (the system only) goes through the same checks
        and metadata; no one else writes it, not even a bare superuser."""
        call = self._call(self.agent_a, "+36301234567")
        with self.assertRaises(AccessError):
            call.sudo().write({"audio": base64.b64encode(self.audio_bytes)})
        self.assertEqual(call.recording_status, "none")
        evidence.writer(call).write({"audio": base64.b64encode(self.audio_bytes)})
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(call.audio_sha256, hashlib.sha256(self.audio_bytes).hexdigest())
        self.assertEqual(base64.b64decode(call.audio), self.audio_bytes)

    def test_not_audio_refused(self):
        call = self._call(self.agent_a, "+36301234567")
        for data in (b"<html><script>alert(1)</script></html>", b"%PDF-1.7 ...", b"MZ\x90\x00"):
            with self.subTest(data=data[:8]), self.assertRaises(UserError):
                call._set_audio_bytes(data)
        self.assertEqual(call.recording_status, "none")
        self.assertFalse(call._get_audio_attachment())

    def test_size_limit(self):
        self.env["ir.config_parameter"].sudo().set_param("call_recording.max_audio_mb", "1")
        call = self._call(self.agent_a, "+36301234567")
        big = synth_call_wav(70, seed=3)  # 8 kHz, 16-bit: about 1.1 MB
        self.assertGreater(len(big), 1024 * 1024)
        with self.assertRaisesRegex(UserError, "larger than the limit"):
            call._set_audio_bytes(big)
        self.assertFalse(call._get_audio_attachment())
        call._set_audio_bytes(synth_call_wav(5, seed=3))
        self.assertEqual(call.recording_status, "available")

    def test_delete_call_deletes_audio(self):
        call = self.call_b
        attachment = call._get_audio_attachment()
        with freeze_time("2040-01-01"):  # past the recording's retention
            call.sudo().unlink()
        self.assertFalse(attachment.exists())

    def test_remove_audio_keeps_call(self):
        call = self.call_b
        attachment = call._get_audio_attachment()
        with freeze_time("2040-01-01"):  # past the recording's retention
            call._purge_audio()
        self.assertFalse(attachment.exists())
        self.assertTrue(call.exists())
        self.assertEqual(call.recording_status, "purged")
        self.assertFalse(call.audio_url)
        self.assertFalse(call.audio_sha256)

    def test_same_audio_twice_shares_file(self):
        other = self._call(self.agent_b, "+36301234567", audio=True)
        first = self.call_a._get_audio_attachment()
        second = other._get_audio_attachment()
        self.assertNotEqual(first, second)
        self.assertEqual(first.store_fname, second.store_fname)
        first.unlink()
        self.assertEqual(second.raw, self.audio_bytes)
