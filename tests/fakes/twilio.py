"""A fake Twilio REST API (2010-04-01) on loopback.

Follows the documented shapes (twilio-python's integration fixtures
``tests/integration/api/v2010/account/test_call.py``, the Recording
resource, ``twilio/request_validator.py``):

* Basic auth AccountSid:AuthToken; wrong credentials get 401 with
  Twilio's error JSON ``{code: 20003, message, more_info, status}``;
* ``GET /2010-04-01/Accounts/{AC}/Calls.json`` with ``StartTime>`` /
  ``StartTime<`` (UTC days, inclusive), ``PageSize`` (at most 1000, 50 by
  default), newest first, ``next_page_uri`` carrying ``Page`` and a
  ``PageToken``; dates are RFC 2822, ``duration`` is a string;
* ``Calls/{CA}.json``, ``Calls/{CA}/Recordings.json`` (status
  ``completed`` or ``processing``), media at ``Recordings/{RE}.mp3`` or
  ``.wav`` with HTTP auth enforced (the account setting "Enforce HTTP Auth
  on Media URLs");
* ``recordingStatusCallback`` form fields and ``X-Twilio-Signature``.

Guesses: the PageToken format (``PA`` + the last call's SID; real ones
are opaque); the media is served as given (no transcoding, so the
Content-Type follows the bytes); ``internal`` calls are shown as
``outbound-dial``; no voicemail state (a voicemail call is ``completed``);
agents are not represented unless the test gives ``client:`` numbers.
"""

import base64
import hashlib
import hmac
from datetime import UTC
from email.utils import format_datetime
from urllib.parse import urlencode

from .base import FakeProvider, Reply, basic_auth, same

STATUS = {
    "answered": "completed",
    "voicemail": "completed",
    "missed": "no-answer",
    "busy": "busy",
    "failed": "failed",
}
DIRECTION = {"inbound": "inbound", "outbound": "outbound-api", "internal": "outbound-dial"}


