"""A fake Zadarma API (v1) on loopback.

Follows the documented shapes (zadarma.com/en/support/api, the
zadarma/openapi spec and zadarma/user-api-py-v1 ``zadarma/api.py``):

* ``Authorization: {user_key}:{signature}``, the signature recomputed
  from the request's method path and its sorted, urlencoded query; a
  wrong one gets 401 ``{"status": "error", "message": ...}``;
* ``GET /v1/info/balance/``;
* ``GET /v1/statistics/pbx/?start=&end=&version=2&skip=&limit=`` with
  local times without a zone (in ``timezone``), at most one month and
  1000 rows, oldest first, calls that have ended (call records),
  ``{"status": "success", "stats": [...]}`` rows with ``call_id,
  pbx_call_id, sip, callstart, clid, destination, disposition, seconds,
  is_recorded``; 3 requests a minute (429);
* ``GET /v1/pbx/record/request/?pbx_call_id=&lifetime=`` ->
  ``{"status": "success", "links": [...], "lifetime_till": ...}`` (``link``
  for ``call_id=``);
* NOTIFY_RECORD notifications (``pbx_call_id``, ``call_id_with_rec``)
  signed in ``Signature`` = base64(hex(HMAC-SHA1(secret, pbx_call_id +
  call_id_with_rec))); NOTIFY_INTERNAL and NOTIFY_OUT_START (a call on an
  extension) signed over ``caller_id + called_did + call_start`` and
  ``internal + destination + call_start``.

Guesses: the HTTP status of errors (400 for bad parameters, 404 with
"Record not found" while a recording is missing or not ready, 429 with
``{"status": "error", "message": "Too many requests"}``); the v2-only
fields are left out; "one month" is a calendar month from ``start``;
``pbx_call_id`` looks like ``in_<hex>`` / ``out_<hex>`` (``int_`` for
internal calls is invented); a voicemail's disposition is "voicemail";
the download link's path and its 403 once expired.
"""

import base64
import calendar
import hashlib
import hmac
from collections import deque
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from .base import FakeProvider, Reply, same

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DISPOSITION = {
    "answered": "answered",
    "missed": "no answer",
    "busy": "busy",
    "failed": "failed",
    "voicemail": "voicemail",
}
PREFIX = {"inbound": "in_", "outbound": "out_", "internal": "int_"}


def zadarma_signature(secret, method, params):
    """Reference signing (zadarma/user-api-py-v1), written independently of the adapter."""
    params_string = urlencode(sorted(params.items()))
    data = method + params_string + hashlib.md5(params_string.encode()).hexdigest()  # noqa: S324
    return base64.b64encode(
        hmac.new(secret.encode(), data.encode(), hashlib.sha1).hexdigest().encode()
    ).decode()


