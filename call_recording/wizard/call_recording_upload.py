import base64
import binascii
import io

from odoo import fields, models
from odoo.exceptions import UserError


class CallRecordingUpload(models.TransientModel):
    """Add a recording to a call by hand (managers and administrators).

    The file is kept in this wizard's own column, never as an attachment
    (an ordinary attachment would be a copy outside the access log and the
    purge), and emptied once the call has stored it.
    """

    _name = "call.recording.upload"
    _description = "Upload a Call Recording"

    call_id = fields.Many2one("call.recording", required=True, ondelete="cascade")
    audio_file = fields.Binary(string="Recording", attachment=False)
    audio_filename = fields.Char(string="File Name")

    def action_upload(self):
        self.ensure_one()
        call = self.call_id
        # Checked before the file is even decoded: group, access, policy.
        call._check_audio_upload()
        try:
            data = base64.b64decode(
                self.with_context(bin_size=False).audio_file or b"", validate=True
            )
        except (binascii.Error, ValueError) as exc:
            raise UserError(self.env._("The file could not be read.")) from exc
        if not data:
            raise UserError(self.env._("The file is empty."))
        call._upload_audio(io.BytesIO(data), original_name=self.audio_filename)
        self.write({"audio_file": False})
        return {"type": "ir.actions.act_window_close"}
