import json

from odoo.tests import HttpCase, tagged

from .provider_common import ProviderCommon


@tagged("post_install", "-at_install")
class TestProviderWebhooks(HttpCase, ProviderCommon):
    def webhook_url(self, provider):
        key = provider.sudo().webhook_key
        return f"{self.base_url()}/call_recording/webhook/{provider.provider_type}/{key}"

    def post_form(self, provider, form, headers=None):
        return self.url_open(
            self.webhook_url(provider), data=form, headers=headers or {}, allow_redirects=False
        )

    def post_json(self, provider, body, headers=None):
        return self.url_open(
            self.webhook_url(provider),
            data=json.dumps(body) if not isinstance(body, (bytes, str)) else body,
            headers={"Content-Type": "application/json", **(headers or {})},
            allow_redirects=False,
        )

    def events(self, provider):
        return self.env["call.recording.webhook.event"].search([("provider_id", "=", provider.id)])

    def add_call(self, code, **values):
        return super().add_call(code, **{"start": self.ago(minutes=20), "duration": 42, **values})

    # -- Twilio: form POST signed with X-Twilio-Signature ------------------

    def twilio_delivery(self, ext):
        provider, fake = self.providers["twilio"], self.fakes["twilio"]
        form = fake.webhook_payload(ext)
        headers = fake.sign_webhook(self.webhook_url(provider), form)
        return provider, form, headers

    def test_twilio_valid_signature_then_import(self):
        ext = self.add_call("twilio")
        provider, form, headers = self.twilio_delivery(ext)
        response = self.post_form(provider, form, headers)
        self.assertEqual(response.status_code, 200)
        event = self.events(provider)
        self.assertEqual(event.state, "pending")
        self.assertEqual(event.external_id, ext)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 0, "no download in the request")
        provider._sync(trigger="webhook")
        call = self.calls_of(provider)
        self.assertEqual(call.external_id, ext)
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(event.state, "done")

    def test_twilio_invalid_or_missing_signature(self):
        ext = self.add_call("twilio")
        provider, form, headers = self.twilio_delivery(ext)
        forged = dict(headers, **{"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
        self.assertEqual(self.post_form(provider, form, forged).status_code, 403)
        self.assertEqual(self.post_form(provider, form, {}).status_code, 403)
        tampered = dict(form, RecordingSid="RE" + "f" * 32)
        self.assertEqual(self.post_form(provider, tampered, headers).status_code, 403)
        self.assertFalse(self.events(provider))

    def test_twilio_replayed_delivery_is_ignored(self):
        ext = self.add_call("twilio")
        provider, form, headers = self.twilio_delivery(ext)
        for _attempt in range(3):
            self.assertEqual(self.post_form(provider, form, headers).status_code, 200)
        self.assertEqual(len(self.events(provider)), 1)
        provider._sync(trigger="webhook")
        provider._sync(trigger="cron")
        self.assertEqual(len(self.calls_of(provider)), 1)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 1)

    def test_unknown_address(self):
        provider = self.providers["twilio"]
        url = f"{self.base_url()}/call_recording/webhook/twilio/not-a-key"
        self.assertEqual(self.url_open(url, data={"a": "b"}).status_code, 404)
        # the key of another provider type does not open this one
        key = self.providers["aircall"].sudo().webhook_key
        url = f"{self.base_url()}/call_recording/webhook/twilio/{key}"
        self.assertEqual(self.url_open(url, data={"a": "b"}).status_code, 404)
        self.assertFalse(self.events(provider))

    # -- Aircall: JSON with the webhook token in the body ----------------------

    def test_aircall_call_stored_at_once_download_later(self):
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        ext = self.add_call("aircall", agent_email="nobody@example.com", agent_id="77")
        body = fake.webhook_payload(ext, event="call.ended")
        self.assertEqual(self.post_json(provider, body).status_code, 200)
        call = self.calls_of(provider)
        self.assertEqual(call.external_id, ext)
        self.assertEqual(call.recording_status, "pending")
        self.assertEqual(fake.audio_downloads, 0)
        provider._sync(trigger="webhook")
        self.assertEqual(call.recording_status, "available")

    def test_aircall_bad_or_missing_token(self):
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        ext = self.add_call("aircall")
        body = fake.webhook_payload(ext, event="call.ended")
        self.assertEqual(self.post_json(provider, dict(body, token="wrong")).status_code, 403)
        missing = {k: v for k, v in body.items() if k != "token"}
        self.assertEqual(self.post_json(provider, missing).status_code, 403)
        self.assertEqual(self.post_json(provider, b"not json").status_code, 403)
        self.assertFalse(self.calls_of(provider))

    def test_aircall_out_of_order_and_repeated(self):
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        ext = self.add_call("aircall")
        assets = fake.webhook_payload(ext, event="call.comm_assets_generated")
        ended = fake.webhook_payload(ext, event="call.ended")
        for body in (assets, ended, assets, ended):
            self.assertEqual(self.post_json(provider, body).status_code, 200)
        call = self.calls_of(provider)
        self.assertEqual(len(call), 1)
        self.assertEqual(call.recording_status, "pending")
        self.assertEqual(len(self.events(provider)), 2)

    def test_same_call_by_webhook_and_by_cron(self):
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        ext = self.add_call("aircall")
        self.post_json(provider, fake.webhook_payload(ext, event="call.ended"))
        log = provider._sync(trigger="cron")
        self.assertEqual(log.calls_created, 0)
        call = self.calls_of(provider)
        self.assertEqual(len(call), 1)
        self.assertEqual(call.recording_status, "available")
        self.assertEqual(fake.audio_downloads, 1)

    def test_twilio_and_zadarma_same_call_by_webhook_and_by_cron(self):
        for code in ("twilio", "zadarma"):
            with self.subTest(provider=code):
                provider, fake = self.providers[code], self.fakes[code]
                ext = self.add_call(code)
                form = fake.webhook_payload(ext)
                headers = fake.sign_webhook(self.webhook_url(provider), form)
                self.assertEqual(self.post_form(provider, form, headers).status_code, 200)
                log = provider._sync(trigger="cron")
                self.assertEqual(log.webhooks_processed, 1)
                call = self.calls_of(provider)
                self.assertEqual(len(call), 1)
                self.assertEqual(call.external_id, ext)
                self.assertEqual(call.recording_status, "available")
                self.assertEqual(fake.audio_downloads, 1)
                # delivered again after the import: nothing new
                self.assertEqual(self.post_form(provider, form, headers).status_code, 200)
                provider._sync(trigger="cron")
                self.assertEqual(len(self.calls_of(provider)), 1)
                self.assertEqual(fake.audio_downloads, 1)

    # -- Zadarma: form POST with a Signature header, echo check ---------------

    def test_zadarma_signed_notification(self):
        provider, fake = self.providers["zadarma"], self.fakes["zadarma"]
        ext = self.add_call("zadarma")
        form = fake.webhook_payload(ext)
        headers = fake.sign_webhook(self.webhook_url(provider), form)
        self.assertEqual(self.post_form(provider, form, {}).status_code, 403)
        self.assertEqual(self.post_form(provider, form, {"Signature": "d3Jvbmc="}).status_code, 403)
        self.assertEqual(self.post_form(provider, form, headers).status_code, 200)
        self.assertEqual(self.post_form(provider, form, headers).status_code, 200)
        self.assertEqual(len(self.events(provider)), 1)
        provider._sync(trigger="webhook")
        call = self.calls_of(provider)
        self.assertEqual(call.external_id, ext)
        self.assertEqual(call.recording_status, "available")

    def test_zadarma_echo(self):
        provider = self.providers["zadarma"]
        response = self.url_open(self.webhook_url(provider) + "?zd_echo=abc123")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "abc123")
