from odoo.tests import HttpCase, tagged

from .common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestAgentTour(HttpCase, CallRecordingCommon):
    def test_agent_plays_customer_call(self):
        """In Chromium: an agent opens a customer, its calls, and plays one."""
        self.agent_a.name = "Tour Agent A"
        self.agent_b.name = "Tour Agent B"
        self.start_tour(
            f"/odoo/res.partner/{self.customer.id}",
            "call_recording_agent_tour",
            login=self.agent_a.login,
        )
        logs = self.env["call.recording.access.log"].search([("call_id", "=", self.call_a.id)])
        self.assertEqual(logs.mapped("access_type"), ["play"])
        self.assertEqual(logs.user_id, self.agent_a)
