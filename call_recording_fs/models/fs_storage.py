from odoo import models
from odoo.exceptions import AccessError, UserError

#: What a storage of the recordings keeps: the calls' audio field, the
#: requests' hand-over packages (their model).
AUDIO_FIELD = "call_recording.field_call_recording__audio"
PACKAGE_MODEL = "call_recording.model_call_recording_request"


class FsStorage(models.Model):
    _inherit = "fs.storage"

    def _check_system(self):
        # Storages hold credentials and decide where evidence lives: for
        # the settings administrators only, whatever the caller's context.
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only administrators may configure the storage of recordings.")
            )

    def action_store_call_recordings(self):
        """Keep new recordings and hand-over packages in this storage (and nothing else of Odoo's).

        Content-addressed keys (``ab/cd/<sha1>``) without the attachment's
        name in them, as the suite stores identical content once.
        """
        self._check_system()
        self.ensure_one()
        self.write(
            {
                "field_xmlids": AUDIO_FIELD,
                "model_xmlids": PACKAGE_MODEL,
                "optimizes_directory_path": True,
                "use_filename_obfuscation": True,
                "use_as_default_for_attachments": False,
            }
        )
        return True

    def action_move_call_recordings(self):
        """Start moving the recordings kept in the filestore here (in the background)."""
        self._check_system()
        self.ensure_one()
        Files = self.env["call.recording.file"]
        if Files._object_storage_code("call.recording", "audio") != self.code:
            raise UserError(
                self.env._("%(name)s does not keep the recordings.", name=self.display_name)
            )
        cron = self.env.ref("call_recording_fs.ir_cron_move_to_object_storage")
        cron.active = True
        cron._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": self.env._(
                    "The recordings are being moved in the background; the scheduled "
                    "action shows the progress."
                ),
            },
        }
