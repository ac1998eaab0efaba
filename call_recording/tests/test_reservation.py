"""The reference told to the caller, reserved when the call starts (issue 13),
and the agent's screen pop (issue 16): through the routes and RPC a PBX uses,
the providers' webhooks, and the web client."""

import base64
import json
from datetime import datetime, timedelta
from xmlrpc import client as xmlrpclib

import requests

from odoo.exceptions import UserError
from odoo.tests import HttpCase, freeze_time, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav

from .provider_common import CREDENTIALS, ProviderCommon
from .test_compliance import ComplianceCommon

CUSTOMER_NUMBER = "+36 30 444 1122"
SERVICE_LINE = "+36 1 555 0100"
NEWS_LINE = "+36 1 555 0200"
MUTED = ("odoo.addons.rpc.controllers.xmlrpc", "odoo.http", "odoo.sql_db")


def screen_pops(env, user=None):
    """The screen-pop notifications sent to ``user`` (its partner's bus channel),
    or to anybody, in order."""
    env.cr.precommit.run()  # the bus writes its notifications at commit
    env["bus.bus"].flush_model()
    found = []
    for row in env["bus.bus"].sudo().search([], order="id"):
        message = json.loads(row.message)
        if message.get("type") != "call_recording/call_start":
            continue
        if user is None or json.loads(row.channel)[1:] == ["res.partner", user.partner_id.id]:
            found.append(message["payload"])
    return found


