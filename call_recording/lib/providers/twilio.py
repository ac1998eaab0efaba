"""Twilio Programmable Voice (REST API 2010-04-01).

Calls are listed by start day (Twilio filters ``StartTime`` by UTC day
only), so the exact ``[since, until)`` window is applied here.  The call
list carries no recording data: each completed call's recordings are read
from ``Calls/{CA}/Recordings.json``.  Webhooks are the
``recordingStatusCallback`` form POSTs, signed with ``X-Twilio-Signature``
like twilio-python's ``RequestValidator`` checks them.

Config keys: ``base_url`` (default https://api.twilio.com), ``login``
(Account SID), ``secret`` (Auth Token, also the webhook key),
``page_size`` (default 50, at most 1000), ``media_format`` ("mp3" or
"wav", default "mp3"), plus those of :func:`.http.make_session`.
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit, urlunsplit

from .base import (
    AudioNotReady,
    CallPage,
    MalformedData,
    ProviderAdapter,
    ProviderCall,
    ProviderError,
    WebhookEvent,
    WebhookRejected,
)
from .http import ApiClient, audio_stream, json_of, raise_for_status

API = "/2010-04-01"
STATES = {
    "completed": "answered",
    "in-progress": "answered",
    "busy": "busy",
    "failed": "failed",
    "no-answer": "missed",
    "canceled": "missed",
    "queued": "missed",
    "ringing": "missed",
}


def _date(value):
    """A Twilio RFC 2822 date as an aware UTC datetime."""
    if not value:
        raise ValueError("no start_time")
    return parsedate_to_datetime(value).astimezone(UTC)


def compute_signature(auth_token, url, params):
    """Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token, url + sorted key+value)).

    ``params`` maps a name to a value or a list of values; as in
    twilio-python, the names are sorted and each name's distinct values
    are sorted too.
    """
    text = url
    for name in sorted(set(params or {})):
        values = params[name]
        if not isinstance(values, (list, tuple)):
            values = [values]
        for value in sorted(set(values)):
            text += name + value
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_with_port(url):
    parts = urlsplit(url)
    if parts.port:
        return url
    port = 443 if parts.scheme == "https" else 80
    netloc = f"{parts.netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _url_without_port(url):
    parts = urlsplit(url)
    if not parts.port:
        return url
    netloc = parts.netloc.rsplit(":", 1)[0]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_variants(url):
    """The URL with and without its port: the signature may use either."""
    return list(dict.fromkeys([_url_without_port(url), _url_with_port(url)]))


def _signed_params(query, body, form):
    """The parameters covered by the signature (none for a JSON body, checked here)."""
    if "bodySHA256" in query:
        # JSON bodies: the URL is signed, the body is hashed into it
        expected = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(expected.encode(), query["bodySHA256"][0].encode()):
            raise WebhookRejected("the body does not match bodySHA256")
        return {}
    if body:
        params = {}
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(name, []).append(value)
        return params
    return dict(form or {})


class TwilioAdapter(ProviderAdapter):
    code = "twilio"
    name = "Twilio"

    def __init__(self, config, session=None):
        super().__init__(config, session)
        self.base_url = (config.get("base_url") or "https://api.twilio.com").rstrip("/")
        self.account = config.get("login") or ""
        self.client = ApiClient(
            self.name, config, session, auth=(self.account, config.get("secret") or "")
        )
        self.session = self.client.session
        self.page_size = max(1, min(int(config.get("page_size") or 50), 1000))
        self.media_format = "wav" if config.get("media_format") == "wav" else "mp3"

    def _url(self, path):
        return f"{self.base_url}{API}/Accounts/{quote(self.account, safe='')}{path}"

    # -- API -------------------------------------------------------------

    def test_connection(self):
        data = self.client.get_json(self._url(".json"))
        return f"account {data.get('friendly_name') or self.account} ({data.get('status', '?')})"

    def list_calls(self, since, until, cursor=None):
        if cursor:
            # next_page_uri is relative to the API host; never leave it
            if not cursor.startswith(f"{API}/Accounts/"):
                raise MalformedData(f"Twilio sent an unexpected next page address: {cursor!r}")
            data = self.client.get_json(self.base_url + cursor)
        else:
            last = until.astimezone(UTC)
            params = {
                "StartTime>": since.astimezone(UTC).date().isoformat(),
                "StartTime<": last.date().isoformat(),
                "PageSize": self.page_size,
            }
            data = self.client.get_json(self._url("/Calls.json"), params=params)
        rows = data.get("calls")
        if not isinstance(rows, list):
            raise MalformedData("Twilio sent a call list without 'calls'.")
        page = CallPage(calls=[], next_cursor=data.get("next_page_uri") or None)
        for raw in rows:
            sid = raw.get("sid") if isinstance(raw, dict) else None
            try:
                call = self._parse_call(raw)
                if not since <= call.start < until:
                    continue
                self._add_recording(call)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                page.errors.append((sid or "?", f"unreadable call: {exc!r}"))
                continue
            except MalformedData as exc:
                page.errors.append((sid or "?", str(exc)))
                continue
            page.calls.append(call)
        return page

    def refresh_call(self, external_id):
        response = self.client.get(self._url(f"/Calls/{quote(external_id, safe='')}.json"))
        if response.status_code == 404:
            response.close()
            return None
        raise_for_status(response, self.name)
        data = json_of(response, self.name)
        try:
            call = self._parse_call(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedData(f"Twilio sent an unreadable call {external_id}: {exc!r}") from exc
        self._add_recording(call)
        return call

    def open_audio(self, call):
        ref = getattr(call, "recording_ref", None)
        if not ref:
            error = ProviderError(f"Twilio call {call.external_id} has no recording.")
            error.retryable = False
            raise error
        url = self._url(f"/Recordings/{quote(ref, safe='')}.{self.media_format}")
        response = self.client.get(url, stream=True)
        if response.status_code == 404:
            response.close()
            raise AudioNotReady(f"Twilio cannot serve recording {ref} yet (HTTP 404).")
        return audio_stream(response, self.name)

    # -- parsing -----------------------------------------------------------

    def _parse_call(self, raw):
        sid = raw["sid"]
        if not isinstance(sid, str) or not sid:
            raise ValueError("no sid")
        start = _date(raw.get("start_time") or raw.get("date_created"))
        status = raw["status"]
        sender, receiver = raw.get("from") or None, raw.get("to") or None
        twilio_direction = raw.get("direction") or ""
        if str(sender).startswith("client:") and str(receiver).startswith("client:"):
            direction = "internal"
        elif twilio_direction == "inbound":
            direction = "inbound"
        elif twilio_direction.startswith("outbound"):
            direction = "outbound"
        else:
            raise ValueError(f"unknown direction {twilio_direction!r}")
        # A Twilio Client identity ("client:alice") is an agent, not a number.
        agent_side = receiver if direction == "inbound" else sender
        agent = agent_side[len("client:") :] if str(agent_side).startswith("client:") else None
        return ProviderCall(
            external_id=sid,
            start=start,
            direction=direction,
            state=STATES.get(status, "failed"),
            caller_number=None if str(sender).startswith("client:") else sender,
            callee_number=None if str(receiver).startswith("client:") else receiver,
            duration=int(raw.get("duration") or 0),
            agent_external_id=agent,
            recording_ref=None,
            recording_ready=False,
            raw={
                key: raw.get(key)
                for key in ("sid", "from", "to", "direction", "status", "start_time", "duration")
            },
        )

    def _add_recording(self, call):
        """Set the recording of ``call``: the completed one, else one still processing."""
        if call.raw.get("status") != "completed":
            call.recording_ready = True
            return
        data = self.client.get_json(
            self._url(f"/Calls/{quote(call.external_id, safe='')}/Recordings.json")
        )
        recordings = data.get("recordings")
        if not isinstance(recordings, list):
            raise MalformedData(f"Twilio sent no recording list for {call.external_id}.")
        completed = [r for r in recordings if r.get("status") == "completed"]
        processing = [r for r in recordings if r.get("status") in ("processing", "in-progress")]
        if completed:
            call.recording_ref, call.recording_ready = completed[0]["sid"], True
        elif processing:
            call.recording_ref, call.recording_ready = processing[0]["sid"], False
        else:
            call.recording_ref, call.recording_ready = None, True

    # -- webhooks ----------------------------------------------------------

    def parse_webhook(self, url, headers, body, form):
        signature = headers.get("X-Twilio-Signature") or ""
        token = self.config.get("secret") or ""
        if not signature or not token:
            raise WebhookRejected("missing X-Twilio-Signature")
        query = parse_qs(urlsplit(url).query)
        params = _signed_params(query, body or b"", form)
        valid = False
        for candidate in url_variants(url):
            expected = compute_signature(token, candidate, params)
            # no short-circuit: both variants are always checked
            valid |= hmac.compare_digest(expected.encode(), signature.encode())
        if not valid:
            raise WebhookRejected("invalid X-Twilio-Signature")
        if "bodySHA256" in query:
            try:
                fields = json.loads(body or b"")
            except ValueError as exc:
                raise MalformedData("Twilio sent a webhook body that is not JSON.") from exc
        else:
            fields = {k: (v[0] if isinstance(v, list) else v) for k, v in params.items()}
        account = fields.get("AccountSid") or ""
        if not hmac.compare_digest(account.encode(), self.account.encode()):
            raise WebhookRejected("the webhook is for another Twilio account")
        call_sid, recording_sid = fields.get("CallSid"), fields.get("RecordingSid")
        if not call_sid:
            raise MalformedData("Twilio webhook without CallSid.")
        status = fields.get("RecordingStatus") or ""
        return [
            WebhookEvent(
                event_key=f"{recording_sid or call_sid}:{status or fields.get('CallStatus', '')}",
                external_id=call_sid,
                recording_ref=recording_sid if status == "completed" else None,
                kind=f"recording.{status}" if status else "call",
            )
        ]
