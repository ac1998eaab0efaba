from odoo import models
from odoo.exceptions import AccessError


class IrBinary(models.AbstractModel):
    _inherit = "ir.binary"

    def _record_to_stream(self, record, field_name):
        """Refuse recordings on the generic ``/web/content`` routes.

        Recordings are served by ``/call_recording/<id>/audio`` only, which
        checks access on the call and logs every play and download; the
        generic routes would let a reader of the call bypass the log.
        """
        if not self.env.context.get("call_recording_audio_route") and (
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
