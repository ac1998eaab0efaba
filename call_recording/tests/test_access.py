import json

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, freeze_time, tagged
from odoo.tools import mute_logger

from .common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestAccessOrm(CallRecordingCommon):
    """Who sees which call, through the ORM."""

    def _visible(self, user):
        ours = self.call_a | self.call_b | self.call_other
        return self.env["call.recording"].with_user(user).search([("id", "in", ours.ids)])

    def test_matrix(self):
        self.assertEqual(self._visible(self.agent_a), self.call_a)
        self.assertEqual(self._visible(self.agent_b), self.call_b)
        self.assertEqual(self._visible(self.manager), self.call_a | self.call_b)
        self.assertEqual(self._visible(self.manager_b), self.call_other)
        for user in (self.portal, self.internal):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self._visible(user)

    def test_read_other_agents_call(self):
        with self.assertRaises(AccessError):
            self.call_b.with_user(self.agent_a).read(["name"])
        with self.assertRaises(AccessError):
            self.call_a.with_user(self.manager_b).read(["name"])
        with self.assertRaises(AccessError):
            self.call_a.with_user(self.portal).read(["name"])

    def test_agent_may_edit_only_contact_and_notes(self):
        call = self.call_a.with_user(self.agent_a)
        call.write({"notes": "<p>Asked for a callback</p>"})
        other = self.env["res.partner"].create({"name": "Someone"})
        call.partner_id = other
        self.assertEqual(self.call_a.partner_match, "manual")
        for vals in (
            {"duration": 1},
            {"user_id": self.agent_b.id},
            {"recording_status": "none"},
            {"audio_sha256": "0" * 64},
            {"start_datetime": "2020-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                call.write(vals)
        with self.assertRaises(AccessError):
            self.call_b.with_user(self.agent_a).write({"notes": "x"})

    def test_agent_cannot_create_or_delete(self):
        with self.assertRaises(AccessError):
            self.env["call.recording"].with_user(self.agent_a).create(
                {"caller_number": "+36301234567", "user_id": self.agent_a.id}
            )
        with self.assertRaises(AccessError):
            self.call_a.with_user(self.agent_a).unlink()
        with self.assertRaises(AccessError):
            self.call_a.with_user(self.manager).unlink()

    def test_manager_cannot_reach_other_company(self):
        with self.assertRaises(AccessError):
            self.call_other.with_user(self.manager).write({"notes": "x"})

    def test_raw_audio_field_hidden(self):
        """Only the audio route hands out audio: the field is for administrators."""
        for user in (self.agent_a, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.call_a.with_user(user).read(["audio"])
        exported = self.call_a.with_user(self.manager).export_data(["name", "audio_sha256"])
        self.assertEqual(exported["datas"][0][0], self.call_a.name)
        with self.assertRaises(AccessError):
            self.call_a.with_user(self.manager).export_data(["audio"])

    def test_attachment_not_reachable(self):
        attachment = self.call_a._get_audio_attachment()
        self.assertTrue(attachment)
        Attachment = self.env["ir.attachment"]
        for user in (self.agent_a, self.agent_b, self.manager, self.manager_b, self.internal):
            with self.subTest(user=user.login):
                try:
                    found = Attachment.with_user(user).search(
                        [("res_model", "=", "call.recording"), ("res_field", "=", "audio")]
                    )
                except AccessError:
                    found = Attachment  # no right on calls at all
                self.assertFalse(found & attachment)
                with self.assertRaises(AccessError):
                    attachment.with_user(user).read(["datas"])
        with self.assertRaises(AccessError):
            attachment.with_user(self.portal).read(["name"])

    def test_access_log_read_only(self):
        log = self.call_a.with_user(self.agent_a)._log_access("play", "127.0.0.1")
        Log = self.env["call.recording.access.log"]
        with self.assertRaises(AccessError):
            Log.with_user(self.agent_a).search([])
        self.assertIn(log, Log.with_user(self.manager).search([]))
        self.assertNotIn(log, Log.with_user(self.manager_b).search([]))
        with self.assertRaises(UserError):
            log.with_user(self.manager).write({"access_type": "download"})
        with self.assertRaises(AccessError):
            Log.with_user(self.manager).create(
                {
                    "call_reference": "x",
                    "company_id": self.company.id,
                    "user_id": self.manager.id,
                    "access_type": "play",
                }
            )
        with self.assertRaises(AccessError):
            log.with_user(self.manager).unlink()
        # Not even the superuser edits or deletes the log.
        with self.assertRaises(UserError):
            log.sudo().write({"access_type": "download"})
        with self.assertRaises(UserError):
            log.sudo().unlink()
        self.assertEqual(log.access_type, "play")

    def test_log_survives_call_deletion(self):
        log = self.call_b._log_access("download")
        reference = self.call_b.name
        with freeze_time("2040-01-01"):  # past the recording's retention
            self.call_b.sudo().unlink()
        self.assertFalse(log.call_id)
        self.assertEqual(log.call_reference, reference)

    def test_partner_smart_button_counts_visible_calls(self):
        customer = self.customer
        self.assertEqual(customer.with_user(self.agent_a).call_recording_count, 1)
        self.assertEqual(customer.with_user(self.manager).call_recording_count, 2)
        self.assertEqual(customer.with_user(self.agent_a).call_recording_ids, self.call_a)
        self.assertEqual(customer.with_user(self.internal).call_recording_count, 0)
        company = self.env["res.partner"].create({"name": "Parent Co", "is_company": True})
        customer.parent_id = company
        self.assertEqual(company.with_user(self.manager).call_recording_count, 2)
        action = company.with_user(self.manager).action_view_call_recordings()
        calls = self.env["call.recording"].with_user(self.manager).search(action["domain"])
        self.assertEqual(calls, self.call_a | self.call_b)


@tagged("post_install", "-at_install")
class TestAccessHttp(HttpCase, CallRecordingCommon):
    """The same rules through JSON-RPC, /web/content and the audio route."""

    def _login(self, user):
        self.authenticate(user.login, user.login)

    def _url(self, call, download=False):
        return f"/call_recording/{call.id}/audio" + ("?download=1" if download else "")

    def _logs(self, call):
        return self.env["call.recording.access.log"].search([("call_id", "in", call.ids)])

    def test_jsonrpc_search_read(self):
        self._login(self.agent_a)
        result = self.make_jsonrpc_request(
            "/web/dataset/call_kw/call.recording/search_read",
            {
                "model": "call.recording",
                "method": "search_read",
                "args": [[("id", "in", (self.call_a | self.call_b | self.call_other).ids)]],
                "kwargs": {"fields": ["name", "user_id"]},
            },
        )
        self.assertEqual([r["id"] for r in result], self.call_a.ids)
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/web/dataset/call_kw/call.recording/read",
                data=json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "call",
                        "params": {
                            "model": "call.recording",
                            "method": "read",
                            "args": [self.call_b.ids, ["name"]],
                            "kwargs": {},
                        },
                    }
                ),
                headers={"Content-Type": "application/json"},
            )
        error = response.json()["error"]
        self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError")

    def test_web_content_refused(self):
        """Nobody gets the raw attachment through the generic routes."""
        attachment = self.call_a._get_audio_attachment()
        urls = [
            f"/web/content/{attachment.id}",
            f"/web/content/{attachment.id}?download=true",
            f"/web/content/ir.attachment/{attachment.id}/datas",
            f"/web/content/call.recording/{self.call_a.id}/audio",
            f"/web/image/{attachment.id}",
        ]
        for user in (self.agent_a, self.agent_b, self.manager, self.manager_b, self.portal):
            self._login(user)
            for url in urls:
                with self.subTest(user=user.login, url=url), mute_logger("odoo.http"):
                    response = self.url_open(url)
                    if url.startswith("/web/image"):
                        # /web/image answers a placeholder picture on refusal
                        self.assertTrue(response.headers["Content-Type"].startswith("image/"))
                    else:
                        self.assertIn(response.status_code, (403, 404))
                    self.assertNotIn(self.audio_bytes[:64], response.content)
        self.assertFalse(self._logs(self.call_a))

    def test_chatter_attachment_of_call_still_served(self):
        """Only the recording is refused: a file attached in the chatter is not."""
        note = self.env["ir.attachment"].create(
            {
                "name": "complaint.txt",
                "raw": b"written complaint",
                "res_model": "call.recording",
                "res_id": self.call_a.id,
            }
        )
        self._login(self.agent_a)
        response = self.url_open(f"/web/content/{note.id}?download=true")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"written complaint")
        self._login(self.agent_b)
        with mute_logger("odoo.http"):
            self.assertIn(self.url_open(f"/web/content/{note.id}").status_code, (403, 404))

    def test_audio_route_full_and_ranges(self):
        self._login(self.agent_a)
        data = self.audio_bytes
        response = self.url_open(self._url(self.call_a))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, data)
        self.assertEqual(response.headers["Content-Type"], "audio/wav")
        self.assertEqual(response.headers["Accept-Ranges"], "bytes")
        self.assertIn("private", response.headers["Cache-Control"])

        response = self.url_open(self._url(self.call_a), headers={"Range": "bytes=0-99"})
        self.assertEqual(response.status_code, 206)
        self.assertEqual(response.content, data[:100])
        self.assertEqual(response.headers["Content-Range"], f"bytes 0-99/{len(data)}")

        response = self.url_open(self._url(self.call_a), headers={"Range": "bytes=1000-"})
        self.assertEqual(response.status_code, 206)
        self.assertEqual(response.content, data[1000:])

        response = self.url_open(
            self._url(self.call_a), headers={"Range": f"bytes={len(data) + 10}-"}
        )
        self.assertEqual(response.status_code, 416)

        response = self.url_open(self._url(self.call_a, download=True))
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn(self.call_a.name.replace("/", "-"), response.headers["Content-Disposition"])

        logs = self._logs(self.call_a)
        # One play (the Range requests that follow it are the same play:
        # seeking), and the download; the refused range logs nothing.
        self.assertEqual(sorted(logs.mapped("access_type")), ["download", "play"])
        self.assertEqual(logs.user_id, self.agent_a)
        self.assertEqual(set(logs.mapped("ip_address")), {"127.0.0.1"})
        self.assertEqual(set(logs.mapped("call_reference")), {self.call_a.name})

    def test_no_range_escapes_the_log(self):
        """Bug: a first request for bytes=1- got nearly all the audio unlogged."""
        self._login(self.agent_a)
        response = self.url_open(self._url(self.call_a), headers={"Range": "bytes=1-"})
        self.assertEqual(response.status_code, 206)
        self.assertEqual(response.content, self.audio_bytes[1:])
        self.assertEqual(self._logs(self.call_a).mapped("access_type"), ["play"])
        # another user's seek is their own play
        self._login(self.manager)
        self.url_open(self._url(self.call_a), headers={"Range": "bytes=500-"})
        self.assertEqual(self._logs(self.call_a).user_id, self.agent_a | self.manager)

    def test_audio_route_refused(self):
        # 404 as for a call that does not exist: the route tells no ids apart
        cases = [
            (self.agent_b, self.call_a, 404),
            (self.agent_a, self.call_b, 404),
            (self.manager_b, self.call_a, 404),
            (self.manager, self.call_other, 404),
            (self.portal, self.call_a, 404),
            (self.internal, self.call_a, 404),
        ]
        for user, call, status in cases:
            self._login(user)
            with self.subTest(user=user.login, call=call.name), mute_logger("odoo.http"):
                response = self.url_open(self._url(call), headers={"Range": "bytes=0-9"})
                self.assertEqual(response.status_code, status)
                self.assertNotIn(self.audio_bytes[:10], response.content)
        self._login(self.manager)
        with mute_logger("odoo.http"):
            self.assertEqual(self.url_open("/call_recording/999999999/audio").status_code, 404)
        no_audio = self._call(self.agent_a, "+36301234567")
        self._login(self.agent_a)
        with mute_logger("odoo.http"):
            self.assertEqual(self.url_open(self._url(no_audio)).status_code, 404)
        # nothing played or downloaded; each refusal is logged beside plays and downloads
        logs = self._logs(self.call_a | self.call_b | self.call_other)
        self.assertEqual(set(logs.mapped("access_type")), {"refused"})
        self.assertEqual(
            {(log.user_id, log.call_id) for log in logs},
            {(user, call) for user, call, _status in cases},
        )
        missing = self.env["call.recording.access.log"].search(
            [("call_reference", "=", "#999999999")]
        )
        self.assertEqual((missing.access_type, missing.user_id), ("refused", self.manager))
        self.assertFalse(self._logs(no_audio), "a call without audio is no refusal")

    def test_audio_route_needs_login(self):
        self.authenticate(None, None)
        response = self.url_open(self._url(self.call_a), allow_redirects=False)
        self.assertIn(response.status_code, (303, 302))
        self.assertIn("/web/login", response.headers["Location"])
        self.assertFalse(self._logs(self.call_a))

    def test_manager_plays_any_call_of_company(self):
        self._login(self.manager)
        for call in (self.call_a, self.call_b):
            response = self.url_open(self._url(call))
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.content, self.audio_bytes)
        self.assertEqual((self._logs(self.call_a) | self._logs(self.call_b)).user_id, self.manager)
