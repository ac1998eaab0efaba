from odoo import models


class CallRecordingRequest(models.Model):
    _inherit = "call.recording.request"

    def action_add_all_calls(self):
        """Recordings kept on an export server are the customer's too (fetched back)."""
        res = super().action_add_all_calls()
        for request in self:
            request.call_ids |= self.env["call.recording"].search(
                [
                    ("commercial_partner_id", "=", request.commercial_partner_id.id),
                    ("company_id", "=", request.company_id.id),
                    ("recording_status", "=", "remote"),
                ]
            )
        return res
