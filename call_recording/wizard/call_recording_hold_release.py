from odoo import fields, models


class CallRecordingHoldRelease(models.TransientModel):
    """Ask why a legal hold is released: the reason is kept with the hold."""

    _name = "call.recording.hold.release"
    _description = "Release a Legal Hold"

    hold_ids = fields.Many2many("call.recording.hold", required=True)
    reason = fields.Char(required=True)

    def action_release(self):
        self.hold_ids.action_release(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}
