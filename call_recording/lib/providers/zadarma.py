"""Zadarma API v1 (PBX statistics and call recordings).

Requests are signed as zadarma/user-api-py-v1 ``zadarma/api.py`` does:
``Authorization: {user_key}:{base64(hex(HMAC-SHA1(secret, method +
params + md5(params))))}``, where ``params`` is the urlencoded query
(``format=json`` included) sorted by name.

The statistics give local times without a zone: they are read in
``config["timezone"]``.  In the autumn hour that happens twice, a row
is taken as the first occurrence unless that would put it before the
previous row (rows come oldest first), then as the second.  Each request
asks one hour more on both sides (a day-light saving change must not drop
a call at the edge) and the exact window is applied here.  One request may
cover at most one month (``max_window`` is 27 days: February plus that
padding) and the statistics allow 3 requests a minute, which this adapter
respects itself (``rate_limit_per_minute``).

Zadarma has no "read one call" request: ``refresh_call`` searches the
last ``refresh_lookback_days`` (default 7) of statistics, which costs at
least one rate-limited request per call.

Config keys: ``base_url`` (default https://api.zadarma.com), ``login``
(user key), ``secret`` (secret key, also the webhook key unless
``webhook_secret`` is set), ``timezone`` (IANA, default UTC),
``page_size`` (default 1000, at most 1000), ``rate_limit_per_minute``
(default 3), ``record_link_lifetime`` (seconds, default 1800),
``refresh_lookback_days``, plus those of :func:`.http.make_session`.
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from ..zones import zone
from .base import (
    AudioExpired,
    AudioNotReady,
    CallPage,
    MalformedData,
    ProviderAdapter,
    ProviderCall,
    ProviderError,
    WebhookEvent,
    WebhookRejected,
)
from .http import (
    ApiClient,
    SlidingWindowLimiter,
    audio_stream,
    config_clock,
    config_sleep,
    json_of,
    provider_message,
    raise_for_status,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAD = timedelta(hours=1)
STATES = {
    "answered": "answered",
    "busy": "busy",
    "no answer": "missed",
    "cancel": "missed",
    "voicemail": "voicemail",
}


def sign(secret, method, params):
    """The signature part of Zadarma's Authorization header (see the module doc)."""
    params_string = urlencode(sorted(params.items()))
    md5hash = hashlib.md5(params_string.encode()).hexdigest()  # noqa: S324 - Zadarma's scheme
    data = method + params_string + md5hash
    hex_digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(hex_digest.encode()).decode()


