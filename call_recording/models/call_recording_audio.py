"""The recording of a call: stored, replaced, removed, named.

Every way a recording arrives (the import, the Push API, an upload, the
fetch-back from an export server) ends in :meth:`_set_audio_stream` or,
batched, :meth:`_attach_stored_audio`: the bytes go through
``call.recording.file`` (the one home of recording files), the metadata
(type, size, SHA-256) is written as evidence.  Whether a recording may
be kept at all is the consent rule of ``call_recording.py``
(``_may_keep_audio``); serving it is ``controllers/main.py``, and every
listen is logged by ``call_recording_access_log.py``.
"""

import io

from odoo import api, models
from odoo.exceptions import UserError

from ..lib import audio as audio_lib
from ..lib.files import FileRefused
from ..lib.safe import safe_filename
from . import evidence


class CallRecording(models.Model):
    _inherit = "call.recording"

    def _audio_download_name(self, mimetype=None):
        """The recording's file name: reference, direction and number, made safe
        (a number such as ``../../x`` from a provider stays a plain name)."""
        self.ensure_one()
        ext = audio_lib.AUDIO_EXTENSIONS.get(mimetype or self.audio_mimetype, "bin")
        number = self.external_number_e164 or self.external_number or ""
        parts = [self.name.replace("/", "-"), self.direction, number.replace("+", "")]
        name = "_".join(safe_filename(p, default="") for p in parts if p)
        return safe_filename(f"{name}.{ext}", default=f"recording.{ext}")

    def _audio_attachments(self):
        """The audio attachments of these calls."""
        # sudo: the audio attachment is readable by administrators only;
        # callers check access on the call before they get here.
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    ("res_field", "=", "audio"),
                ]
            )
        )

    def _get_audio_attachment(self):
        self.ensure_one()
        return self._audio_attachments()[:1]

    def _get_playable_audio_attachment(self):
        """The attachment the audio route serves, made available if need be.

        Here simply the stored audio; add-ons that move recordings
        elsewhere (e.g. call_recording_ftp) bring them back here.  Access
        is checked by the caller.
        """
        self.ensure_one()
        return self._get_audio_attachment()

    @api.model
    def _max_audio_size(self):
        # sudo: a size limit, not a secret; every importer needs it.
        megabytes = int(
            self.env["ir.config_parameter"].sudo().get_param("call_recording.max_audio_mb", 200)
        )
        return megabytes * 1024 * 1024

    def _set_audio_bytes(self, data, filename=None):
        """Store a recording given as bytes; empty data removes the audio (logged)."""
        if not data:
            return self._purge_audio(rule="manual", status="none")
        return self._set_audio_stream(io.BytesIO(data), filename=filename)

    def _set_audio_stream(self, stream, filename=None):
        """Store a recording read from a file object, without loading it whole.

        The data is spooled in chunks with its fingerprints, its type
        (from its bytes) and size are checked, and it is stored as the
        call's audio attachment (``call.recording.file``, the one home of
        recording files).  Replaces any earlier audio.
        """
        self.ensure_one()
        self._check_audio_allowed()
        Files = self.env["call.recording.file"]
        try:
            spooled = Files._receive(
                stream, max_size=self._max_audio_size(), sniff=audio_lib.audio_mimetype
            )
        except FileRefused as exc:
            raise UserError(self._audio_refused_message(exc)) from exc
        with spooled:
            return self._attach_stored_audio([spooled], filename=filename)

    def _audio_refused_message(self, error):
        """Why the data given as this call's recording is not one (type, size)."""
        self.ensure_one()
        return self.env._(
            "The recording of %(call)s was refused: %(reason)s", call=self.name, reason=error
        )

    def _attach_stored_audio(self, spooled_list, filename=None, gc_marked=False):
        """Make spooled recordings (``call.recording.file._receive``) the audio of these calls.

        The batched end of :meth:`_set_audio_stream` (the import stores
        several downloads at once): ``spooled_list`` holds one ``Spooled``
        per call of ``self``, in order, already allowed by
        :meth:`_check_audio_allowed`.  Earlier audio is replaced (logged
        when it differs); the attachments are created in one go by
        ``call.recording.file._store_many`` (``gc_marked``: see there).
        """
        assert len(self) == len(spooled_list)
        Files = self.env["call.recording.file"]
        # a call still waiting for its recording has no attachment to replace
        replacing = self.filtered(lambda c: c.recording_status not in ("none", "pending", "failed"))
        for call, spooled in zip(self, spooled_list, strict=True):
            if call in replacing and call.audio_sha256 and call.audio_sha256 != spooled.sha256:
                call._log_replaced_audio()  # the purge log names who replaced it
        Files._delete(replacing._audio_attachments())
        names = [
            (filename and safe_filename(filename)) or call._audio_download_name(spooled.mimetype)
            for call, spooled in zip(self, spooled_list, strict=True)
        ]
        attachments = Files._store_many(
            spooled_list,
            [
                {"name": name, "res_model": self._name, "res_id": call.id, "res_field": "audio"}
                for call, name in zip(self, names, strict=True)
            ],
            gc_marked=gc_marked,
        )
        self.invalidate_recordset(["audio"])
        for call, spooled, name in zip(self, spooled_list, names, strict=True):
            # The recording's metadata is evidence, set by the system from
            # the data just stored.
            evidence.writer(call).write(
                {
                    "recording_status": "available",
                    "audio_filename": name,
                    "audio_mimetype": spooled.mimetype,
                    "audio_size": spooled.size,
                    "audio_sha256": spooled.sha256,
                }
            )
        return attachments[:1] if len(self) == 1 else attachments

    def _remove_audio(self, status="none"):
        """Delete the audio of these calls; the calls and their metadata stay.

        The files go once the deletion is committed (``call.recording.file``).
        """
        self.env["call.recording.file"]._delete(self._audio_attachments())
        self.invalidate_recordset(["audio"])
        # As in _set_audio_stream, the status is the system's to set.
        evidence.writer(self).write(
            {
                "recording_status": status,
                "audio_size": 0,
                "audio_sha256": False,
                "audio_mimetype": False,
                "audio_filename": False,
            }
        )
        return True

    def action_download_audio(self):
        self.ensure_one()
        if not self.has_audio:
            raise UserError(self.env._("This call has no recording to download."))
        return {
            "type": "ir.actions.act_url",
            "url": f"/call_recording/{self.id}/audio?download=1",
            "target": "self",
        }
