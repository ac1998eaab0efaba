"""The FTP export and its fetch-back with the recordings in object storage.

``call_recording_ftp``'s own tests run again (its add-on is installed with
the suite, as ``scripts/test`` does): the export reads the recordings from
the bucket, the fetch-back stores them there again.
"""

import hashlib

from odoo.tests import tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording_ftp.tests import test_export, test_remote_audio

from .common import ObjectStorageMixin


@tagged("post_install", "-at_install")
class TestExportOnObjectStorage(ObjectStorageMixin, test_export.TestExport):
    pass


@tagged("post_install", "-at_install")
class TestRemoteAudioOnObjectStorage(ObjectStorageMixin, test_remote_audio.TestRemoteAudio):
    def test_local_file_goes_once_committed_and_comes_back(self):
        """The original checks a path in the filestore; here the object in the bucket."""
        data = synth_call_wav(2, seed=4242)
        call = self._call(self.agent_a, "+36301112244")
        call._set_audio_bytes(data)  # an object of its own
        key = self._key(call._get_audio_attachment())
        self.target_sftp.remove_local_audio = True
        self.target_sftp._run()
        self.assertEqual(call.recording_status, "remote")
        self.assertEqual(self._object(key), data, "kept until the removal is committed")
        self._after_commit()
        self.assertIsNone(self._object(key), "deleted from the bucket once committed")
        fetched = call._get_playable_audio_attachment().sudo()
        self.assertEqual(self._key(fetched), key, "fetched back into the bucket")
        self.assertEqual(hashlib.sha256(self._object(key)).hexdigest(), call.audio_sha256)