def _add_month(moment):
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class FakeZadarma(FakeProvider):
    name = "Zadarma"

    def __init__(self, login, secret, timezone="Europe/Budapest", rate_limit_per_minute=3):
        super().__init__(login, secret, rate_limit_per_minute)
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self._stats_requests = deque()

    def make_id(self, start, direction):
        number = self.new_id()
        digest = hashlib.md5(f"{self.login}:{number}".encode()).hexdigest()  # noqa: S324
        return PREFIX.get(direction, "in_") + digest

    def add_call(self, start, **kwargs):
        ext_id = super().add_call(start, **kwargs)
        with self.lock:
            call = self.calls[ext_id]
            call.extra["call_id"] = f"{int(call.start.timestamp())}.{len(self.calls)}"
        return ext_id

    def _reset_limits(self):
        self._stats_requests.clear()

    def error_body(self, status):
        messages = {
            400: "Wrong parameters",
            401: "Not authorized",
            404: "Not found",
            429: "Too many requests",
        }
        return {"status": "error", "message": messages.get(status, "Internal error")}

    def wall(self, moment):
        return moment.astimezone(self.tz).strftime(TIME_FORMAT)

    def row_json(self, call):
        data = {
            "call_id": call.extra["call_id"],
            "pbx_call_id": call.ext_id,
            "sip": call.agent_id or "",
            "callstart": self.wall(call.start),
            "clid": call.caller or "",
            "destination": call.callee or "",
            "disposition": DISPOSITION[call.state],
            "seconds": call.duration,
            "is_recorded": "true" if call.audio is not None else "false",
        }
        if call.corrupt:
            data["callstart"] = "sometime"
        return data

    # -- routes ----------------------------------------------------------------

    def route(self, method, path, query, headers, body):  # noqa: PLR0911 - a dispatcher
        if path.startswith("/download/"):
            return self._download(path)
        key, _, signature = (headers.get("Authorization") or "").partition(":")
        expected = zadarma_signature(self.secret, path, query)
        if not (same(key, self.login) and same(signature, expected)):
            return Reply(401, self.error_body(401))
        if method != "GET":
            return Reply(405, self.error_body(400))
        if path == "/v1/info/balance/":
            return Reply(200, {"status": "success", "balance": 12.34, "currency": "EUR"})
        if path == "/v1/statistics/pbx/":
            if not self._allow_stats():
                return Reply(429, self.error_body(429))
            return self._statistics(query)
        if path == "/v1/pbx/record/request/":
            return self._record_request(query)
        return Reply(404, self.error_body(404))

    def _allow_stats(self):
        limit = self.rate_limit_per_minute
        if not limit:
            return True
        now = self.clock()
        with self.lock:
            while self._stats_requests and self._stats_requests[0] <= now - 60:
                self._stats_requests.popleft()
            if len(self._stats_requests) >= limit:
                return False
            self._stats_requests.append(now)
            return True

    def _statistics(self, query):
        try:
            start = datetime.strptime(query["start"], TIME_FORMAT)
            end = datetime.strptime(query["end"], TIME_FORMAT)
            skip = int(query.get("skip") or 0)
            limit = int(query.get("limit") or 1000)
        except (KeyError, ValueError):
            return Reply(400, self.error_body(400))
        if end < start or end > _add_month(start):
            return Reply(
                400, {"status": "error", "message": "Wrong period: the maximum is 1 month"}
            )
        if not 1 <= limit <= 1000 or skip < 0:
            return Reply(400, {"status": "error", "message": "Wrong limit: at most 1000"})
        rows = []
        for call in self.sorted_calls():
            if self.in_progress(call) or not self.started(call):
                continue  # statistics are call records: a call is there once it ended
            local = call.start.astimezone(self.tz).replace(tzinfo=None)
            if start <= local <= end:
                rows.append(call)
        return Reply(
            200,
            {
                "status": "success",
                "start": query["start"],
                "end": query["end"],
                "version": int(query.get("version") or 1),
                "stats": [self.row_json(call) for call in rows[skip : skip + limit]],
            },
        )

    def _record_request(self, query):
        ext_id = query.get("pbx_call_id")
        with self.lock:
            if ext_id:
                call = self.calls.get(ext_id)
            else:
                call = next(
                    (c for c in self.calls.values() if c.extra["call_id"] == query.get("call_id")),
                    None,
                )
        if call is None or not self.recording_available(call):
            return Reply(404, {"status": "error", "message": "Record not found"})
        expires = self.link_expiry()
        path = f"/download/{call.ext_id}/{expires}/"
        link = f"{self.base_url}{path}{self.link_signature(path, expires)}/record.mp3"
        till = self.wall(self.now() + timedelta(seconds=float(expires) - self.clock()))
        data = {"status": "success", "lifetime_till": till}
        if ext_id:
            data["links"] = [link]
        else:
            data["link"] = link
        return Reply(200, data)

    def _download(self, path):
        try:
            _, _, ext_id, expires, signature, _name = path.split("/")
        except ValueError:
            return Reply(404, self.error_body(404))
        if not self.link_valid(f"/download/{ext_id}/{expires}/", expires, signature):
            return Reply(403, {"status": "error", "message": "Link expired"})
        with self.lock:
            call = self.calls.get(ext_id)
        if call is None or call.audio is None:
            return Reply(404, self.error_body(404))
        return self.audio_reply(call.audio)

    # -- webhooks ----------------------------------------------------------------

    def webhook_payload(self, ext_id, event="NOTIFY_RECORD"):
        """The form Zadarma POSTs when the recording of that call is ready."""
        with self.lock:
            call = self.calls[ext_id]
        return {
            "event": event,
            "pbx_call_id": ext_id,
            "call_id_with_rec": call.extra["call_id"],
        }

    def start_payload(self, ext_id, event="NOTIFY_INTERNAL"):
        """The form Zadarma POSTs when a call reaches an extension (NOTIFY_INTERNAL:
        ``call_start, pbx_call_id, caller_id, called_did, internal``) or an
        extension dials out (NOTIFY_OUT_START: ``call_start, pbx_call_id,
        destination, internal``); ``call_start`` in the account's local time."""
        with self.lock:
            call = self.calls[ext_id]
        form = {"event": event, "call_start": self.wall(call.start), "pbx_call_id": ext_id}
        if event == "NOTIFY_OUT_START":
            form.update(destination=call.callee or "", internal=call.agent_id or "")
        else:
            form.update(
                caller_id=call.caller or "", called_did=call.callee or "", internal=call.agent_id
            )
        return form

    def sign_webhook(self, url, params_or_body):
        """The ``Signature`` header of a notification, over the fields Zadarma signs
        for its event (user-api-v1 ``lib/Webhook/Notify*.php``)."""
        signed = {
            "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
            "NOTIFY_START": ("caller_id", "called_did", "call_start"),
            "NOTIFY_INTERNAL": ("caller_id", "called_did", "call_start"),
            "NOTIFY_OUT_START": ("internal", "destination", "call_start"),
        }[params_or_body.get("event") or "NOTIFY_RECORD"]
        text = "".join(str(params_or_body.get(name) or "") for name in signed)
        digest = hmac.new(self.secret.encode(), text.encode(), hashlib.sha1).hexdigest()
        return {"Signature": base64.b64encode(digest.encode()).decode()}
