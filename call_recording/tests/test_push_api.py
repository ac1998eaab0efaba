"""Push API through the real (HttpCase) server: the examples, rights, idempotence, errors."""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import requests

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav, wav_bytes

from .common import CallRecordingCommon, sha256

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
XMLRPC_LOGGER = "odoo.addons.rpc.controllers.xmlrpc"
#: The other party's number in these tests and the contact it belongs to.
CUSTOMER_NUMBER = "+36 30 444 1122"
LINE_NUMBER = "+36 1 555 0100"
START = "2026-11-20T09:30:00+01:00"  # 08:30:00 UTC


@tagged("post_install", "-at_install")
class TestPushApi(CallRecordingCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pbx_customer = cls._customer("Kiss Erzsébet", CUSTOMER_NUMBER)
        cls.integration = cls._user("cr_pbx", "call_recording.group_call_recording_integration")
        cls.integration_other = cls._user(
            "cr_pbx_other", "call_recording.group_call_recording_integration"
        )
        cls.push_account = cls._push_account("Office PBX", cls.integration)
        cls.other_account = cls._push_account("Branch PBX", cls.integration_other)
        cls.audio_1 = synth_call_wav(1, seed=71)
        cls.audio_2 = synth_call_wav(1, seed=72)
        cls.db = get_db_name()

    def setUp(self):
        super().setUp()
        self.key = self._api_key(self.integration)
        self.tmp = tempfile.mkdtemp(prefix="crpush-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _api_key(self, user):
        return (
            self.env["res.users.apikeys"]
            .with_user(user)
            ._generate("rpc", "PBX", datetime.now() + timedelta(days=1))
        )

    def _vals(self, external_id, **overrides):
        vals = {
            "provider": self.push_account.id,
            "external_id": external_id,
            "direction": "inbound",
            "start": START,
            "duration": 95,
            "state": "answered",
            "caller_number": CUSTOMER_NUMBER,
            "callee_number": LINE_NUMBER,
        }
        vals.update(overrides)
        return vals

    def _json2(self, model, method, key=None, **params):
        self.env.flush_all()
        # odoo.http logs each refused call (a warning); these are expected.
        with self.allow_requests(all_requests=True), mute_logger("odoo.http"):
            response = requests.post(
                f"{self.base_url()}/json/2/{model}/{method}",
                json=params,
                headers={
                    "Authorization": f"bearer {key or self.key}",
                    "X-Odoo-Database": self.db,
                },
                timeout=60,
            )
        self.env.invalidate_all()
        return response.status_code, response.json()

    def _push_json2(self, vals, key=None):
        return self._json2("call.recording", "push_call", key=key, vals=vals)

    def _push_http(self, fields, audio=None, key=None, headers=None):
        files = {"audio": ("call.wav", audio, "audio/wav")} if audio is not None else None
        all_headers = {"X-Odoo-Database": self.db}
        if key is not False:
            all_headers["Authorization"] = f"Bearer {key or self.key}"
        all_headers.update(headers or {})
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            response = requests.post(
                f"{self.base_url()}/call_recording/push",
                data={k: str(v) for k, v in fields.items()},
                files=files,
                headers=all_headers,
                timeout=60,
            )
        self.env.invalidate_all()
        return response.status_code, response.json()

    def _calls(self, external_id):
        return (
            self.env["call.recording"]
            .sudo()
            .with_context(active_test=False)
            .search([("external_id", "=", external_id)])
        )

    def _file(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as fp:
            fp.write(data)
        return path

    def _script_env(self, **extra):
        return dict(
            os.environ,
            CALL_RECORDING_URL=self.base_url(),
            CALL_RECORDING_DB=self.db,
            CALL_RECORDING_LOGIN=self.integration.login,
            CALL_RECORDING_API_KEY=self.key,
            CALL_RECORDING_PROVIDER=str(self.push_account.id),
            CALL_RECORDING_CONF=os.path.join(self.tmp, "none.conf"),
            **extra,
        )

    def _run(self, cmd, stdin=None, **env):
        self.env.flush_all()
        with self.allow_requests(all_requests=True):
            result = subprocess.run(
                cmd,
                input=stdin,
                capture_output=True,
                text=True,
                env=self._script_env(**env),
                timeout=120,
                check=False,
            )
        self.env.invalidate_all()
        return result

    def _assert_stored(self, call, audio, external_id, duration=95):
        self.assertEqual(len(call), 1)
        self.assertEqual(call.external_id, external_id)
        self.assertEqual(call.provider_id, self.push_account)
        self.assertEqual(call.create_uid, self.integration)
        self.assertEqual(call.partner_id, self.pbx_customer)
        self.assertEqual(call.partner_match, "matched")
        self.assertEqual(call.start_datetime, datetime(2026, 11, 20, 8, 30))
        self.assertEqual(call.duration, duration)
        self.assertEqual(call.line_number_e164, "+3615550100")
        self.assertEqual(call.company_id, self.company)
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(call.audio_sha256, sha256(audio))
        self.assertEqual(call.audio_size, len(audio))
        self.assertEqual(call.audio_mimetype, "audio/wav")
        self.assertEqual(call.legal_basis, "legal")

    # ------------------------------------------------------------------
    # The examples, run as they are against this server
    # ------------------------------------------------------------------

    def test_example_xmlrpc(self):
        path = self._file("pbx-x1.wav", self.audio_1)
        cmd = [
            sys.executable,
            str(EXAMPLES / "push_xmlrpc.py"),
            "--external-id=pbx-x1",
            "--direction=inbound",
            f"--start={START}",
            "--duration=95",
            f"--caller={CUSTOMER_NUMBER}",
            f"--callee={LINE_NUMBER}",
            f"--audio={path}",
        ]
        with mute_logger(XMLRPC_LOGGER):
            result = self._run(cmd)
        self.assertEqual(result.returncode, 0, result.stderr)
        answer = json.loads(result.stdout)
        call = self._calls("pbx-x1")
        self._assert_stored(call, self.audio_1, "pbx-x1")
        self.assertEqual(answer["id"], call.id)
        self.assertEqual(answer["reference"], call.name)
        self.assertIs(answer["partner_matched"], True)
        self.assertIs(answer["created"], True)
        self.assertEqual(answer["recording_status"], "available")
        self.assertEqual(answer["audio_sha256"], sha256(self.audio_1))

        # The same delivery again: the same call, nothing changed.
        with mute_logger(XMLRPC_LOGGER):
            again = self._run(cmd)
        self.assertEqual(again.returncode, 0, again.stderr)
        answer_again = json.loads(again.stdout)
        self.assertEqual(answer_again["id"], call.id)
        self.assertIs(answer_again["created"], False)
        self.assertEqual(answer_again["result"], "unchanged")
        self.assertEqual(len(self._calls("pbx-x1")), 1)
        self.assertEqual(len(call._audio_attachments()), 1)

        # A refused call: exit 1 and the server's field-by-field message.
        with mute_logger(XMLRPC_LOGGER):
            bad = self._run([*cmd[:2], "--external-id=pbx-x2", "--direction=sideways", *cmd[4:]])
        self.assertEqual(bad.returncode, 1)
        self.assertIn("direction: unknown value 'sideways'", bad.stderr)
        self.assertFalse(self._calls("pbx-x2"))

    def test_example_json2(self):
        path = self._file("pbx-j1.wav", self.audio_1)
        cmd = [
            sys.executable,
            str(EXAMPLES / "push_json2.py"),
            "--external-id=pbx-j1",
            f"--start={START}",
            "--duration=95",
            f"--caller={CUSTOMER_NUMBER}",
            f"--callee={LINE_NUMBER}",
            f"--audio={path}",
        ]
        result = self._run(cmd)
        self.assertEqual(result.returncode, 0, result.stderr)
        answer = json.loads(result.stdout)
        call = self._calls("pbx-j1")
        self._assert_stored(call, self.audio_1, "pbx-j1")
        self.assertEqual(answer["reference"], call.name)
        self.assertIs(answer["partner_matched"], True)
        self.assertIs(answer["created"], True)

        bad = self._run([*cmd[:3], "--start=yesterday", "--duration=ten", *cmd[5:]])
        self.assertEqual(bad.returncode, 1)
        errors = json.loads(bad.stdout)
        self.assertEqual(errors["status"], 422)
        self.assertEqual(set(errors["errors"]), {"start", "duration"})
        self.assertEqual(len(self._calls("pbx-j1")), 1)

    def test_example_curl(self):
        path = self._file("pbx-c1.wav", self.audio_1)
        cmd = [
            "sh",
            str(EXAMPLES / "push_curl.sh"),
            "pbx-c1",
            START,
            "95",
            CUSTOMER_NUMBER,
            LINE_NUMBER,
            path,
        ]
        result = self._run(cmd)
        self.assertEqual(result.returncode, 0, result.stderr + result.stdout)
        answer = json.loads(result.stdout)
        call = self._calls("pbx-c1")
        self._assert_stored(call, self.audio_1, "pbx-c1")
        self.assertEqual(answer["reference"], call.name)
        self.assertIs(answer["partner_matched"], True)
        self.assertIs(answer["created"], True)

        # A different recording under the same call id: 409, curl fails.
        other = self._file("pbx-c1-other.wav", self.audio_2)
        conflict = self._run([*cmd[:-1], other])
        self.assertNotEqual(conflict.returncode, 0)
        body = json.loads(conflict.stdout)
        self.assertEqual(body["error"], "conflict")
        self.assertIn("audio", body["errors"])
        self.assertEqual(call.audio_sha256, sha256(self.audio_1))

    def _agi(self, channel, extension, *flags):
        """The Asterisk example run as an AGI script with ``flags``, for an inbound
        call of the customer to the line; ``channel``: (unique id, PJSIP channel)."""
        unique_id, trunk = channel
        environment = (
            "agi_request: call_recording_push.agi\n"
            f"agi_channel: PJSIP/{trunk}\n"
            f"agi_uniqueid: {unique_id}\n"
            f"agi_callerid: {CUSTOMER_NUMBER.replace(' ', '')}\n"
            "agi_dnid: unknown\n"
            f"agi_extension: {extension}\n"
            "\n"
        )
        script = str(EXAMPLES / "asterisk" / "call_recording_push.agi")
        line = f"--callee={LINE_NUMBER.replace(' ', '')}"
        return self._run(
            [sys.executable, script, "--agi", *flags, "--direction=inbound", line],
            stdin=environment,
        )

    def test_example_asterisk_agi(self):
        path = self._file("1763627400.17.wav", self.audio_1)
        result = self._agi(
            ("1763627400.17", "trunk-00000011"),
            "h",
            f"--file={path}",
            "--start=1763627400.5",  # CDR(start,u): 2025-11-20 08:30:00.5 UTC
            "--duration=42",
            "--status=ANSWER",
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        call = self._calls("1763627400.17")
        self.assertEqual(len(call), 1)
        self.assertEqual(call.start_datetime, datetime(2025, 11, 20, 8, 30))
        self.assertEqual(call.duration, 42)
        self.assertEqual(call.partner_id, self.pbx_customer)
        self.assertEqual(call.audio_sha256, sha256(self.audio_1))
        self.assertEqual(call.audio_filename, "1763627400.17.wav")
        commands = result.stdout.splitlines()
        self.assertIn('SET VARIABLE CALLREC_STATUS "201"', commands)
        self.assertIn(f'SET VARIABLE CALLREC_REFERENCE "{call.name}"', commands)
        self.assertEqual(json.loads(result.stderr)["reference"], call.name)

    def test_example_asterisk_reserve_announce_then_push(self):
        """The dialplan's two steps: reserve at the start (the reference to
        announce), push at hang-up; one call, one reference."""
        channel = ("1763627500.18", "trunk-00000012")
        reserved = self._agi(channel, "15550100", "--reserve")
        self.assertEqual(reserved.returncode, 0, reserved.stderr)
        call = self._calls("1763627500.18")
        self.assertEqual(len(call), 1)
        self.assertTrue(call.awaiting_delivery and call.reserved_date)
        commands = reserved.stdout.splitlines()
        self.assertIn(f'SET VARIABLE CALLREC_REFERENCE "{call.name}"', commands)
        self.assertIn('SET VARIABLE CALLREC_RESERVED "1"', commands)
        self.assertIn('SET VARIABLE CALLREC_STATUS "201"', commands)
        # at hang-up, the hang-up handler pushes the recording
        path = self._file("1763627500.18.wav", self.audio_1)
        pushed = self._agi(
            channel,
            "15550100",
            f"--file={path}",
            "--start=1763627500",
            "--duration=30",
            "--status=ANSWER",
        )
        self.assertEqual(pushed.returncode, 0, pushed.stderr)
        call.invalidate_recordset()
        self.assertEqual(len(self._calls("1763627500.18")), 1)
        self.assertIn(f'SET VARIABLE CALLREC_REFERENCE "{call.name}"', pushed.stdout.splitlines())
        self.assertFalse(call.awaiting_delivery)
        self.assertEqual(call.audio_sha256, sha256(self.audio_1))
        self.assertEqual(call.duration, 30)

    # ------------------------------------------------------------------
    # What the integration user may do
    # ------------------------------------------------------------------

    def test_integration_user_rights(self):
        """Only what delivering calls needs: it pushes, and reads nothing of the suite."""
        self.assertTrue(self.integration.share, "an external (portal) user, not an employee")
        self.assertFalse(self.integration.has_group("base.group_user"))
        status, answer = self._push_json2(self._vals("pbx-r1", audio=None))
        self.assertEqual(status, 200, answer)
        own = self._calls("pbx-r1")
        self.assertEqual(own.partner_id, self.pbx_customer)
        # The answer says that a contact was found, not who.
        self.assertIs(answer["partner_matched"], True)
        self.assertFalse({"partner_id", "partner_name"} & set(answer))
        self.assertNotIn("Kiss", json.dumps(answer))
        status, unknown = self._push_json2(
            self._vals("pbx-r4", caller_number="+36 30 444 0000", audio=None)
        )
        self.assertEqual((status, unknown["partner_matched"]), (200, False))

        # No call, not even its own; no contact, no settings, no provider account.
        forbidden = [
            ("call.recording", "search_read", {"domain": [], "fields": ["name"]}),
            ("call.recording", "read", {"ids": own.ids, "fields": ["partner_id"]}),
            ("call.recording", "read", {"ids": self.call_a.ids, "fields": ["name"]}),
            ("call.recording", "write", {"ids": own.ids, "vals": {"duration": 1}}),
            ("call.recording", "create", {"vals_list": [{"direction": "inbound"}]}),
            ("call.recording.report", "search_read", {"domain": [], "fields": ["partner_id"]}),
            ("res.partner", "read", {"ids": self.pbx_customer.ids, "fields": ["phone"]}),
            ("res.partner", "read", {"ids": self.customer.ids, "fields": ["name"]}),
            ("res.users", "read", {"ids": self.agent_a.ids, "fields": ["name"]}),
            ("ir.config_parameter", "search_read", {"domain": [], "fields": ["value"]}),
            ("ir.config_parameter", "create", {"vals_list": [{"key": "x.y", "value": "1"}]}),
            ("call.recording.provider", "search_read", {"domain": [], "fields": ["name"]}),
            (
                "call.recording.provider",
                "write",
                {"ids": self.push_account.ids, "vals": {"name": "X"}},
            ),
            ("call.recording.line", "search_read", {"domain": [], "fields": ["name"]}),
            ("call.recording.hold", "search_read", {"domain": [], "fields": ["name"]}),
            ("call.recording.request", "search_read", {"domain": [], "fields": ["name"]}),
            (
                "call.recording.access.log",
                "search_read",
                {"domain": [], "fields": ["call_reference"]},
            ),
            ("call.recording.sync.log", "search_read", {"domain": [], "fields": ["state"]}),
            ("crm.team", "search_read", {"domain": [], "fields": ["name"]}),
            ("res.config.settings", "create", {"vals_list": [{}]}),
        ]
        for model, method, params in forbidden:
            with self.subTest(model=model, method=method):
                status, body = self._json2(model, method, **params)
                self.assertEqual(status, 403, f"{model}.{method}: {body}")
        self.assertEqual(self.push_account.name, "Office PBX")
        ICP = self.env["ir.config_parameter"].with_user(self.integration)
        with self.assertRaises(AccessError):
            ICP.set_param("call_recording.max_audio_mb", "1")
        with self.assertRaises(AccessError):
            ICP.get_param("call_recording.max_audio_mb")
        self.assertEqual(own.duration, 95)

        # Contacts and users: itself only (as any external user), never a customer.
        for model in ("res.partner", "res.users"):
            with self.subTest(model=model):
                status, rows = self._json2(model, "search_read", domain=[], fields=["name"])
                self.assertEqual(status, 200, rows)
                expected = (
                    self.integration.partner_id if model == "res.partner" else self.integration
                )
                self.assertEqual([r["id"] for r in rows], expected.ids)
        status, rows = self._json2(
            "res.partner", "name_search", name="Kiss", domain=[], operator="ilike", limit=10
        )
        self.assertEqual((status, rows), (200, []))

        # It cannot be made an employee as well (Odoo's user types exclude each other).
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.integration.group_ids |= self.env.ref("base.group_user")

        # The calls of another push account are not its own to deliver.
        status, body = self._push_json2(self._vals("pbx-r2", provider=self.other_account.id))
        self.assertEqual(status, 422)
        self.assertIn("provider", body["context"]["errors"])
        self.assertFalse(self._calls("pbx-r2"))

        # Other users, even managers, do not push.
        manager_key = self._api_key(self.manager)
        status, body = self._push_json2(self._vals("pbx-r3"), key=manager_key)
        self.assertEqual(status, 403)
        status, body = self._push_http(self._vals("pbx-r3"), key=manager_key)
        self.assertEqual((status, body["error"]), (403, "forbidden"))
        self.assertFalse(self._calls("pbx-r3"))

    def test_new_integration_user_and_key(self):
        """A system administrator creates the PBX's user and key from the account."""
        admin = self.env.ref("base.user_admin")
        admin.company_ids |= self.company
        Wizard = (
            self.env["call.recording.push.user"]
            .with_user(admin)
            .with_context(allowed_company_ids=self.company.ids)
        )
        action = Wizard.create(
            {"provider_id": self.push_account.id, "name": "Front desk PBX", "login": "pbx-front"}
        ).action_create()
        key = action["context"]["default_key"]
        user = self.env["res.users"].search([("login", "=", "pbx-front")])
        self.assertTrue(user.share)
        self.assertTrue(user.has_group("call_recording.group_call_recording_integration"))
        self.assertIn(user, self.push_account.push_user_ids)
        status, answer = self._push_json2(self._vals("pbx-w1", audio=None), key=key)
        self.assertEqual((status, answer["created"]), (200, True), answer)
        self.assertEqual(self._calls("pbx-w1").create_uid, user)
        # Administrators of the suite who are not system administrators may not.
        suite_admin = self._user("cr_pbx_admin", "call_recording.group_call_recording_admin")
        with self.assertRaises(AccessError):
            self.env["call.recording.push.user"].with_user(suite_admin).create(
                {"provider_id": self.push_account.id, "name": "x", "login": "pbx-x"}
            )

    def test_http_authentication(self):
        status, body = self._push_http(self._vals("pbx-a1"), key=False)
        self.assertEqual((status, body["error"]), (401, "unauthorized"))
        status, body = self._push_http(self._vals("pbx-a1"), key="0" * 40)
        self.assertEqual((status, body["error"]), (401, "unauthorized"))
        self.assertFalse(self._calls("pbx-a1"))
        status, body = self._push_http(self._vals("pbx-a1"))
        self.assertEqual(status, 201, body)

    # ------------------------------------------------------------------
    # Idempotence
    # ------------------------------------------------------------------

    def test_redelivery_is_idempotent(self):
        audio = base64.b64encode(self.audio_1).decode()
        vals = self._vals(
            "pbx-i1",
            audio=audio,
            audio_sha256=sha256(self.audio_1),
            audio_filename="/var/spool/asterisk/monitor/pbx-i1.wav",
        )
        status, first = self._push_json2(vals)
        self.assertEqual(status, 200, first)
        call = self._calls("pbx-i1")
        self.assertEqual(call.audio_filename, "pbx-i1.wav")  # a name, not the PBX's path
        messages = len(call.message_ids)

        # The same call again, through each way in: same call, nothing written.
        status, second = self._push_json2(vals)
        self.assertEqual(status, 200, second)
        status_http, third = self._push_http(
            {k: v for k, v in vals.items() if k != "audio"}, audio=self.audio_1
        )
        self.assertEqual(status_http, 200, third)
        for answer in (second, third):
            self.assertEqual(answer["id"], first["id"])
            self.assertEqual(answer["reference"], first["reference"])
            self.assertIs(answer["created"], False)
            self.assertEqual(answer["result"], "unchanged")
        self.assertEqual(len(self._calls("pbx-i1")), 1)
        self.assertEqual(len(call._audio_attachments()), 1)
        self.assertEqual(len(call.message_ids), messages)
        self.assertNotIn(self.integration.partner_id, call.message_partner_ids)

        # A first delivery without audio is completed by a later one.
        status, bare = self._push_json2(self._vals("pbx-i2", duration=0, state="missed"))
        self.assertEqual((status, bare["recording_status"]), (200, "none"))
        status, done = self._push_http(self._vals("pbx-i2"), audio=self.audio_2)
        self.assertEqual(status, 200, done)
        self.assertEqual(done["result"], "updated")
        call_2 = self._calls("pbx-i2")
        self.assertEqual((call_2.state, call_2.duration), ("answered", 95))
        self.assertEqual(call_2.audio_sha256, sha256(self.audio_2))

        # Replacing a recording is explicit, and noted on the call.
        status, replaced = self._push_http(
            self._vals("pbx-i2", replace_audio="true"), audio=self.audio_1
        )
        self.assertEqual(status, 200, replaced)
        self.assertEqual(call_2.audio_sha256, sha256(self.audio_1))
        self.assertEqual(len(call_2._audio_attachments()), 1)
        self.assertIn("Recording replaced", call_2.message_ids[0].body)

    # ------------------------------------------------------------------
    # Validation: field by field, nothing written
    # ------------------------------------------------------------------

    def _assert_refused(self, vals, expected, status=422, audio=None, http_status=400):
        """Refused through JSON-2 and the HTTP endpoint, with these fields named."""
        calls_before = self.env["call.recording"].sudo().search_count([])
        attachments_before = self.env["ir.attachment"].sudo().search_count([])
        json_vals = dict(vals)
        if audio is not None:
            json_vals["audio"] = base64.b64encode(audio).decode()
        code, body = self._push_json2(json_vals)
        self.assertEqual(code, status, body)
        self.assertEqual(set(body["context"]["errors"]), set(expected), body)
        for field, text in expected.items():
            self.assertIn(f"{field}: ", body["message"])
            self.assertIn(text, body["context"]["errors"][field])
        code, answer = self._push_http(vals, audio=audio)
        self.assertEqual(code, http_status, answer)
        self.assertEqual(set(answer["errors"]), set(expected), answer)
        self.assertEqual(self.env["call.recording"].sudo().search_count([]), calls_before)
        self.assertEqual(self.env["ir.attachment"].sudo().search_count([]), attachments_before)
        return answer

    def test_validation_errors(self):
        cases = [
            ({"direction": "sideways"}, {"direction": "unknown value"}),
            ({"start": "28/11/2026 9:30"}, {"start": "cannot read the date"}),
            ({"start": "2026-11-20T09:30:00"}, {"start": "has no time zone"}),
            ({"duration": "ten"}, {"duration": "cannot read the number"}),
            ({"duration": -5}, {"duration": "cannot be negative"}),
            ({"caller_number": "anonymous"}, {"caller_number": "is not a phone number"}),
            ({"state": "lost"}, {"state": "unknown value"}),
            ({"agent_email": "not-an-address"}, {"agent_email": "not an e-mail address"}),
            ({"provider": "No Such PBX"}, {"provider": "no push account"}),
            ({"external_id": ""}, {"external_id": "is required"}),
            ({"colour": "blue"}, {"colour": "unknown field"}),
            (
                {"direction": "sideways", "start": "soon", "duration": "1.5"},
                {"direction": "unknown", "start": "cannot read", "duration": "cannot read"},
            ),
        ]
        for number, (overrides, expected) in enumerate(cases):
            with self.subTest(overrides=overrides):
                vals = {**self._vals(f"pbx-v{number}"), **overrides}
                self._assert_refused(vals, expected)

    def test_audio_errors(self):
        # Not audio at all, whatever the file name and content type say.
        self._assert_refused(
            self._vals("pbx-va"), {"audio": "not a recording"}, audio=b"%PDF-1.7 not a call" * 10
        )
        code, answer = self._push_http(self._vals("pbx-va"), audio=b"")
        self.assertEqual((code, answer["errors"]), (400, {"audio": "is empty"}))
        # A damaged upload: the checksum sent does not match.
        self._assert_refused(
            self._vals("pbx-va", audio_sha256=sha256(self.audio_2)),
            {"audio_sha256": "does not match"},
            audio=self.audio_1,
        )
        self._assert_refused(
            self._vals("pbx-va", audio_sha256="abc"), {"audio_sha256": "64 hexadecimal"}
        )
        code, body = self._push_json2(self._vals("pbx-va", audio="@@not base64@@"))
        self.assertEqual((code, list(body["context"]["errors"])), (422, ["audio"]))
        # Over the size limit (a setting): 413.
        self.env["ir.config_parameter"].sudo().set_param("call_recording.max_audio_mb", "1")
        big = wav_bytes(b"\x01\x00" * 600_000)
        answer = self._assert_refused(
            self._vals("pbx-va"),
            {"audio": "larger than the limit of 1 MB"},
            audio=big,
            status=413,
            http_status=413,
        )
        self.assertEqual(answer["error"], "too_large")
        self.assertFalse(self._calls("pbx-va"))

    def test_duplicate_with_different_content(self):
        status, first = self._push_http(self._vals("pbx-d1"), audio=self.audio_1)
        self.assertEqual(status, 201, first)
        call = self._calls("pbx-d1")
        cases = [
            ({"start": "2026-11-20T09:31:00+01:00"}, None, {"start": "stored as"}),
            ({"direction": "outbound"}, None, {"direction": "stored as"}),
            ({"caller_number": "+36 30 444 9999"}, None, {"caller_number": "stored as"}),
            ({}, self.audio_2, {"audio": "a different recording is stored"}),
            # A change of duration does not sneak in with a conflicting delivery.
            ({"duration": 300, "start": "2026-11-20T08:30:00Z"}, self.audio_2, {"audio": "SHA"}),
        ]
        for overrides, audio, expected in cases:
            with self.subTest(overrides=overrides):
                answer = self._assert_refused(
                    self._vals("pbx-d1", **overrides),
                    expected,
                    audio=audio,
                    status=409,
                    http_status=409,
                )
                self.assertEqual(answer["error"], "conflict")
        self.assertEqual(call.duration, 95)
        self.assertEqual(call.audio_sha256, sha256(self.audio_1))
        # The same instant in another zone is the same call.
        status, same = self._push_http(
            self._vals("pbx-d1", start="2026-11-20T08:30:00Z"), audio=self.audio_1
        )
        self.assertEqual((status, same["result"]), (200, "unchanged"))

    def test_audio_not_kept_on_unrecorded_line(self):
        self.env["call.recording.line"].create(
            {
                "name": "Internal helpdesk",
                "number": "+36 1 555 0199",
                "company_id": self.company.id,
                "policy": "none",
            }
        )
        status, answer = self._push_http(
            self._vals("pbx-n1", callee_number="+36 1 555 0199"), audio=self.audio_1
        )
        self.assertEqual(status, 201, answer)
        self.assertEqual(answer["recording_status"], "none")
        self.assertIn("audio", answer["warnings"])
        call = self._calls("pbx-n1")
        self.assertEqual(call.legal_basis, "none")
        self.assertFalse(call._audio_attachments())

    # ------------------------------------------------------------------
    # An upload cut off mid-body
    # ------------------------------------------------------------------

    def test_upload_cut_off_stores_nothing(self):
        boundary = "cutoffboundary"
        parts = []
        for name, value in self._vals("pbx-cut").items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; '
            f'filename="cut.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        )
        head = "".join(parts).encode()
        audio = synth_call_wav(3, seed=73)
        body = head + audio + f"\r\n--{boundary}--\r\n".encode()
        sent = head + audio[: len(audio) // 2]
        url = urlparse(self.base_url())
        request_head = (
            "POST /call_recording/push HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\n"
            f"Authorization: Bearer {self.key}\r\n"
            f"X-Odoo-Database: {self.db}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        self.env.flush_all()
        with (
            self.allow_requests(all_requests=True),
            socket.create_connection((url.hostname, url.port), timeout=30) as sock,
        ):
            sock.sendall(request_head + sent)
            sock.shutdown(socket.SHUT_WR)  # the PBX dies mid-upload
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        self.assertFalse(answer.startswith(b"HTTP/1.1 20"), answer[:200])
        # said as such, not as a missing field
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(body["error"], "incomplete_body")
        self.assertIn("incomplete", body["message"])
        self.assertFalse(self._calls("pbx-cut"))
        self.assertFalse(
            self.env["call.recording.provider.user"]
            .sudo()
            .search([("provider_id", "=", self.push_account.id)])
        )
        # The complete upload goes through.
        status, answer = self._push_http(self._vals("pbx-cut"), audio=audio)
        self.assertEqual(status, 201, answer)
        self.assertEqual(self._calls("pbx-cut").audio_sha256, sha256(audio))

    # ------------------------------------------------------------------
    # Answers given outside the route: too large, busy
    # ------------------------------------------------------------------

    def test_body_over_the_limit_is_the_documented_json_413(self):
        self.env["ir.config_parameter"].sudo().set_param("call_recording.max_audio_mb", "1")
        big = wav_bytes(b"\x01\x00" * 1_600_000)  # 3.2 MB: over the limit and its margin
        status, answer = self._push_http(self._vals("pbx-big"), audio=big)
        self.assertEqual(status, 413)
        self.assertEqual(answer["error"], "too_large")
        self.assertIn("1 MB", answer["message"])
        self.assertFalse(self._calls("pbx-big"))

    def test_busy_answer_is_retryable(self):
        """A delivery still colliding after Odoo's own retries: 503, Retry-After, JSON."""
        from odoo.exceptions import ConcurrencyError  # noqa: PLC0415

        from ..models.call_recording_push import PushBusy  # noqa: PLC0415
        from ..models.ir_http import push_error_response  # noqa: PLC0415

        busy = PushBusy("another delivery is being stored", {"external_id": "send it again"})
        self.assertIsInstance(busy, ConcurrencyError, "Odoo must run the request again")
        self.assertEqual((busy.status, busy.http_status), (503, 503))
        self.assertTrue(str(busy).startswith("Busy:"), "the XML-RPC examples look for it")
        response = push_error_response(busy)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.headers["Retry-After"], "2")
        body = json.loads(response.get_data())
        self.assertEqual(body["error"], "busy")
        self.assertEqual(body["errors"], {"external_id": "send it again"})
