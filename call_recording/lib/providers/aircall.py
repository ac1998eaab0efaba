"""Aircall public API v1.

Listing: ``GET /v1/calls?from=&to=&page=&per_page=&order=asc`` (UNIX
seconds, at most 50 per page), paged by ``meta.next_page_link``.  Aircall
serves at most 10,000 results of one query (the ``result_cap``): when the
first page's ``meta.total`` is above it, the adapter halves the time window
until each part fits, and walks the parts one after the other.  The
cursor is therefore the adapter's own JSON (current part and the next
page link), opaque to the engine; nothing is lost short of 10,000 calls
started in one second, which is reported in ``CallPage.errors``.

Recordings are presigned S3 links valid for minutes: ``open_audio`` reads
the call again right before downloading, and once more if the link has
already expired; webhooks carry the whole call and a plain token.  An
answered call whose recording Aircall is still processing has no link
yet: it is marked ``recording_expected``, and read again later.

Rate limit: one :class:`.http.HeaderRateLimiter` for the adapter, shared by
the listing and every download thread: once ``X-AircallApi-Remaining``
reaches 0 (or a 429 comes), every request waits for
``X-AircallApi-Reset``, at most ``rate_limit_max_wait`` seconds; a longer
wait raises :class:`.base.ProviderRateLimited` instead.

Config keys: ``base_url`` (default https://api.aircall.io), ``login`` (API
id), ``secret`` (API token), ``webhook_secret`` (the webhook token),
``page_size`` (default 50, at most 50), ``result_cap`` (default 10000),
``rate_limit_max_wait`` (default 60 s), plus those of
:func:`.http.make_session`.
"""

import hmac
import json
import math
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

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
    HeaderRateLimiter,
    audio_stream,
    config_clock,
    config_sleep,
    json_of,
    provider_message,
    raise_for_status,
)

RESULT_CAP = 10_000
EVENTS = ("call.ended", "call.voicemail_left", "call.comm_assets_generated")
#: Events of a call that is starting: its agent's phone rings (a screen pop).
START_EVENTS = ("call.ringing_on_agent",)


def _number(value):
    """Aircall's raw_digits as given; "anonymous" (hidden caller id) is no number."""
    if not value or not isinstance(value, str) or value.strip().lower() == "anonymous":
        return None
    return value


