import random
from datetime import timedelta

from odoo import api, fields, models

from ..lib import audio as audio_lib

#: (number as the provider sends it, demo partner xml id or None)
_DEMO_NUMBERS = [
    ("06301234567", "partner_demo_napfeny_toth"),
    ("+3652123456", "partner_demo_napfeny"),
    ("36209876543", "partner_demo_duna_kiss"),
    ("+36 96 555 010", "partner_demo_duna"),
    ("+36702223344", "partner_demo_horvath"),
    ("0612345678", "partner_demo_molnar"),
    ("004930901820", "partner_demo_berlin"),
    ("+3617778899", None),  # two customers: ambiguous
    ("+36305550199", None),  # nobody's number
    ("anonymous", None),
]


class CallRecording(models.Model):
    _inherit = "call.recording"

    @api.model
    def _demo_set_languages(self):
        """The Hungarian staff and customers in Hungarian when it is installed.

        ``scripts/demo`` loads English and Hungarian; a database without
        Hungarian (e.g. the tests') keeps everyone in its only language.
        """
        if not self.env["res.lang"]._get_data(code="hu_HU").active:
            return False
        xmlids = [
            "call_recording.user_demo_manager",
            "call_recording.user_demo_agent1",
            "call_recording.user_demo_agent2",
            *(f"call_recording.{xmlid}" for _n, xmlid in _DEMO_NUMBERS if xmlid),
            "call_recording.partner_demo_shared_a",
            "call_recording.partner_demo_shared_b",
        ]
        for xmlid in xmlids:
            record = self.env.ref(xmlid, raise_if_not_found=False)
            if not record:
                continue
            partner = record.partner_id if record._name == "res.users" else record
            if record._name == "res.partner" and partner.country_id.code != "HU":
                continue
            partner.lang = "hu_HU"
        return True

    @api.model
    def _demo_generate_calls(self, count=36, seed=2026):
        """Create demo calls over the last weeks, with short generated audio.

        The first calls are of today, so that agents find calls of theirs
        when they log in; answered calls get an outcome, some a tag.
        """
        rng = random.Random(seed)
        outcomes = self.env["call.recording.outcome"].search([], limit=20)
        tags = self.env["call.recording.tag"].search([], limit=20)
        agents = [
            self.env.ref("call_recording.user_demo_agent1", raise_if_not_found=False)
            or self.env.user,
            self.env.ref("call_recording.user_demo_agent2", raise_if_not_found=False)
            or self.env.user,
        ]
        company = self.env.ref("base.main_company")
        lines = ["+36 1 555 0100", "+36 1 555 0100", "+36 1 555 0200"]
        now = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        calls = self.browse()
        for index in range(count):
            number, _xmlid = _DEMO_NUMBERS[index % len(_DEMO_NUMBERS)]
            direction = rng.choice(["inbound"] * 3 + ["outbound"] * 2 + ["internal"])
            if direction == "internal":
                number = rng.choice(["101", "102", "205"])
            state = rng.choice(["answered"] * 6 + ["missed", "voicemail", "busy"])
            line = lines[index % len(lines)]
            if direction == "inbound":
                caller, callee = number, line
            else:
                caller, callee = line, number
            start = now - timedelta(
                days=rng.randint(0, 34), hours=rng.randint(0, 9), minutes=rng.randint(0, 59)
            )
            if start.weekday() >= 5:
                start -= timedelta(days=2)
            if index < 4:
                start = fields.Datetime.now() - timedelta(minutes=25 * (index + 1))
            seconds = rng.randint(4, 14) if state in ("answered", "voicemail") else 0
            call = self.create(
                {
                    "direction": direction,
                    "state": state,
                    "caller_number": caller,
                    "callee_number": callee,
                    "start_datetime": start,
                    "duration": seconds,
                    "user_id": agents[index % 2].id,
                    "company_id": company.id,
                    "outcome_id": rng.choice(outcomes).id
                    if outcomes and state == "answered" and direction != "internal"
                    else False,
                    "tag_ids": [(6, 0, rng.choice(tags).ids)] if tags and index % 5 == 1 else [],
                }
            )
            if call.legal_basis == "consent" and call.consent_state == "not_asked" and seconds:
                if index % 4 == 2:
                    call._refuse_consent(source="agent")
                    seconds = 0
                else:
                    # sudo: demo data, noted as the call's agent would.
                    call.with_user(call.user_id).sudo().action_consent_given()
            if seconds and call.legal_basis != "none" and call.consent_state != "refused":
                call._set_audio_bytes(audio_lib.synth_call_wav(seconds, seed=index))
            calls |= call
        return calls
