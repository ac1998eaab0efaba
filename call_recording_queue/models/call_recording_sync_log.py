from odoo import fields, models


class CallRecordingSyncLog(models.Model):
    _inherit = "call.recording.sync.log"

    trigger = fields.Selection(
        selection_add=[("job", "Queued job")],
        ondelete={"job": lambda logs: logs.write({"trigger": "cron"})},
    )