def _rfc2822(moment):
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def twilio_signature(auth_token, url, params):
    """Reference computation, written independently of the adapter's."""
    text = url + "".join(f"{k}{v}" for k in sorted(params) for v in sorted({params[k]}))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTwilio(FakeProvider):
    name = "Twilio"

    def __init__(self, login, secret, media_auth=True):
        super().__init__(login, secret)
        self.media_auth = media_auth

    def make_id(self, start, direction):
        return "CA" + hashlib.md5(f"{self.login}:{self.new_id()}".encode()).hexdigest()  # noqa: S324

    @staticmethod
    def recording_sid(ext_id):
        return "RE" + ext_id[2:]

    def error_body(self, status):
        codes = {401: 20003, 404: 20404, 429: 20429, 400: 21000}
        messages = {
            401: "Authenticate",
            404: "The requested resource was not found",
            429: "Too Many Requests",
        }
        code = codes.get(status, 20500)
        return {
            "code": code,
            "message": messages.get(status, "Internal Server Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    # -- rendering ---------------------------------------------------------

    @property
    def prefix(self):
        return f"/2010-04-01/Accounts/{self.login}"

    def call_json(self, call):
        sid = call.ext_id
        data = {
            "sid": sid,
            "account_sid": self.login,
            "api_version": "2010-04-01",
            "annotation": None,
            "answered_by": None,
            "caller_name": None,
            "date_created": _rfc2822(call.start),
            "date_updated": _rfc2822(call.start),
            "direction": DIRECTION[call.direction],
            "duration": str(call.duration),
            "end_time": _rfc2822(call.start),
            "forwarded_from": None,
            "from": call.caller or "",
            "from_formatted": call.caller or "",
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + sid[2:],
            "price": "-0.01000",
            "price_unit": "USD",
            "queue_time": "0",
            "start_time": _rfc2822(call.start),
            "status": STATUS[call.state],
            "subresource_uris": {
                "recordings": f"{self.prefix}/Calls/{sid}/Recordings.json",
                "notifications": f"{self.prefix}/Calls/{sid}/Notifications.json",
            },
            "to": call.callee or "",
            "to_formatted": call.callee or "",
            "trunk_sid": None,
            "uri": f"{self.prefix}/Calls/{sid}.json",
        }
        if call.corrupt:
            data.update(start_time="yesterday-ish", date_created=None)
        return data

    def recording_json(self, call):
        sid = self.recording_sid(call.ext_id)
        return {
            "sid": sid,
            "account_sid": self.login,
            "call_sid": call.ext_id,
            "api_version": "2010-04-01",
            "channels": 1,
            "conference_sid": None,
            "date_created": _rfc2822(call.start),
            "date_updated": _rfc2822(call.start),
            "duration": str(call.duration) if call.recording_ready else "-1",
            "encryption_details": None,
            "error_code": None,
            "price": None,
            "source": "DialVerb",
            "start_time": _rfc2822(call.start),
            "status": "completed" if call.recording_ready else "processing",
            "uri": f"{self.prefix}/Recordings/{sid}.json",
        }

    # -- routes ------------------------------------------------------------

    def _authorised(self, headers):
        login, secret = basic_auth(headers)
        return same(login, self.login) and same(secret, self.secret)

    def route(self, method, path, query, headers, body):  # noqa: PLR0911 - a dispatcher
        if method != "GET":
            return Reply(405, self.error_body(405))
        prefix = self.prefix
        media = path.startswith(f"{prefix}/Recordings/")
        if not (media and not self.media_auth) and not self._authorised(headers):
            return Reply(401, self.error_body(401), headers={"WWW-Authenticate": "Basic"})
        if path == f"{prefix}.json":
            return Reply(
                200,
                {
                    "sid": self.login,
                    "friendly_name": "Fake Twilio account",
                    "status": "active",
                    "type": "Full",
                },
            )
        if path == f"{prefix}/Calls.json":
            return self._list(query)
        if path.startswith(f"{prefix}/Calls/"):
            rest = path[len(f"{prefix}/Calls/") :]
            sid, _, sub = rest.partition("/")
            sid = sid.removesuffix(".json")
            with self.lock:
                call = self.calls.get(sid)
            if call is None:
                return Reply(404, self.error_body(404))
            if not sub:
                return Reply(200, self.call_json(call))
            if sub == "Recordings.json":
                recordings = [self.recording_json(call)] if call.audio is not None else []
                return Reply(
                    200,
                    {
                        "recordings": recordings,
                        "next_page_uri": None,
                        "page": 0,
                        "page_size": 50,
                        "start": 0,
                        "end": len(recordings),
                        "uri": path,
                    },
                )
        if media:
            name = path[len(f"{prefix}/Recordings/") :]
            sid, _, ext = name.partition(".")
            with self.lock:
                call = self.calls.get("CA" + sid[2:])
            if call is None or call.audio is None or not call.recording_ready:
                return Reply(404, self.error_body(404))
            if ext == "json":
                return Reply(200, self.recording_json(call))
            if ext in ("mp3", "wav", ""):
                return self.audio_reply(call.audio)
        return Reply(404, self.error_body(404))

    def _list(self, query):
        try:
            size = int(query.get("PageSize") or 50)
            page = int(query.get("Page") or 0)
        except ValueError:
            return Reply(400, self.error_body(400))
        if not 1 <= size <= 1000:
            return Reply(400, self.error_body(400))
        after, before = query.get("StartTime>"), query.get("StartTime<")
        rows = [
            call
            for call in reversed(self.sorted_calls())
            if (not after or call.start.date().isoformat() >= after)
            and (not before or call.start.date().isoformat() <= before)
        ]
        start = 0
        token = query.get("PageToken")
        if token:
            last = token[2:]
            index = next((i for i, call in enumerate(rows) if call.ext_id == last), None)
            if index is None:
                return Reply(400, self.error_body(400))
            start = index + 1
        chunk = rows[start : start + size]
        next_uri = None
        if start + size < len(rows):
            params = {k: v for k, v in query.items() if k in ("StartTime>", "StartTime<")}
            params.update(PageSize=size, Page=page + 1, PageToken="PA" + chunk[-1].ext_id)
            next_uri = f"{self.prefix}/Calls.json?{urlencode(params)}"
        return Reply(
            200,
            {
                "calls": [self.call_json(call) for call in chunk],
                "start": start,
                "end": start + len(chunk) - 1,
                "page": page,
                "page_size": size,
                "next_page_uri": next_uri,
                "previous_page_uri": None,
                "first_page_uri": f"{self.prefix}/Calls.json?PageSize={size}&Page=0",
                "uri": f"{self.prefix}/Calls.json?PageSize={size}&Page={page}",
            },
        )

    # -- webhooks ------------------------------------------------------------

    def webhook_payload(self, ext_id, event="completed"):
        """The recordingStatusCallback form Twilio POSTs (``event``: RecordingStatus)."""
        with self.lock:
            call = self.calls[ext_id]
        sid = self.recording_sid(ext_id)
        return {
            "AccountSid": self.login,
            "CallSid": ext_id,
            "RecordingSid": sid,
            "RecordingUrl": f"{self.base_url}{self.prefix}/Recordings/{sid}",
            "RecordingStatus": event,
            "RecordingDuration": str(call.duration),
            "RecordingChannels": "1",
            "RecordingStartTime": _rfc2822(call.start),
            "RecordingSource": "DialVerb",
            "ErrorCode": "0",
        }

    def sign_webhook(self, url, params_or_body):
        """Headers Twilio sends: ``X-Twilio-Signature`` over ``url`` and the form.

        For a JSON body (bytes or str) the URL to call is
        :meth:`signed_json_url` and the signature covers that URL alone.
        """
        if isinstance(params_or_body, (bytes, str)):
            url = self.signed_json_url(url, params_or_body)
            params = {}
        else:
            params = params_or_body
        return {"X-Twilio-Signature": twilio_signature(self.secret, url, params)}

    @staticmethod
    def signed_json_url(url, body):
        """``url`` with the ``bodySHA256`` parameter Twilio adds for JSON bodies."""
        if isinstance(body, str):
            body = body.encode()
        digest = hashlib.sha256(body).hexdigest()
        return f"{url}{'&' if '?' in url else '?'}bodySHA256={digest}"