class ReservationCommon(HttpCase):
    """An integration user with its key on a push account; helpers to reserve and push."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pbx_customer = cls._customer("Kiss Erzsébet", CUSTOMER_NUMBER)
        cls.integration = cls._user("cr_res_pbx", "call_recording.group_call_recording_integration")
        cls.push_account = cls._push_account("Office PBX (reservations)", cls.integration)
        # the agents' extensions on the PBX, linked once by an administrator
        for extension, agent in (("201", cls.agent_a), ("202", cls.agent_b)):
            cls._map_agent(cls.push_account, extension, agent, name=f"Extension {extension}")
        cls.db = get_db_name()

    def setUp(self):
        super().setUp()
        self.key = self._api_key(self.integration)

    def _api_key(self, user):
        return (
            self.env["res.users.apikeys"]
            .with_user(user)
            ._generate("rpc", "PBX", datetime.now() + timedelta(days=1))
        )

    def _post(self, path, key=None, **kwargs):
        headers = {"X-Odoo-Database": self.db, **kwargs.pop("headers", {})}
        if key is not False:
            headers["Authorization"] = f"Bearer {key or self.key}"
        self.env.flush_all()
        with self.allow_requests(all_requests=True), mute_logger("odoo.http"):
            response = requests.post(
                f"{self.base_url()}{path}", headers=headers, timeout=60, **kwargs
            )
        self.env.invalidate_all()
        return response.status_code, response.json()

    def reserve(self, key=None, as_json=False, **vals):
        fields = {"provider": self.push_account.id, **vals}
        if as_json:
            return self._post("/call_recording/reserve", key=key, json=fields)
        return self._post(
            "/call_recording/reserve", key=key, data={k: str(v) for k, v in fields.items()}
        )

    def reserve_call(self, external_id, **vals):
        """Reserve the reference of the customer's call to the service line
        (unless ``vals`` say otherwise): the answer (201) and the call."""
        vals = {"caller_number": CUSTOMER_NUMBER, "callee_number": SERVICE_LINE, **vals}
        status, body = self.reserve(external_id=external_id, **vals)
        self.assertEqual(status, 201, body)
        return body, self.call_of(external_id)

    def push(self, audio=None, **vals):
        fields = {"provider": self.push_account.id, "direction": "inbound", **vals}
        files = {"audio": ("call.wav", audio, "audio/wav")} if audio is not None else None
        return self._post(
            "/call_recording/push", data={k: str(v) for k, v in fields.items()}, files=files
        )

    def json2(self, model, method, key=None, **params):
        return self._post(f"/json/2/{model}/{method}", key=key, json=params)

    def call_of(self, external_id, provider=None):
        return (
            self.env["call.recording"]
            .sudo()
            .search(
                [
                    ("provider_id", "=", (provider or self.push_account).id),
                    ("external_id", "=", external_id),
                ]
            )
        )

    def pops(self, user):
        return screen_pops(self.env, user)

    def all_pops(self):
        return screen_pops(self.env)


@tagged("post_install", "-at_install")
class TestReservation(ReservationCommon, ComplianceCommon):
    def test_reserve_announce_then_push_keeps_the_reference(self):
        """Reserved at the start (announced), delivered at hang-up under the same reference."""
        first, call = self.reserve_call("1763627400.17", agent_external_id="201")
        self.assertEqual(first["reference"], call.name)
        self.assertEqual(first["result"], "created")
        # the IVR reads the line's announcement with the reference in it
        self.assertEqual(first["announcement"], f"A hívást rögzítjük, azonosítója: {call.name}.")
        self.assertIs(first["partner_matched"], True)
        self.assertNotIn("Kiss", json.dumps(first))
        self.assertTrue(call.reserved_date)
        self.assertTrue(call.awaiting_delivery)
        self.assertEqual(call.state, "in_progress")
        self.assertEqual(call.recording_status, "none")
        self.assertEqual(call.legal_basis, "legal")
        self.assertEqual(call.user_id, self.agent_a)
        self.assertEqual(call.partner_id, self.pbx_customer)

        # asked again (a retry, the IVR's second leg): the same reference, nothing new
        status, again = self.reserve(external_id="1763627400.17", as_json=True)
        self.assertEqual(
            (status, again["reference"], again["result"]), (200, call.name, "unchanged")
        )
        status, rpc = self.json2(
            "call.recording",
            "reserve_call",
            vals={"provider": self.push_account.id, "external_id": "1763627400.17"},
        )
        self.assertEqual((status, rpc["reference"]), (200, call.name))
        self.assertEqual(len(self.call_of("1763627400.17")), 1)

        # the PBX delivers the call at hang-up: the same call, the same reference
        audio = synth_call_wav(1, seed=131)
        delivery = {
            "external_id": "1763627400.17",
            "start": "2026-11-20T09:30:02+01:00",
            "duration": 42,
            "caller_number": CUSTOMER_NUMBER,
            "callee_number": SERVICE_LINE,
        }
        status, pushed = self.push(audio=audio, **delivery)
        self.assertEqual(status, 200, pushed)
        self.assertEqual((pushed["reference"], pushed["result"]), (call.name, "updated"))
        call.invalidate_recordset()
        self.assertCallImported(
            self.call_of("1763627400.17"),
            provider=self.push_account,
            audio=audio,
            name=call.name,
            awaiting_delivery=False,
            state="answered",
            start_datetime=datetime(2026, 11, 20, 8, 30, 2),
            duration=42,
        )
        self.assertTrue(call.reserved_date, "announced stays announced")
        # delivered again: the push's own idempotence
        status, again = self.push(audio=audio, **delivery)
        self.assertEqual((status, again["result"]), (200, "unchanged"))
        # ... and from now on its facts are fixed (a delivery that differs is a conflict)
        status, conflict = self.push(
            external_id="1763627400.17",
            start="2026-11-20T10:30:02+01:00",
            duration=42,
            caller_number=CUSTOMER_NUMBER,
            callee_number=SERVICE_LINE,
        )
        self.assertEqual((status, conflict["error"]), (409, "conflict"))

    def test_the_delivery_decides_the_line(self):
        """A reservation made before the PBX knew the line: the delivered call's line applies."""
        status, body = self.reserve(external_id="pbx-line-1", caller_number=CUSTOMER_NUMBER)
        self.assertEqual(status, 201, body)
        call = self.call_of("pbx-line-1")
        self.assertFalse(call.line_id)
        status, body = self.push(
            external_id="pbx-line-1",
            start="2026-11-20T09:30:00+01:00",
            caller_number=CUSTOMER_NUMBER,
            callee_number=NEWS_LINE,
        )
        self.assertEqual(status, 200, body)
        call.invalidate_recordset()
        self.assertEqual(call.line_id, self.news_line)
        self.assertEqual(call.legal_basis, "consent")
        self.assertEqual(body["reference"], call.name)

    @freeze_time("2026-06-01")
    def test_an_announced_reference_is_kept_until_its_date(self):
        """Even without audio, on a consent line, by an administrator, over RPC."""
        _body, call = self.reserve_call("pbx-keep-1", callee_number=NEWS_LINE)
        self.assertEqual(call.legal_basis, "consent")
        admin = self.env.ref("base.user_admin")
        admin.company_ids |= self.company
        with self.assertRaisesRegex(UserError, "announced"):
            call.with_user(admin).with_context(allowed_company_ids=self.company.ids).unlink()
        with self.assertRaisesRegex(UserError, "announced"):
            call.sudo().unlink()
        self.assertTrue(call.exists())
        # a call never announced on the same line may go by hand
        plain = self._line_call(NEWS_LINE, start="2026-05-01 09:00:00", audio=False)
        plain.sudo().unlink()
        self.assertFalse(plain.exists())

    def test_evidence_of_the_reservation_over_rpc(self):
        """Nobody sets or clears the announcement by hand; the reservation reads nothing back."""
        status, body = self.reserve(external_id="pbx-ev-1")
        self.assertEqual(status, 201, body)
        call = self.call_of("pbx-ev-1")
        common = self.xmlrpc_object
        for user in (self.manager, self.suite_admin_user()):
            for vals in (
                {"reserved_date": False},
                {"awaiting_delivery": False},
                {"name": "CR/FORGED/1"},
            ):
                with (
                    self.subTest(user=user.login, vals=vals),
                    mute_logger(*MUTED),
                    self.assertRaises(xmlrpclib.Fault),
                ):
                    common.execute_kw(
                        self.db,
                        user.id,
                        user.login,
                        "call.recording",
                        "write",
                        [call.ids, vals],
                    )
        call.invalidate_recordset()
        self.assertTrue(call.reserved_date and call.awaiting_delivery)
        # the integration user reserves, and reads nothing
        status, body = self.json2(
            "call.recording", "read", ids=call.ids, fields=["name", "partner_id"]
        )
        self.assertEqual(status, 403, body)

    def suite_admin_user(self):
        return self.env["res.users"].search([("login", "=", "cr_res_admin")]) or self._user(
            "cr_res_admin", "call_recording.group_call_recording_admin"
        )

    def test_who_may_reserve_and_clear_errors(self):
        status, body = self.reserve(external_id="pbx-auth-1", key=False)
        self.assertEqual((status, body["error"]), (401, "unauthorized"))
        status, body = self.reserve(external_id="pbx-auth-1", key="0" * 40)
        self.assertEqual((status, body["error"]), (401, "unauthorized"))
        status, body = self.reserve(external_id="pbx-auth-1", key=self._api_key(self.manager))
        self.assertEqual((status, body["error"]), (403, "forbidden"))
        # an account that does not list this user
        other = self.env["call.recording.provider"].create(
            {"name": "Branch PBX (reservations)", "provider_type": "push"}
        )
        status, body = self.reserve(external_id="pbx-auth-1", provider=other.id)
        self.assertEqual((status, body["error"]), (400, "validation"))
        self.assertIn("provider", body["errors"])
        # every wrong field at once
        status, body = self.reserve(
            external_id="", direction="sideways", start="yesterday", colour="red"
        )
        self.assertEqual(status, 400)
        self.assertEqual(set(body["errors"]), {"external_id", "direction", "start", "colour"}, body)
        status, body = self._post(
            "/call_recording/reserve",
            data=b"[1, 2]",
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual((status, body["error"]), (400, "validation"))
        self.assertFalse(self.call_of("pbx-auth-1"))
        # XML-RPC: the method is the integration users' only
        common = self.xmlrpc_object
        with mute_logger(*MUTED), self.assertRaises(xmlrpclib.Fault):
            common.execute_kw(
                self.db,
                self.agent_a.id,
                self.agent_a.login,
                "call.recording",
                "reserve_call",
                [{"provider": self.push_account.id, "external_id": "pbx-auth-2"}],
            )
        self.assertFalse(self.call_of("pbx-auth-2"))
        uid = self.xmlrpc_common.authenticate(self.db, self.integration.login, self.key, {})
        answer = common.execute_kw(
            self.db,
            uid,
            self.key,
            "call.recording",
            "reserve_call",
            [{"provider": self.push_account.id, "external_id": "pbx-auth-2"}],
        )
        self.env.invalidate_all()
        self.assertEqual(answer["reference"], self.call_of("pbx-auth-2").name)

    def test_the_provider_call_id_beside_the_reference(self):
        """Without a reservation the provider's id is kept, shown and searchable."""
        status, body = self.push(
            external_id="pbx-ext-77",
            start="2026-11-20T09:30:00+01:00",
            caller_number=CUSTOMER_NUMBER,
            callee_number=SERVICE_LINE,
        )
        self.assertEqual(status, 201, body)
        call = self.call_of("pbx-ext-77")
        self.assertFalse(call.reserved_date)
        Call = self.env["call.recording"].with_user(self.manager)
        self.assertEqual(Call.search([("external_id", "ilike", "ext-77")]), call)
        # the search view's reference field finds it by the provider's id too
        view = self.env.ref("call_recording.call_recording_view_search")
        self.assertIn("('external_id', 'ilike', self)", view.arch)
        self.assertEqual(
            call.with_user(self.manager).read(["external_id"])[0]["external_id"], "pbx-ext-77"
        )


@tagged("post_install", "-at_install")
class TestScreenPop(ReservationCommon, ComplianceCommon):
    """The agent whose call it is gets the pop; nobody else; no contact they may not read."""

    def test_reservation_pops_up_for_its_agent_only(self):
        _body, call = self.reserve_call("pbx-pop-1", agent_external_id="201")
        pops = self.pops(self.agent_a)
        self.assertEqual(len(pops), 1)
        self.assertEqual(
            pops[0],
            {
                "call_id": call.id,
                "reference": call.name,
                "direction": "inbound",
                "number": "+36 30 444 1122",
                "partner_id": self.pbx_customer.id,
                "partner_name": "Kiss Erzsébet",
            },
        )
        for other in (self.agent_b, self.manager, self.integration):
            self.assertEqual(self.pops(other), [], other.login)
        self.assertEqual(len(self.all_pops()), 1)
        # asked again: no second pop
        self.reserve(external_id="pbx-pop-1", agent_external_id="201")
        self.assertEqual(len(self.all_pops()), 1)

    def test_no_contact_for_an_agent_who_may_not_read_it(self):
        hidden = self.env["res.partner"].create(
            {
                "name": "Titkos Ügyfél Kft.",
                "phone": "+36 30 777 8899",
                "company_id": self.company_b.id,
            }
        )
        # the contact of company B matches only calls of company B
        account_b = self._push_account("PBX of company B", self.integration, company=self.company_b)
        self.integration.company_ids |= self.company_b
        agent_both = self._user("cr_res_agent_ab", "call_recording.group_call_recording_user")
        agent_both.company_ids |= self.company_b
        self._map_agent(account_b, "301", agent_both, name="Extension 301")
        status, body = self.reserve(
            provider=account_b.id,
            external_id="pbx-pop-b",
            caller_number="+36 30 777 8899",
            agent_external_id="301",
        )
        self.assertEqual(status, 201, body)
        call = self.call_of("pbx-pop-b", account_b)
        self.assertEqual(call.partner_id, hidden)
        self.assertEqual(call.user_id, agent_both)
        # the agent may read the call (theirs) but, in company A only, not the contact
        agent_both.company_id = self.company
        agent_both.company_ids = self.company
        call.sudo()._notify_call_start()
        payload = self.pops(agent_both)[-1]
        self.assertFalse(payload["partner_id"])
        self.assertFalse(payload["partner_name"])
        self.assertFalse(payload["call_id"], "a call of a company the agent left")
        self.assertNotIn("Titkos", json.dumps(payload))

    def test_no_pop_without_an_agent_then_when_one_is_named(self):
        status, body = self.reserve(external_id="pbx-pop-2", caller_number=CUSTOMER_NUMBER)
        self.assertEqual(status, 201, body)
        self.assertEqual(self.all_pops(), [])
        # the IVR put the call through: reserved again with the extension's agent
        status, body = self.reserve(external_id="pbx-pop-2", agent_external_id="202")
        self.assertEqual((status, body["result"]), (200, "updated"))
        self.assertEqual(self.call_of("pbx-pop-2").user_id, self.agent_b)
        self.assertEqual(len(self.pops(self.agent_b)), 1)
        self.assertEqual(self.pops(self.agent_a), [])

    def test_screen_pop_tour(self):
        """The agent's web client shows the pop; one click opens the customer's card."""
        pbx = {
            "key": self.key,
            "vals": {
                "provider": self.push_account.id,
                "external_id": "tour-pop-1",
                "caller_number": CUSTOMER_NUMBER,
                "callee_number": SERVICE_LINE,
                "agent_external_id": "201",
            },
        }
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False}
        self.start_tour(
            "/odoo/action-call_recording.call_recording_action",
            "call_recording_screen_pop",
            login=self.agent_a.login,
            code=f"window.crScreenPopTour = {json.dumps(pbx)}; "
            f"odoo.startTour('call_recording_screen_pop', {json.dumps(options)})",
        )
        call = self.call_of("tour-pop-1")
        self.assertEqual(call.user_id, self.agent_a)
        self.assertEqual(len(self.pops(self.agent_a)), 1)
        self.assertEqual(self.pops(self.agent_b), [])


