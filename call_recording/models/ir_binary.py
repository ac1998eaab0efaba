from odoo import models
from odoo.exceptions import AccessError

#: Context value by which the audio route (only) streams a recording: a
#: private object, which no client can put in a context (see evidence.py).
AUDIO_ROUTE = object()


class IrBinary(models.AbstractModel):
    _inherit = "ir.binary"

    def _record_to_stream(self, record, field_name):
        """Refuse recordings on the generic ``/web/content`` routes.

        Recordings are served by ``/call_recording/<id>/audio`` only, which
        checks access on the call and logs every play and download; the
        generic routes would let a reader of the call bypass the log.
        """
        # sudo: only the attachment's own link is read, to refuse it.
        if self.env.context.get("call_recording_audio_route") is not AUDIO_ROUTE and (
            (record._name == "call.recording" and field_name == "audio")
            or (
                record._name == "ir.attachment"
                and record.sudo().res_model == "call.recording"
                and record.sudo().res_field == "audio"
            )
        ):
            raise AccessError(
                self.env._("Recordings can only be played or downloaded from their call.")
            )
        return super()._record_to_stream(record, field_name)
