import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from odoo.addons.call_recording.models import evidence

from ..lib.errors import TransferError

_logger = logging.getLogger(__name__)


class CallRecording(models.Model):
    _inherit = "call.recording"

    recording_status = fields.Selection(
        selection_add=[("remote", "On Export Server")],
        ondelete={"remote": "set default"},
    )
    export_ids = fields.One2many(
        "call.recording.export",
        "call_id",
        string="Exports",
        groups="call_recording.group_call_recording_manager",
    )

    def _evidence_fields(self):
        """The exports of a call are the system's (see the core's ``evidence.py``)."""
        return super()._evidence_fields() | {"export_ids"}

    @api.depends("recording_status")
    def _compute_audio_url(self):  # pylint: disable=missing-return
        super()._compute_audio_url()
        for call in self.filtered(lambda c: c.recording_status == "remote"):
            call.has_audio = True
            call.audio_url = f"/call_recording/{call.id}/audio" if call.id else False

    # ------------------------------------------------------------------
    # Local audio removed after a verified export, and fetched back
    # ------------------------------------------------------------------

    def _move_audio_to_export_server(self):
        """Remove the local audio of calls verified on an export server.

        Not a deletion of the recording (a verified copy is kept), so the
        retention rules that guard deletions do not apply; the checksum,
        size and type stay on the call for the fetch-back.
        """
        # the files go once this is committed (the core's call.recording.file)
        self.env["call.recording.file"]._delete(self._audio_attachments())
        self.invalidate_recordset(["audio"])
        # The recording's status is the system's to set.
        evidence.writer(self).write({"recording_status": "remote"})

    def _get_playable_audio_attachment(self):
        attachment = super()._get_playable_audio_attachment()
        if attachment or self.recording_status != "remote":
            return attachment
        return self._fetch_back_audio()

    def _fetch_back_audio(self):
        """Bring the audio back from an export server, verified, and store it again.

        The next run of a target that removes local audio removes it again.
        Returns the new attachment, or an empty recordset if no server had it.
        """
        self.ensure_one()
        # sudo: access to the call was checked by the caller; the export
        # records and the credentials are the system's.
        call = self.sudo()
        exports = call.export_ids.filtered(
            lambda e: e.state == "done" and e.sha256 == call.audio_sha256
        ).sorted("exported_date", reverse=True)
        for export in exports:
            try:
                with export._fetch_back() as stream:
                    attachment = call._set_audio_stream(stream, filename=call.audio_filename)
            except (TransferError, UserError) as exc:
                _logger.warning(
                    "Fetching %s back from %s failed: %s", call.name, export.target_id.name, exc
                )
                export.last_error = str(exc)
                continue
            export.fetched_date = fields.Datetime.now()
            _logger.info("Fetched %s back from %s", call.name, export.target_id.name)
            return attachment
        return self.env["ir.attachment"]

    def _held_now(self):
        """Those of these calls on legal hold now (searched, never a cached value)."""
        if not self:
            return self
        return self.search([("id", "in", self.ids), ("legal_hold", "=", True)])

    # ------------------------------------------------------------------
    # Compliance: deletions reach the export servers
    # ------------------------------------------------------------------

    def unlink(self):
        # The call's data go: the paths of its copies already deleted from the
        # servers (which may name the other party) go with them.
        # sudo: export records are the system's.
        self.sudo().export_ids.filtered(lambda e: e.state in ("deleted", "cancelled")).write(
            {"remote_path": False}
        )
        return super().unlink()

    def _remove_audio(self, status="none"):
        res = super()._remove_audio(status=status)
        if status in ("refused", "purged", "no_consent"):
            self._queue_remote_deletion(status)
        return res

    def _queue_remote_deletion(self, reason):
        """Have the copies on export servers deleted by the next runs (and logged there)."""
        # sudo: export records are the system's.
        exports = self.sudo().export_ids
        exports.filtered(lambda e: e.state in ("pending", "failed")).write(
            {"state": "cancelled", "last_error": False}
        )
        exports.filtered(lambda e: e.state == "done").write(
            {"state": "to_delete", "delete_reason": reason}
        )

    @api.model
    def _purge_due_domain(self):
        # The core's conditions, with recordings on an export server
        # expiring like local ones.
        today = fields.Date.context_today(self)
        return Domain(
            [
                ("retention_date", "<", today),
                ("recording_status", "in", ("available", "remote")),
                ("legal_hold", "=", False),
            ]
        )

    @api.model
    def _stored_audio_statuses(self):
        # a recording kept on an export server only is still kept
        return (*super()._stored_audio_statuses(), "remote")

    @api.model
    def _metadata_due_domain(self):
        # A call whose audio is on an export server still has a recording.
        return super()._metadata_due_domain() & Domain("recording_status", "!=", "remote")
