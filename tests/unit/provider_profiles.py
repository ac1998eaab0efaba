"""How each provider adapter is driven against its fake, for the contract suite.

``test_provider_contract.py`` runs the same tests against every adapter of
``call_recording/lib/providers``; a profile says what differs between
providers only where the interface leaves it to them: the adapter's
settings, where its listing requests go, the audio type it serves, how a
webhook delivery is signed and what its event key is.  The tests of one
provider's own behaviour (its paging parameters, time zones, links, SDK)
stay in ``test_providers_<code>.py`` and use the same profile to make calls.
"""

import json
import time
from dataclasses import dataclass

from call_recording_lib.providers import get_adapter

TWILIO_SID, TWILIO_TOKEN = "AC" + "0123456789abcdef" * 2, "twilio-auth-token"
AIRCALL_ID, AIRCALL_TOKEN, AIRCALL_HOOK = "aircall-id", "aircall-token", "aircall-hook-token"
ZADARMA_KEY, ZADARMA_SECRET = "zadarma-key", "zadarma-secret"

#: the recordings the fakes serve: an MP3 (Aircall, Zadarma) or a WAV (Twilio)
MP3 = b"ID3" + bytes(range(256)) * 400
WAV = b"RIFF" + bytes(range(256)) * 400  # about 100 KB


@dataclass
class Delivery:
    """One webhook delivery as the adapter receives it."""

    url: str
    headers: dict
    body: bytes
    form: dict

    def parse(self, adapter):
        return adapter.parse_webhook(self.url, self.headers, self.body, self.form)


class Profile:
    code = None
    #: the provider's name in the adapter's messages
    label = None
    audio = MP3
    content_type = "audio/mpeg"
    #: what the fake's listing requests contain (None: every request)
    list_path = None
    #: the reason the provider gives with its HTTP 401
    auth_reason = None
    #: an external id the fake does not know
    unknown_id = None
    #: the values every test call has unless it says otherwise
    defaults = {
        "direction": "inbound",
        "caller": "+36301112233",
        "callee": "+3612223344",
        "duration": 60,
    }

    def config(self, quick_config, fake, **extra):
        return quick_config(fake, **{"page_size": 3, **extra})

    def adapter(self, quick_config, fake, **extra):
        return get_adapter(self.code, self.config(quick_config, fake, **extra))

    def add(self, fake, start, **kwargs):
        """A call in the fake, started at ``start``, with a ready recording by default."""
        return fake.add_call(start=start, **{**self.defaults, "audio": self.audio, **kwargs})

    def recording_ref(self, fake, ext):
        """The ``recording_ref`` the adapter gives a call with a recording."""
        return ext

    # -- webhooks -------------------------------------------------------------------

    def delivery(self, fake, ext):
        """The recording-ready webhook of call ``ext``, signed as the provider signs it."""
        raise NotImplementedError

    def unsigned(self, delivery):
        raise NotImplementedError

    def badly_signed(self, delivery):
        raise NotImplementedError

    def event_key(self, delivery):
        raise NotImplementedError


class AircallProfile(Profile):
    code, label = "aircall", "Aircall"
    list_path = "/v1/calls"
    auth_reason = "Unauthorized"
    unknown_id = "999"

    def config(self, quick_config, fake, **extra):
        extra = {"webhook_secret": AIRCALL_HOOK, **extra}
        return super().config(quick_config, fake, **extra)

    def delivery(self, fake, ext):
        body = fake.sign_webhook("https://odoo.example.com/hook", fake.webhook_payload(ext))
        return Delivery("https://odoo.example.com/hook", {}, json.dumps(body).encode(), {})

    def _with_body(self, delivery, body):
        return Delivery(delivery.url, delivery.headers, json.dumps(body).encode(), delivery.form)

    def unsigned(self, delivery):
        body = json.loads(delivery.body)
        del body["token"]
        return self._with_body(delivery, body)

    def badly_signed(self, delivery):
        return self._with_body(delivery, dict(json.loads(delivery.body), token="wrong"))

    def event_key(self, delivery):
        body = json.loads(delivery.body)
        return f"{body['data']['id']}:{body['event']}:{body['timestamp']}"


class SignedFormProfile(Profile):
    """A provider that POSTs a form signed in one header (Twilio, Zadarma)."""

    webhook_url = "https://odoo.example.com/hook"
    signature_header = None
    #: a well-formed signature that is not the right one
    wrong_signature = None

    def delivery(self, fake, ext):
        form = fake.webhook_payload(ext)
        return Delivery(self.webhook_url, fake.sign_webhook(self.webhook_url, form), b"", form)

    def unsigned(self, delivery):
        return Delivery(delivery.url, {}, delivery.body, delivery.form)

    def badly_signed(self, delivery):
        headers = {self.signature_header: self.wrong_signature}
        return Delivery(delivery.url, headers, delivery.body, delivery.form)


class TwilioProfile(SignedFormProfile):
    code, label = "twilio", "Twilio"
    audio, content_type = WAV, "audio/x-wav"
    list_path = "Calls.json"
    auth_reason = "Authenticate"
    unknown_id = "CA" + "f" * 32
    webhook_url = "https://odoo.example.com/call_recording/webhook/twilio/key"
    signature_header, wrong_signature = "X-Twilio-Signature", "bm90IGl0"

    def recording_ref(self, fake, ext):
        return fake.recording_sid(ext)

    def event_key(self, delivery):
        return f"{delivery.form['RecordingSid']}:completed"


class ZadarmaProfile(SignedFormProfile):
    code, label = "zadarma", "Zadarma"
    auth_reason = "Not authorized"
    unknown_id = "in_unknown"
    defaults = {**Profile.defaults, "agent_id": "101"}
    signature_header, wrong_signature = "Signature", "d3Jvbmc="

    def config(self, quick_config, fake, **extra):
        # Zadarma's statistics are read around the adapter's "now": the wall
        # clock (the fake lists calls by it), never the fake clock of the sleeps
        extra = {
            "timezone": "Europe/Budapest",
            "rate_limit_per_minute": 999,
            "clock": time.time,
            **extra,
        }
        return super().config(quick_config, fake, **extra)

    def event_key(self, delivery):
        form = delivery.form
        return f"{form['pbx_call_id']}:{form['call_id_with_rec']}:record"


AIRCALL, TWILIO, ZADARMA = AircallProfile(), TwilioProfile(), ZadarmaProfile()
PROFILES = {profile.code: profile for profile in (AIRCALL, TWILIO, ZADARMA)}