#: The form fields each notification is signed over, in order (Zadarma's
#: user-api-v1 ``lib/Webhook/Notify*.php``, ``getSignatureString``).
SIGNED_FIELDS = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
    "NOTIFY_IVR": ("caller_id", "called_did", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
    "NOTIFY_OUT_END": ("internal", "destination", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}


#: Notifications of a call starting on an extension (its agent's screen pop).
START_EVENTS = ("NOTIFY_INTERNAL", "NOTIFY_OUT_START")


def webhook_signature(secret, *parts):
    """Zadarma's notification ``Signature``: base64(hex(HMAC-SHA1(secret, concat(parts))))."""
    hex_digest = hmac.new(secret.encode(), "".join(parts).encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(hex_digest.encode()).decode()


def check_webhook_signature(secret, form, signature):
    """Raise :class:`WebhookRejected` unless ``signature`` signs this notification.

    Every event is checked, whatever we do with it: an event we cannot
    verify (unknown type) is refused too.
    """
    if not signature or not secret:
        raise WebhookRejected("missing Signature")
    fields = SIGNED_FIELDS.get(form.get("event") or "")
    if fields is None:
        raise WebhookRejected("unknown event, its Signature cannot be checked")
    expected = webhook_signature(secret, *(str(form.get(name) or "") for name in fields))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise WebhookRejected("invalid Signature")


def echo_response(args):
    """The text to answer Zadarma's ``zd_echo`` check of a notification URL, or None."""
    value = (args or {}).get("zd_echo")
    return str(value) if value else None


def _flag(value):
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


class ZadarmaAdapter(ProviderAdapter):
    code = "zadarma"
    name = "Zadarma"
    max_window = timedelta(days=27)

    def __init__(self, config, session=None):
        super().__init__(config, session)
        self.base_url = (config.get("base_url") or "https://api.zadarma.com").rstrip("/")
        self.user_key = config.get("login") or ""
        self.secret = config.get("secret") or ""
        self.tz = zone(config.get("timezone") or "UTC")
        if self.tz is None:
            raise ProviderError(f"Unknown time zone {config.get('timezone')!r}")
        self.client = ApiClient(self.name, config, session)
        self.session = self.client.session
        self.page_size = max(1, min(int(config.get("page_size") or 1000), 1000))
        self.clock = config_clock(config)
        self.limiter = SlidingWindowLimiter(
            config.get("rate_limit_per_minute") or 3,
            clock=self.clock,
            sleep=config_sleep(config),
        )
        self.link_lifetime = int(config.get("record_link_lifetime") or 1800)
        self.lookback = timedelta(days=int(config.get("refresh_lookback_days") or 7))

    # -- requests ----------------------------------------------------------

    def _get(self, method, params, limited=False):
        params = {**{k: str(v) for k, v in params.items()}, "format": "json"}
        query = urlencode(sorted(params.items()))
        headers = {"Authorization": f"{self.user_key}:{sign(self.secret, method, params)}"}
        if limited:
            self.limiter.acquire()
        return self.client.get(f"{self.base_url}{method}?{query}", headers=headers)

    def _get_json(self, method, params, limited=False):
        response = self._get(method, params, limited)
        raise_for_status(response, self.name)
        data = json_of(response, self.name)
        if data.get("status") != "success":
            error = ProviderError(f"Zadarma refused {method}: {data.get('message') or data}")
            error.retryable = False
            raise error
        return data

    def test_connection(self):
        data = self._get_json("/v1/info/balance/", {})
        return f"balance {data.get('balance')} {data.get('currency', '')}".strip()

    # -- times ---------------------------------------------------------------

    def _wall(self, moment):
        return moment.astimezone(self.tz).strftime(TIME_FORMAT)

    def _utc(self, text, previous=None):
        """A Zadarma local time as UTC; ``previous`` settles the repeated autumn hour."""
        naive = datetime.strptime(text, TIME_FORMAT)
        first = naive.replace(tzinfo=self.tz).astimezone(UTC)
        second = naive.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        if first != second and previous is not None and first < previous <= second:
            return second
        return first

    # -- listing -------------------------------------------------------------

    def list_calls(self, since, until, cursor=None):
        if cursor:
            try:
                state = json.loads(cursor)
                chunk_start = datetime.fromisoformat(state["s"])
                skip = int(state["k"])
            except (ValueError, KeyError, TypeError) as exc:
                raise MalformedData(f"Unreadable Zadarma cursor {cursor!r}") from exc
        else:
            chunk_start, skip = since, 0
        chunk_end = min(chunk_start + self.max_window, until)
        params = {
            "start": self._wall(chunk_start - PAD),
            "end": self._wall(chunk_end + PAD),
            "version": 2,
            "skip": skip,
            "limit": self.page_size,
        }
        data = self._get_json("/v1/statistics/pbx/", params, limited=True)
        rows = data.get("stats")
        if not isinstance(rows, list):
            raise MalformedData("Zadarma sent statistics without 'stats'.")
        page = CallPage(calls=[])
        previous = None
        for raw in rows:
            ext = raw.get("pbx_call_id") if isinstance(raw, dict) else None
            try:
                call = self.parse_row(raw, previous)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                page.errors.append((ext or "?", f"unreadable call: {exc!r}"))
                continue
            previous = call.start
            if chunk_start <= call.start < chunk_end:
                page.calls.append(call)
        if len(rows) >= self.page_size:
            page.next_cursor = json.dumps({"s": chunk_start.isoformat(), "k": skip + len(rows)})
        elif chunk_end < until:
            page.next_cursor = json.dumps({"s": chunk_end.isoformat(), "k": 0})
        return page

    def parse_row(self, raw, previous=None):
        """One statistics row (version 2) as a :class:`ProviderCall`."""
        pbx_call_id = raw["pbx_call_id"]
        if not isinstance(pbx_call_id, str) or not pbx_call_id:
            raise ValueError("no pbx_call_id")
        start = self._utc(raw["callstart"], previous)
        caller, callee = raw.get("clid") or None, raw.get("destination") or None
        if pbx_call_id.startswith("in_"):
            direction = "inbound"
        elif pbx_call_id.startswith("out_"):
            direction = "outbound"
        else:
            kind = str(raw.get("call_type") or raw.get("direction") or "").lower()
            if kind.startswith("in"):
                direction = "inbound"
            elif kind.startswith("out"):
                direction = "outbound"
            else:
                direction = "internal"
        recorded = _flag(raw.get("is_recorded"))
        return ProviderCall(
            external_id=pbx_call_id,
            start=start,
            direction=direction,
            state=STATES.get(str(raw.get("disposition") or "").lower(), "failed"),
            caller_number=str(caller) if caller else None,
            callee_number=str(callee) if callee else None,
            duration=int(raw.get("seconds") or 0),
            agent_external_id=str(raw["sip"]) if raw.get("sip") else None,
            recording_ref=pbx_call_id if recorded else None,
            recording_ready=True,
            raw=dict(raw),
        )

    def refresh_call(self, external_id):
        until = datetime.fromtimestamp(self.clock(), UTC) + timedelta(minutes=5)
        since = until - self.lookback
        cursor = None
        while True:
            page = self.list_calls(since, until, cursor)
            for call in page.calls:
                if call.external_id == external_id:
                    return call
            for ext, reason in page.errors:
                if ext == external_id:
                    raise MalformedData(f"Zadarma sent an unreadable call {ext}: {reason}")
            cursor = page.next_cursor
            if not cursor:
                return None

    # -- audio ---------------------------------------------------------------

    def open_audio(self, call):
        """Ask for a download link, then stream it (the link is never reused)."""
        ref = getattr(call, "recording_ref", None) or call.external_id
        response = self._get(
            "/v1/pbx/record/request/", {"pbx_call_id": ref, "lifetime": self.link_lifetime}
        )
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            raise_for_status(response, self.name)
        data = json_of(response, self.name)
        if data.get("status") != "success":
            message = str(data.get("message") or f"HTTP {response.status_code}")
            if "not found" in message.lower() or "not ready" in message.lower():
                raise AudioNotReady(f"Zadarma has no recording of {ref} yet: {message}")
            raise ProviderError(f"Zadarma refused the recording of {ref}: {message}")
        links = data.get("links") or ([data["link"]] if data.get("link") else [])
        if not links or not isinstance(links[0], str):
            raise MalformedData(f"Zadarma sent no recording link for {ref}.")
        link = links[0]
        if urlsplit(link).scheme not in ("http", "https"):
            raise MalformedData(f"Zadarma sent an odd recording link for {ref}.")
        download = self.client.get(link, auth=False, stream=True)
        if 400 <= download.status_code < 500 and download.status_code != 429:
            message = provider_message(download)
            download.close()
            raise AudioExpired(
                f"Zadarma's recording link for {ref} was refused "
                f"(HTTP {download.status_code}: {message}); a new one is asked next time."
            )
        return audio_stream(download, self.name)

    # -- webhooks --------------------------------------------------------------

    def _start_event(self, form, event):
        """A call ringing on an extension (NOTIFY_INTERNAL) or dialled from one
        (NOTIFY_OUT_START): the screen pop of that extension's agent."""
        extension = str(form.get("internal") or "").strip()
        pbx_call_id = str(form.get("pbx_call_id") or "").strip()
        if not extension or not pbx_call_id:
            return []  # no agent to tell (a call still in the IVR)
        try:
            start = self._utc(str(form.get("call_start") or ""))
        except ValueError as exc:
            raise MalformedData(f"Zadarma {event} with an unreadable call_start") from exc
        outbound = event == "NOTIFY_OUT_START"
        if outbound:  # from the extension to ``destination``
            caller, callee = None, str(form.get("destination") or "") or None
        else:  # from ``caller_id`` to our number ``called_did``
            caller = str(form.get("caller_id") or "") or None
            callee = str(form.get("called_did") or "") or None
        call = ProviderCall(
            external_id=pbx_call_id,
            start=start,
            direction="outbound" if outbound else "inbound",
            state="in_progress",
            caller_number=caller,
            callee_number=callee,
            agent_external_id=extension,
        )
        return [
            WebhookEvent(
                event_key=f"{pbx_call_id}:{extension}:{event}",
                external_id=pbx_call_id,
                call=call,
                kind=event,
                starting=True,
            )
        ]

    def parse_webhook(self, url, headers, body, form):
        """Check any notification's signature; a NOTIFY_RECORD names a recording,
        a NOTIFY_INTERNAL or NOTIFY_OUT_START a call ringing on (or dialled
        from) an extension; the other (signed) events are acknowledged and
        ignored."""
        form = form or {}
        secret = self.config.get("webhook_secret") or self.secret
        check_webhook_signature(secret, form, headers.get("Signature") or "")
        event = form.get("event") or ""
        if event in START_EVENTS:
            return self._start_event(form, event)
        if event != "NOTIFY_RECORD":
            return []
        pbx_call_id = form.get("pbx_call_id") or ""
        call_id = form.get("call_id_with_rec") or ""
        if not pbx_call_id:
            raise MalformedData("Zadarma NOTIFY_RECORD without pbx_call_id.")
        return [
            WebhookEvent(
                event_key=f"{pbx_call_id}:{call_id}:record",
                external_id=pbx_call_id,
                recording_ref=pbx_call_id,
                kind=event,
            )
        ]

    echo_response = staticmethod(echo_response)
