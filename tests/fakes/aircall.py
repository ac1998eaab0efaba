"""A fake Aircall public API (v1) on loopback.

Follows Aircall's documentation (developer.aircall.io: the Call object,
List all calls, Retrieve a call, Rate limiting, Webhooks;
``../shared/reference/providers.md``) and the payloads of
Riprock/aircall-api ``tests/payloads.py``, not our adapter:

* Basic auth api_id:api_token; wrong credentials get 401 ``{error,
  troubleshoot}``;
* ``GET /v1/ping``; ``GET /v1/calls?from=&to=&page=&per_page=&order=``
  with UNIX seconds, ``per_page`` at most 50 (above: 400), ``meta`` with
  ``count, total, current_page, per_page, next_page_link,
  previous_page_link`` (absolute links); ``GET /v1/calls/{id}`` ->
  ``{"call": {...}}``;
* call objects: ``id, direct_link, started_at, answered_at, ended_at,
  duration, status, direction, raw_digits, recording, voicemail, asset,
  missed_call_reason, user{id,name,email}, number{id,digits,name}``; a call
  in progress has ``status`` ``answered`` and no ``ended_at``; a call not
  started yet is not there;
* recordings as presigned links that expire (``X-Amz-Expires``; default
  600 s as seen in real links), an expired one gets S3's 403 XML; while
  Aircall still processes a recording, ``recording`` is null (the
  ``call.comm_assets_generated`` webhook tells when it is ready);
* rate limiting, as documented: a quota of requests per minute per
  company (60 by default here: Aircall documents 60, third-party sources
  120), ``X-AircallApi-Limit`` / ``-Remaining`` / ``-Reset`` headers,
  ``429`` once the quota of the minute is used (with the same headers, and
  no ``Retry-After``: Aircall documents none);
* webhooks ``{resource, event, timestamp, token, data}``.

From third-party sources or guessed: the 10,000-result cap (``result_cap``;
pages past it get 400); ``from``/``to`` filter ``started_at`` and are both
inclusive; the headers are sent on every answer (the documentation lists
them for "when the rate limit has been reached"); ``Reset`` is a UNIX time
in seconds; the 429 body; the presigned link's extra ``expires`` parameter
(ms precision for tests); Aircall has no busy, failed or internal calls:
they are shown as unanswered / outbound.  The benchmarks and the demo
raise the quota (``rate_limit_per_minute``) so they are not throttled.
"""

from urllib.parse import urlencode

from .base import FakeProvider, Reply, basic_auth, same

EVENT_DELAY = {"call.ended": 1, "call.voicemail_left": 2, "call.comm_assets_generated": 30}


