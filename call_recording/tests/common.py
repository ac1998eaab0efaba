from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase

from odoo.addons.call_recording.lib.audio import synth_call_wav


class CallRecordingCommon(TransactionCase):
    """Two companies, their agents and managers, a portal user, and calls.

    ``call_a`` is agent A's call and ``call_b`` agent B's (both in
    ``company``, both with audio); ``call_other`` is in ``company_b``.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        hu = cls.env.ref("base.hu")
        cls.company = cls.env["res.company"].create(
            {"name": "Ügyfélszolgálat Kft.", "country_id": hu.id}
        )
        cls.company_b = cls.env["res.company"].create(
            {"name": "Másik Cég Zrt.", "country_id": hu.id}
        )
        cls.agent_a = cls._user("cr_agent_a", "call_recording.group_call_recording_user")
        cls.agent_b = cls._user("cr_agent_b", "call_recording.group_call_recording_user")
        cls.manager = cls._user(
            "cr_manager", "call_recording.group_call_recording_manager,base.group_allow_export"
        )
        cls.manager_b = cls._user(
            "cr_manager_b", "call_recording.group_call_recording_manager", company=cls.company_b
        )
        cls.portal = cls._user("cr_portal", "base.group_portal")
        cls.internal = cls._user("cr_internal", "base.group_user")

        cls.customer = cls.env["res.partner"].create(
            {"name": "Tóth Gábor", "phone": "06 30 901 2345", "country_id": hu.id}
        )
        cls.audio_bytes = synth_call_wav(2, seed=1)
        cls.call_a = cls._call(cls.agent_a, "+36309012345", audio=True)
        cls.call_b = cls._call(cls.agent_b, "+36309012345", audio=True)
        cls.call_other = cls._call(cls.manager_b, "+36309012345", company=cls.company_b, audio=True)

    @classmethod
    def _user(cls, login, groups, company=None):
        company = company or cls.company
        return new_test_user(
            cls.env,
            login=login,
            password=login,
            groups=groups,
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

    @classmethod
    def _call(cls, agent, number, company=None, audio=False, **vals):
        company = company or cls.company
        call = cls.env["call.recording"].create(
            {
                "direction": "inbound",
                "caller_number": number,
                "callee_number": "+3615550100",
                "duration": 2,
                "user_id": agent.id,
                "company_id": company.id,
                **vals,
            }
        )
        if audio:
            call._set_audio_bytes(cls.audio_bytes)
        return call
