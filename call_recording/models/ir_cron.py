from odoo import models

from .call_recording_purge import MANUAL_RUN


class IrCron(models.Model):
    _inherit = "ir.cron"

    def method_direct_trigger(self):
        """*Run Manually*: the job runs as its own (system) user, and what it
        deletes names the person who pressed the button in the purge log."""
        person = getattr(MANUAL_RUN, "person", None)
        MANUAL_RUN.person = self.env.uid
        try:
            return super().method_direct_trigger()
        finally:
            MANUAL_RUN.person = person