class FakeAircall(FakeProvider):
    name = "Aircall"

    def __init__(
        self, login, secret, webhook_token=None, rate_limit_per_minute=60, result_cap=10_000
    ):
        super().__init__(login, secret, rate_limit_per_minute)
        self.webhook_token = webhook_token
        self.result_cap = result_cap
        self._window_start = None
        self._window_count = 0
        #: requests answered 429 because the quota was used up
        self.refused = 0

    def make_id(self, start, direction):
        return str(1_000_000 + self.new_id())

    def _reset_limits(self):
        self._window_start, self._window_count = None, 0
        self.refused = 0

    def error_body(self, status):
        errors = {
            400: "Bad request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            429: "Too many requests",
        }
        return {
            "error": errors.get(status, "Internal server error"),
            "troubleshoot": "Fake Aircall: see https://developer.aircall.io/api-references/",
        }

    # -- rendering -----------------------------------------------------------

    def _link(self, call, kind):
        path = f"/s3/{kind}/{call.ext_id}.mp3"
        expires = self.link_expiry()
        ttl = self.link_ttl if self.link_ttl is not None else 600
        now = self.now().strftime("%Y%m%dT%H%M%SZ")
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": "AKIAFAKE/aircall/s3/aws4_request",
                "X-Amz-Date": now,
                "X-Amz-Expires": int(ttl),
                "X-Amz-SignedHeaders": "host",
                "expires": expires,
                "X-Amz-Signature": self.link_signature(path, expires),
            }
        )
        return f"{self.base_url}{path}?{query}"

    def call_json(self, call):
        started = int(call.start.timestamp())
        has_audio = self.recording_available(call)
        answered = call.state == "answered"
        in_progress = self.in_progress(call)
        user = None
        if call.agent_email or call.agent_id:
            agent_id = call.agent_id or "1"
            user = {
                "id": int(agent_id) if str(agent_id).isdigit() else agent_id,
                "direct_link": f"{self.base_url}/v1/users/{agent_id}",
                "name": call.agent_name or "Fake Agent",
                "email": call.agent_email,
                "available": True,
                "availability_status": "available",
            }
        direction = "inbound" if call.direction == "inbound" else "outbound"
        line, other = (
            (call.callee, call.caller) if direction == "inbound" else (call.caller, call.callee)
        )
        data = {
            "id": int(call.ext_id),
            "direct_link": f"{self.base_url}/v1/calls/{call.ext_id}",
            "started_at": started,
            "answered_at": started + 5 if answered else None,
            "ended_at": None if in_progress else started + call.duration,
            "duration": None if in_progress else call.duration,
            "status": "answered" if in_progress else "done",
            "direction": direction,
            "raw_digits": other or "anonymous",
            "asset": f"{self.base_url}/calls/{call.ext_id}/recording" if has_audio else None,
            "recording": self._link(call, "recordings")
            if has_audio and call.state != "voicemail"
            else None,
            "voicemail": self._link(call, "voicemails")
            if has_audio and call.state == "voicemail"
            else None,
            "archived": False,
            "missed_call_reason": None if answered else "agents_did_not_answer",
            "cost": "0.0",
            "user": user,
            "number": {
                "id": 4242,
                "direct_link": f"{self.base_url}/v1/numbers/4242",
                "name": "Fake line",
                "digits": line,
                "country": "HU",
                "time_zone": "Europe/Budapest",
            },
            "comments": [],
            "tags": [],
            "teams": [],
        }
        if call.corrupt:
            del data["started_at"]
            data["direction"] = None
        return data

    # -- routes ----------------------------------------------------------------

    def _quota(self):
        """Count a request against the quota; (headers, exhausted)."""
        limit = self.rate_limit_per_minute or 100_000
        now = self.clock()
        with self.lock:
            if self._window_start is None or now >= self._window_start + 60:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            remaining = max(0, limit - self._window_count)
            exhausted = self._window_count > limit
            reset = int(self._window_start + 60)
        headers = {
            "X-AircallApi-Limit": limit,
            "X-AircallApi-Remaining": remaining,
            "X-AircallApi-Reset": reset,
        }
        return headers, exhausted

    def route(self, method, path, query, headers, body):
        if path.startswith("/s3/"):
            return self._download(path, query)
        login, secret = basic_auth(headers)
        if not (same(login, self.login) and same(secret, self.secret)):
            return Reply(401, self.error_body(401))
        quota, exhausted = self._quota()
        if exhausted:
            with self.lock:
                self.refused += 1
            return Reply(429, self.error_body(429), headers=quota)
        reply = self._api(method, path, query)
        reply.headers.update(quota)
        return reply

    def _api(self, method, path, query):
        if method != "GET":
            return Reply(405, self.error_body(405))
        if path == "/v1/ping":
            return Reply(200, {"ping": "pong"})
        if path == "/v1/calls":
            return self._list(query)
        if path.startswith("/v1/calls/"):
            with self.lock:
                call = self.calls.get(path[len("/v1/calls/") :])
            if call is None or not self.started(call):
                return Reply(404, self.error_body(404))
            return Reply(200, {"call": self.call_json(call)})
        return Reply(404, self.error_body(404))

    def _list(self, query):
        try:
            page = int(query.get("page") or 1)
            per_page = int(query.get("per_page") or 20)
            since = int(query["from"]) if query.get("from") else None
            until = int(query["to"]) if query.get("to") else None
        except ValueError:
            return Reply(400, self.error_body(400))
        if per_page > 50 or per_page < 1 or page < 1:
            return Reply(400, {**self.error_body(400), "troubleshoot": "per_page is at most 50"})
        if (page - 1) * per_page >= self.result_cap:
            return Reply(
                400,
                {
                    **self.error_body(400),
                    "troubleshoot": f"Results are limited to {self.result_cap} items",
                },
            )
        rows = [
            call
            for call in self.sorted_calls()
            if self.started(call)
            and (since is None or call.start.timestamp() >= since)
            and (until is None or call.start.timestamp() < until + 1)
        ]
        if query.get("order") == "desc":
            rows.reverse()
        chunk = rows[(page - 1) * per_page : page * per_page]

        def link(number):
            params = {k: v for k, v in query.items() if k != "page"}
            return f"{self.base_url}/v1/calls?{urlencode({**params, 'page': number})}"

        has_next = page * per_page < min(len(rows), self.result_cap)
        return Reply(
            200,
            {
                "calls": [self.call_json(call) for call in chunk],
                "meta": {
                    "count": len(chunk),
                    "total": len(rows),
                    "current_page": page,
                    "per_page": per_page,
                    "next_page_link": link(page + 1) if has_next else None,
                    "previous_page_link": link(page - 1) if page > 1 else None,
                },
            },
        )

    def _download(self, path, query):
        if not self.link_valid(path, query.get("expires", ""), query.get("X-Amz-Signature")):
            return Reply(
                403,
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                "<Message>Request has expired</Message></Error>",
                content_type="application/xml",
            )
        ext_id = path.rsplit("/", 1)[-1].removesuffix(".mp3")
        with self.lock:
            call = self.calls.get(ext_id)
        if call is None or not self.recording_available(call):
            return Reply(
                404,
                "<Error><Code>NoSuchKey</Code></Error>",
                content_type="application/xml",
            )
        return self.audio_reply(call.audio)

    # -- webhooks ----------------------------------------------------------------

    def webhook_payload(self, ext_id, event="call.ended"):
        """The JSON body Aircall POSTs for ``event`` of that call (same body on redelivery)."""
        with self.lock:
            call = self.calls[ext_id]
        data = self.call_json(call)
        return {
            "resource": "call",
            "event": event,
            "timestamp": int(call.start.timestamp()) + call.duration + EVENT_DELAY.get(event, 5),
            "token": self.webhook_token,
            "data": data,
        }

    def ringing_payload(self, ext_id):
        """The ``call.ringing_on_agent`` event: the call rings on its agent's phone.

        Aircall's webhook events list: sent when a call rings on an agent,
        the call object with its ``user`` and nothing of its end yet
        (``status`` "initial", no ``answered_at``, ``ended_at``, duration or
        recording); its timestamp is the call's start.
        """
        with self.lock:
            call = self.calls[ext_id]
        data = self.call_json(call)
        data.update(
            status="initial",
            answered_at=None,
            ended_at=None,
            duration=None,
            recording=None,
            voicemail=None,
            asset=None,
            missed_call_reason=None,
        )
        return {
            "resource": "call",
            "event": "call.ringing_on_agent",
            "timestamp": int(call.start.timestamp()),
            "token": self.webhook_token,
            "data": data,
        }

    def sign_webhook(self, url, params_or_body):
        """Aircall does not sign: the body carries the webhook token."""
        return {**params_or_body, "token": self.webhook_token}