class AircallAdapter(ProviderAdapter):
    code = "aircall"
    name = "Aircall"

    def __init__(self, config, session=None):
        super().__init__(config, session)
        self.base_url = (config.get("base_url") or "https://api.aircall.io").rstrip("/")
        self.client = ApiClient(
            self.name,
            config,
            session,
            auth=(config.get("login") or "", config.get("secret") or ""),
        )
        self.session = self.client.session
        self.per_page = max(1, min(int(config.get("page_size") or 50), 50))
        self.result_cap = int(config.get("result_cap") or RESULT_CAP)
        self.limiter = HeaderRateLimiter(
            "X-AircallApi-Remaining",
            "X-AircallApi-Reset",
            clock=config_clock(config),
            sleep=config_sleep(config),
            max_wait=float(
                60 if config.get("rate_limit_max_wait") is None else config["rate_limit_max_wait"]
            ),
            provider=self.name,
        )
        # one limiter for every thread of the run (listing and downloads)
        self.client.before = self.limiter.wait
        self.client.after = self.limiter.update
        self.client.limiter = self.limiter

    # -- API -------------------------------------------------------------

    def test_connection(self):
        data = self.client.get_json(f"{self.base_url}/v1/ping")
        return str(data.get("ping") or "pong")

    def _on_our_host(self, link):
        ours, theirs = urlsplit(self.base_url), urlsplit(link)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def list_calls(self, since, until, cursor=None):
        first, end = math.ceil(since.timestamp()), math.ceil(until.timestamp())
        if cursor:
            try:
                state = json.loads(cursor)
                part_from, part_to, link = int(state["f"]), int(state["t"]), state.get("n")
            except (ValueError, KeyError, TypeError) as exc:
                raise MalformedData(f"Unreadable Aircall cursor {cursor!r}") from exc
        else:
            part_from, part_to, link = first, end, None
        errors = []
        if link:
            if not self._on_our_host(link):
                raise MalformedData(f"Aircall sent a next page on another host: {link!r}")
            data = self.client.get_json(link)
        else:
            data, part_to = self._first_page(part_from, part_to, errors)
        rows = data.get("calls")
        if not isinstance(rows, list):
            raise MalformedData("Aircall sent a call list without 'calls'.")
        page = CallPage(calls=[], errors=errors)
        for raw in rows:
            ext = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else "?"
            try:
                started = int(raw["started_at"])
                if not (part_from <= started < part_to and first <= started < end):
                    continue
                call = self.parse_call(raw)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                page.errors.append((ext, f"unreadable call: {exc!r}"))
                continue
            page.calls.append(call)
        next_link = (data.get("meta") or {}).get("next_page_link")
        if next_link:
            page.next_cursor = json.dumps({"f": part_from, "t": part_to, "n": next_link})
        elif part_to < end:
            size = part_to - part_from
            page.next_cursor = json.dumps({"f": part_to, "t": min(part_to + size, end), "n": None})
        return page

    def _first_page(self, part_from, part_to, errors):
        """Page 1 of ``[part_from, part_to)``, halving the part until it fits the cap."""
        while True:
            # ``to`` is sent inclusive of the part's last second on purpose
            # (Aircall does not document it); the part is filtered by the caller.
            params = {
                "from": part_from,
                "to": part_to,
                "page": 1,
                "per_page": self.per_page,
                "order": "asc",
            }
            data = self.client.get_json(f"{self.base_url}/v1/calls", params=params)
            total = (data.get("meta") or {}).get("total") or 0
            if total <= self.result_cap:
                return data, part_to
            if part_to - part_from <= 1:
                errors.append(
                    ("?", f"more than {self.result_cap} calls at {part_from}; some are missing")
                )
                return data, part_to
            part_to = part_from + (part_to - part_from) // 2

    def _read_call(self, external_id):
        response = self.client.get(f"{self.base_url}/v1/calls/{quote(str(external_id), safe='')}")
        if response.status_code == 404:
            response.close()
            return None
        raise_for_status(response, self.name)
        raw = json_of(response, self.name).get("call")
        if not isinstance(raw, dict):
            raise MalformedData(f"Aircall sent no call for {external_id}.")
        return raw

    def refresh_call(self, external_id):
        raw = self._read_call(external_id)
        if raw is None:
            return None
        try:
            return self.parse_call(raw)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedData(f"Aircall sent an unreadable call {external_id}: {exc!r}") from exc

    def open_audio(self, call):
        """Download through a fresh link: read the call again, once more if it expired."""
        for _attempt in range(2):
            raw = self._read_call(call.external_id)
            if raw is None:
                error = ProviderError(f"Aircall no longer knows call {call.external_id}.")
                error.retryable = False
                raise error
            link = raw.get("recording") or raw.get("voicemail")
            if not link:
                raise AudioNotReady(f"Aircall has no recording link for {call.external_id} yet.")
            # a presigned link: no API credentials (S3 refuses two kinds of auth)
            response = self.client.get(link, auth=False, stream=True)
            if response.status_code in (400, 403):
                reason = provider_message(response)
                response.close()
                continue
            if response.status_code == 404:
                response.close()
                raise AudioNotReady(f"Aircall's recording of {call.external_id} is not there yet.")
            return audio_stream(response, self.name)
        raise AudioExpired(
            f"Aircall's recording link of call {call.external_id} expired or was refused "
            f"even when fresh: {reason}"
        )

    # -- parsing -----------------------------------------------------------

    def parse_call(self, raw):
        """One Aircall call object as a :class:`ProviderCall`."""
        external_id = str(raw["id"])
        start = datetime.fromtimestamp(int(raw["started_at"]), UTC)
        direction = raw["direction"]
        if direction not in ("inbound", "outbound"):
            raise ValueError(f"unknown direction {direction!r}")
        other = _number(raw.get("raw_digits"))
        line = _number((raw.get("number") or {}).get("digits"))
        caller, callee = (other, line) if direction == "inbound" else (line, other)
        if raw.get("voicemail"):
            state = "voicemail"
        elif raw.get("answered_at"):
            state = "answered"
        else:
            state = "missed"
        user = raw.get("user") or {}
        link = raw.get("recording") or raw.get("voicemail")
        return ProviderCall(
            external_id=external_id,
            start=start,
            direction=direction,
            state=state,
            caller_number=caller,
            callee_number=callee,
            duration=int(raw.get("duration") or 0),
            agent_email=user.get("email") or None,
            agent_external_id=str(user["id"]) if user.get("id") is not None else None,
            agent_name=user.get("name") or None,
            # the link itself expires: the call id is what open_audio needs
            recording_ref=external_id if link else None,
            recording_ready=bool(link),
            # an answered call's recording appears once Aircall has processed
            # it (call.comm_assets_generated): until then, read it again
            recording_expected=not link and bool(raw.get("answered_at")),
            raw={
                key: raw.get(key)
                for key in (
                    "id",
                    "direction",
                    "status",
                    "started_at",
                    "answered_at",
                    "ended_at",
                    "duration",
                    "raw_digits",
                    "missed_call_reason",
                )
            },
        )

    # -- webhooks ----------------------------------------------------------

    def parse_webhook(self, url, headers, body, form):
        secret = self.config.get("webhook_secret") or ""
        try:
            payload = json.loads(body or b"")
        except ValueError as exc:
            raise WebhookRejected("the webhook body is not JSON") from exc
        if not isinstance(payload, dict):
            raise WebhookRejected("the webhook body is not a JSON object")
        token = payload.get("token")
        if not secret or not isinstance(token, str) or not token:
            raise WebhookRejected("missing webhook token")
        if not hmac.compare_digest(token.encode(), secret.encode()):
            raise WebhookRejected("invalid webhook token")
        event = payload.get("event")
        if event not in EVENTS + START_EVENTS or payload.get("resource", "call") != "call":
            return []
        data = payload.get("data")
        try:
            call = self.parse_call(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedData(
                f"Aircall webhook {event} with an unreadable call: {exc!r}"
            ) from exc
        starting = event in START_EVENTS
        return [
            WebhookEvent(
                event_key=f"{call.external_id}:{event}:{payload.get('timestamp')}",
                external_id=call.external_id,
                call=call,
                recording_ref=None if starting else call.recording_ref,
                kind=event,
                starting=starting,
            )
        ]