@tagged("post_install", "-at_install")
class TestProviderReservations(HttpCase, ProviderCommon):
    """Each provider's import keeps the reference reserved for its call id; its
    webhooks that announce a call ringing on an agent pop up for that agent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.integration = cls._user("cr_res_ivr", "call_recording.group_call_recording_integration")
        for provider in cls.providers.values():
            provider.push_user_ids = cls.integration
        cls.agent_a.login = "agent.a@example.com"

    def reserve(self, code, external_id, **vals):
        key = (
            self.env["res.users.apikeys"]
            .with_user(self.integration)
            ._generate("rpc", "IVR", datetime.now() + timedelta(days=1))
        )
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            response = requests.post(
                f"{self.base_url()}/call_recording/reserve",
                json={"provider": self.providers[code].id, "external_id": external_id, **vals},
                headers={"Authorization": f"Bearer {key}", "X-Odoo-Database": get_db_name()},
                timeout=60,
            )
        self.env.invalidate_all()
        self.assertIn(response.status_code, (200, 201), response.text)
        return response.json()

    def webhook(self, code, payload, as_json=False):
        provider, fake = self.providers[code], self.fakes[code]
        url = f"{self.base_url()}/call_recording/webhook/{code}/{provider.sudo().webhook_key}"
        if as_json:
            response = self.url_open(
                url, data=json.dumps(payload), headers={"Content-Type": "application/json"}
            )
        else:
            response = self.url_open(url, data=payload, headers=fake.sign_webhook(url, payload))
        self.assertEqual(response.status_code, 200, response.text)

    def pops(self, user):
        return screen_pops(self.env, user)

    def ringing_call(self, code, **values):
        """A call of the customer to the line, started a minute ago, still going on."""
        return self.add_call(code, start=self.ago(minutes=1), duration=60, audio=None, **values)

    def _import_keeps_reference(self, code, **call_kwargs):
        provider = self.providers[code]
        ext = self.add_call(code, start=self.ago(minutes=30), **call_kwargs)
        reserved = self.reserve(code, ext, caller_number="+36309012345")
        call = self.calls_of(provider)
        self.assertEqual((len(call), call.name), (1, reserved["reference"]))
        self.assertTrue(call.awaiting_delivery)
        log = provider._sync(trigger="cron")
        self.assertEqual(log.state, "done", log.error)
        call = self.calls_of(provider)
        # the import found the reserved call
        self.assertCallImported(
            call,
            provider=provider,
            audio=self.audio_1,
            name=reserved["reference"],
            awaiting_delivery=False,
            state="answered",
        )
        self.assertTrue(call.reserved_date)
        return call

    def test_twilio_import_keeps_the_reserved_reference(self):
        self._import_keeps_reference("twilio")

    def test_aircall_import_keeps_the_reserved_reference(self):
        self._import_keeps_reference("aircall")

    def test_zadarma_import_keeps_the_reserved_reference(self):
        self._import_keeps_reference("zadarma")

    def test_aircall_ringing_on_agent_pops_up(self):
        fake = self.fakes["aircall"]
        ext = self.ringing_call("aircall", agent_email="agent.a@example.com", agent_id="771")
        self.webhook("aircall", fake.ringing_payload(ext), as_json=True)
        pops = self.pops(self.agent_a)
        self.assertEqual(len(pops), 1)
        self.assertEqual(pops[0]["partner_id"], self.customer.id)
        self.assertEqual(pops[0]["number"], "+36 30 901 2345")
        self.assertFalse(self.calls_of(self.providers["aircall"]), "nothing stored")
        self.assertEqual(self.pops(self.agent_b), [])
        self.webhook("aircall", fake.ringing_payload(ext), as_json=True)
        self.assertEqual(len(self.pops(self.agent_a)), 1, "a redelivery pops nothing")

    def test_zadarma_call_on_an_extension_pops_up(self):
        provider, fake = self.providers["zadarma"], self.fakes["zadarma"]
        self._map_agent(provider, "101", self.agent_b, name="Extension 101")
        ext = self.ringing_call("zadarma", agent_id="101")
        payload = fake.start_payload(ext)
        self.webhook("zadarma", payload)
        pops = self.pops(self.agent_b)
        self.assertEqual(len(pops), 1)
        self.assertEqual(pops[0]["partner_name"], self.customer.display_name)
        self.assertEqual(self.pops(self.agent_a), [])
        # a forged one is refused (signed over caller_id, called_did and call_start)
        url = f"{self.base_url()}/call_recording/webhook/zadarma/{provider.sudo().webhook_key}"
        forged = dict(payload, caller_id="+36301111111")
        with mute_logger("odoo.addons.call_recording.controllers.webhook"):
            response = self.url_open(url, data=forged, headers=fake.sign_webhook(url, payload))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(len(self.pops(self.agent_b)), 1)

    def test_twilio_ringing_on_a_softphone_pops_up(self):
        provider, fake = self.providers["twilio"], self.fakes["twilio"]
        self._map_agent(provider, "alice", self.agent_a, name="alice")
        ext = self.ringing_call("twilio", agent_id="alice")
        self.webhook("twilio", fake.ringing_payload(ext))
        pops = self.pops(self.agent_a)
        self.assertEqual(len(pops), 1)
        self.assertEqual(pops[0]["partner_id"], self.customer.id)
        events = self.env["call.recording.webhook.event"].search(
            [("provider_id", "=", provider.id)]
        )
        self.assertEqual(events.state, "done", "nothing to read back for a ringing call")
        self.assertFalse(self.calls_of(provider))
        self.assertTrue(CREDENTIALS["twilio"]["secret"])


@tagged("post_install", "-at_install")
class TestReservationAudio(ReservationCommon, ComplianceCommon):
    def test_push_audio_base64_after_reservation(self):
        """JSON-2 push of a reserved call with base64 audio keeps the reference."""
        status, body = self.reserve(external_id="pbx-b64", callee_number=SERVICE_LINE)
        self.assertEqual(status, 201, body)
        audio = synth_call_wav(1, seed=133)
        status, pushed = self.json2(
            "call.recording",
            "push_call",
            vals={
                "provider": self.push_account.id,
                "external_id": "pbx-b64",
                "direction": "inbound",
                "start": "2026-11-20T09:30:00+01:00",
                "caller_number": CUSTOMER_NUMBER,
                "callee_number": SERVICE_LINE,
                "audio": base64.b64encode(audio).decode(),
            },
        )
        self.assertEqual(status, 200, pushed)
        self.assertEqual(pushed["reference"], body["reference"])
        self.assertEqual(pushed["recording_status"], "available")
