"""A fake Twilio REST API (2010-04-01) on loopback.

Follows Twilio's documentation (the Call and Recording resources, the
call-log guide, ``../shared/reference/providers.md``) and twilio-python
(``twilio/rest/api/v2010/account/call/__init__.py``, its integration
fixtures ``tests/integration/api/v2010/account/test_call.py``,
``twilio/base/serialize.py`` and ``twilio/request_validator.py``), not our
adapter:

* Basic auth AccountSid:AuthToken; wrong credentials get 401 with
  Twilio's error JSON ``{code: 20003, message, more_info, status}``;
* ``GET /2010-04-01/Accounts/{AC}/Calls.json`` with the documented
  filters ``StartTime``, ``StartTime>`` and ``StartTime<`` (sent as
  ``StartTime>=`` / ``StartTime<=``: on the wire the name ends in ``>`` or
  ``<``), ``ParentCallSid``, ``Status``, ``From`` and ``To``.  A *bare date*
  ``YYYY-MM-DD`` means midnight UTC at the start of that day: "to read
  calls that started on or before midnight of this date" for
  ``StartTime<=``, "on or after midnight" for ``StartTime>=``, and the
  whole day for ``StartTime=``; so ``StartTime<=D`` ends before ``D``
  begins, and Twilio's advice is to use the first day of the next period.
  An *exact instant* (``2026-11-28T09:30:00Z``, as twilio-python sends a
  ``datetime``) compares exactly, both bounds inclusive.  ``PageSize`` at
  most 1000 (50 by default), newest first, ``next_page_uri`` carrying
  ``Page`` and a ``PageToken``; dates are RFC 2822, ``duration`` a string;
* legs: a conversation through ``<Dial>`` is two calls.  An agent's
  outbound call from a softphone is a *parent* leg (direction
  ``inbound``, from ``client:NAME``, to the dialled number) and a *child*
  leg (``outbound-dial``, from our caller id, to the customer,
  ``parent_call_sid`` set); an inbound call put through to an agent is a
  parent (``inbound``, customer to our number) with a child to
  ``client:NAME``.  Recordings of ``<Dial record>`` belong to the parent
  leg.  The parent of a ``<Dial>`` ends ``completed`` whether or not the
  dialled side answered; the child's status says that;
* a call not started yet is not listed; one in progress is ``in-progress``
  without duration, its recording ``in-progress`` too; a recording being
  processed is ``processing`` with duration ``"-1"`` and no media yet;
* ``Recordings.json``, the account's recordings (twilio-python's
  ``client.recordings.list``): filters ``DateCreated``, ``DateCreated>``
  and ``DateCreated<`` (sent as ``DateCreated>=`` / ``DateCreated<=``, read
  as the call list reads ``StartTime``: a bare date is midnight UTC at the
  start of that day, an instant compares exactly, both bounds inclusive)
  and ``CallSid``; paged as the call list (``PageSize`` at most 1000,
  ``next_page_uri`` with ``Page`` and ``PageToken``), newest first, under
  the key ``recordings``.  A recording exists from the moment recording
  starts (the call's start; for ``<Dial record>`` the answer, when the
  child leg starts), ``in-progress`` while the call lasts; its
  ``call_sid`` is always the parent leg's;
* ``Calls/{CA}.json``, ``Calls/{CA}/Recordings.json``,
  ``Recordings/{RE}.json``, media at ``Recordings/{RE}.mp3`` or ``.wav``
  with HTTP auth enforced (the account setting "Enforce HTTP Auth on Media
  URLs"), a ``duration`` that is the recording's own length;
* ``recordingStatusCallback`` form fields and ``X-Twilio-Signature``.

Guesses: the PageToken format (``PA`` + the last call's SID; real ones
are opaque); the 400 for an unreadable date (code 20001 here); the media
is served as given (no transcoding, so the Content-Type follows the
bytes); no voicemail state (a voicemail call is ``completed``); the child
leg starts two seconds after its parent; agents are the ``agent_id`` of
the test's calls, used as the Twilio Client identity.
"""

import base64
import hashlib
import hmac
import io
import re
import wave
from datetime import UTC, datetime, timedelta
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
#: Twilio's stand-in for a withheld caller id (ANONYMOUS on a keypad)
ANONYMOUS = "+266696687"
#: the child leg of a <Dial> starts this much after its parent
DIAL_DELAY = timedelta(seconds=2)
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\d")
#: the documented equality filters of the call list, with the field they test
FIELD_FILTERS = (("Status", "status"), ("From", "from"), ("To", "to"))


def _rfc2822(moment):
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def twilio_signature(auth_token, url, params):
    """Reference computation, written independently of the adapter's."""
    text = url + "".join(f"{k}{v}" for k in sorted(params) for v in sorted({params[k]}))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_time(value):
    """A ``StartTime`` value as ``(aware UTC datetime, is_bare_date)``; ValueError if unreadable.

    A bare date is midnight UTC at the start of that day (Twilio's call-log
    documentation); anything else must be an ISO 8601 instant with a zone.
    """
    value = (value or "").strip()
    if _DATE_RE.fullmatch(value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC), True
    moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    if moment.tzinfo is None:
        raise ValueError(f"no time zone in {value!r}")
    return moment.astimezone(UTC), False


def _seconds_of(audio):
    """The length of a WAV recording in whole seconds (None for other formats)."""
    if not audio or audio[:4] != b"RIFF":
        return None
    try:
        with wave.open(io.BytesIO(audio), "rb") as wav:
            return round(wav.getnframes() / float(wav.getframerate()))
    except (wave.Error, EOFError):
        return None


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

    @staticmethod
    def child_sid(ext_id):
        """The SID of the ``<Dial>`` child leg of conversation ``ext_id``."""
        return "CA" + hashlib.md5(f"{ext_id}:child".encode()).hexdigest()  # noqa: S324

    def error_body(self, status):
        codes = {401: 20003, 404: 20404, 429: 20429, 400: 20001}
        messages = {
            400: "Invalid parameter",
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

    # -- legs --------------------------------------------------------------

    @property
    def prefix(self):
        return f"/2010-04-01/Accounts/{self.login}"

    @staticmethod
    def dialled(call):
        """Whether the conversation went through ``<Dial>`` to an agent's client."""
        return bool(call.agent_id) and call.direction in ("inbound", "outbound")

    def legs(self, call):
        """The call resources of one conversation: ``[(sid, kind)]``, parent first."""
        if self.dialled(call):
            return [(call.ext_id, "parent"), (self.child_sid(call.ext_id), "child")]
        return [(call.ext_id, "single")]

    def leg(self, sid):
        """``(conversation, kind)`` of a call SID, or ``(None, None)``."""
        with self.lock:
            call = self.calls.get(sid)
            if call is not None:
                return call, "parent" if self.dialled(call) else "single"
            children = getattr(self, "_children", None)
            if children is None or len(children) != len(self.calls):
                self._children = children = {
                    self.child_sid(c.ext_id): c for c in self.calls.values()
                }
            call = children.get(sid)
        if call is not None and self.dialled(call):
            return call, "child"
        return None, None

    def leg_fields(self, call, kind):
        """start, from, to, direction, status and duration of one leg."""
        agent = f"client:{call.agent_id}"
        start, duration = call.start, call.duration
        status = STATUS[call.state]
        if call.direction == "internal":
            sender = f"client:{call.caller or 'agent'}"
            receiver = f"client:{call.callee or 'other'}"
            direction = "inbound"
        elif kind == "single":
            sender, receiver = call.caller or ANONYMOUS, call.callee or ""
            direction = "inbound" if call.direction == "inbound" else "outbound-api"
        elif kind == "parent":
            if call.direction == "outbound":
                sender, receiver = agent, call.callee or ""
            else:
                sender, receiver = call.caller or ANONYMOUS, call.callee or ""
            direction = "inbound"
            status = "completed"  # the TwiML ran to its end whatever the <Dial> gave
        else:
            start = call.start + DIAL_DELAY
            duration = max(0, call.duration - DIAL_DELAY.seconds) if call.duration else 0
            if call.direction == "outbound":
                sender, receiver = call.caller or "", call.callee or ""
            else:
                sender, receiver = call.caller or ANONYMOUS, agent
            direction = "outbound-dial"
        end = call.end
        if self.now() < end:
            status, duration, end = "in-progress", None, None
        return start, sender, receiver, direction, status, duration, end

    # -- rendering ---------------------------------------------------------

    def call_json(self, call, kind="single"):
        start, sender, receiver, direction, status, duration, end = self.leg_fields(call, kind)
        sid = self.child_sid(call.ext_id) if kind == "child" else call.ext_id
        data = {
            "sid": sid,
            "account_sid": self.login,
            "api_version": "2010-04-01",
            "annotation": None,
            "answered_by": None,
            "caller_name": None,
            "date_created": _rfc2822(start),
            "date_updated": _rfc2822(end or start),
            "direction": direction,
            "duration": str(duration) if duration is not None else None,
            "end_time": _rfc2822(end) if end else None,
            "forwarded_from": None,
            "from": sender,
            "from_formatted": sender,
            "group_sid": None,
            "parent_call_sid": call.ext_id if kind == "child" else None,
            "phone_number_sid": "PN" + sid[2:],
            "price": "-0.01000" if end else None,
            "price_unit": "USD",
            "queue_time": "0",
            "start_time": _rfc2822(start),
            "status": status,
            "subresource_uris": {
                "recordings": f"{self.prefix}/Calls/{sid}/Recordings.json",
                "notifications": f"{self.prefix}/Calls/{sid}/Notifications.json",
            },
            "to": receiver,
            "to_formatted": receiver,
            "trunk_sid": None,
            "uri": f"{self.prefix}/Calls/{sid}.json",
        }
        if call.corrupt:
            data.update(start_time="yesterday-ish", date_created=None)
        return data

    def recording_status(self, call):
        if self.in_progress(call):
            return "in-progress"
        return "completed" if self.recording_available(call) else "processing"

    def recording_created(self, call):
        """When the recording resource is created: as recording starts (a ``<Dial>``: answered)."""
        return call.start + DIAL_DELAY if self.dialled(call) else call.start

    def recording_json(self, call):
        sid = self.recording_sid(call.ext_id)
        status = self.recording_status(call)
        seconds = _seconds_of(call.audio)
        created = self.recording_created(call)
        return {
            "sid": sid,
            "account_sid": self.login,
            "call_sid": call.ext_id,
            "api_version": "2010-04-01",
            "channels": 1,
            "conference_sid": None,
            "date_created": _rfc2822(created),
            "date_updated": _rfc2822(created),
            "duration": str(seconds if seconds is not None else call.duration)
            if status == "completed"
            else "-1",
            "encryption_details": None,
            "error_code": None,
            "media_url": f"{self.base_url}{self.prefix}/Recordings/{sid}",
            "price": None,
            "source": "DialVerb" if self.dialled(call) else "RecordVerb",
            "start_time": _rfc2822(created),
            "status": status,
            "uri": f"{self.prefix}/Recordings/{sid}.json",
            "subresource_uris": {
                "add_on_results": f"{self.prefix}/Recordings/{sid}/AddOnResults.json",
                "transcriptions": f"{self.prefix}/Recordings/{sid}/Transcriptions.json",
            },
        }

    # -- routes ------------------------------------------------------------

    def _authorised(self, headers):
        login, secret = basic_auth(headers)
        return same(login, self.login) and same(secret, self.secret)

    def route(self, method, path, query, headers, body):  # noqa: PLR0911, PLR0912 - a dispatcher
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
        if path == f"{prefix}/Recordings.json":
            return self._list_recordings(query)
        if path.startswith(f"{prefix}/Calls/"):
            rest = path[len(f"{prefix}/Calls/") :]
            sid, _, sub = rest.partition("/")
            sid = sid.removesuffix(".json")
            call, kind = self.leg(sid)
            if call is None or not self.started(call):
                return Reply(404, self.error_body(404))
            if not sub:
                return Reply(200, self.call_json(call, kind))
            if sub == "Recordings.json":
                recordings = (
                    [self.recording_json(call)]
                    if call.audio is not None and kind != "child"
                    else []
                )
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
            if call is None or call.audio is None or not self.started(call):
                return Reply(404, self.error_body(404))
            if ext == "json":
                return Reply(200, self.recording_json(call))
            if not self.recording_available(call):
                return Reply(404, self.error_body(404))
            if ext in ("mp3", "wav", ""):
                return self.audio_reply(call.audio)
        return Reply(404, self.error_body(404))

    def _filters(self, query, field="StartTime"):
        """The row predicate of the documented date filters on ``field``, or a 400 Reply."""
        tests = []
        for name, value in query.items():
            if name not in (field, f"{field}>", f"{field}<"):
                continue
            try:
                moment, bare = parse_time(value)
            except ValueError:
                return None, Reply(
                    400, {**self.error_body(400), "message": f"Invalid {name}: {value!r}"}
                )
            if name == f"{field}>":
                tests.append(lambda start, m=moment: start >= m)
            elif name == f"{field}<":
                tests.append(lambda start, m=moment: start <= m)
            elif bare:
                tests.append(lambda start, m=moment: m <= start < m + timedelta(days=1))
            else:
                tests.append(lambda start, m=moment: start == m)
        return tests, None

    def _rows(self, query, tests):
        """``(start, sid, conversation, leg kind)`` of the legs the query selects, newest first."""
        parent = query.get("ParentCallSid")
        fields = [(key, field) for key, field in FIELD_FILTERS if query.get(key) is not None]
        now = self.now()
        rows = []
        for call in self.sorted_calls():
            if call.start > now or (parent is not None and call.ext_id != parent):
                continue
            for sid, kind in self.legs(call):
                if parent is not None and kind != "child":
                    continue
                start = call.start + DIAL_DELAY if kind == "child" else call.start
                if start > now or not all(test(start) for test in tests):
                    continue
                if fields:
                    data = self.call_json(call, kind)
                    if any(query[key] != data[field] for key, field in fields):
                        continue
                rows.append((start, sid, call, kind))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        return rows

    def _list(self, query):
        tests, error = self._filters(query)
        if error is not None:
            return error
        rows = self._rows(query, tests)
        return self._page(
            query,
            rows,
            "Calls.json",
            "calls",
            lambda row: self.call_json(row[2], row[3]),
        )

    def _recording_rows(self, query, tests):
        """``(created, recording sid, conversation)`` of the recordings the query selects,
        newest first: those of started conversations, once recording has started."""
        call_sid = query.get("CallSid")
        now = self.now()
        rows = []
        for call in self.sorted_calls():
            if call.audio is None or (call_sid is not None and call.ext_id != call_sid):
                continue
            created = self.recording_created(call)
            if created > now or not all(test(created) for test in tests):
                continue
            rows.append((created, self.recording_sid(call.ext_id), call))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        return rows

    def _list_recordings(self, query):
        tests, error = self._filters(query, field="DateCreated")
        if error is not None:
            return error
        rows = self._recording_rows(query, tests)
        return self._page(
            query, rows, "Recordings.json", "recordings", lambda row: self.recording_json(row[2])
        )

    def _page(self, query, rows, resource, key, render):
        """One page of ``rows`` (sorted, newest first; ``row[1]`` is the SID) in
        Twilio's list envelope, with ``PageSize``, ``Page`` and ``PageToken``."""
        try:
            size = int(query.get("PageSize") or 50)
            page = int(query.get("Page") or 0)
        except ValueError:
            return Reply(400, self.error_body(400))
        if not 1 <= size <= 1000:
            return Reply(400, self.error_body(400))
        start = 0
        token = query.get("PageToken")
        if token:
            last = token[2:]
            index = next((i for i, row in enumerate(rows) if row[1] == last), None)
            if index is None:
                return Reply(400, self.error_body(400))
            start = index + 1
        chunk = rows[start : start + size]
        next_uri = None
        if start + size < len(rows):
            params = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}
            params.update(PageSize=size, Page=page + 1, PageToken="PA" + chunk[-1][1])
            next_uri = f"{self.prefix}/{resource}?{urlencode(params)}"
        return Reply(
            200,
            {
                key: [render(row) for row in chunk],
                "start": start,
                "end": start + len(chunk) - 1,
                "page": page,
                "page_size": size,
                "next_page_uri": next_uri,
                "previous_page_uri": None,
                "first_page_uri": f"{self.prefix}/{resource}?PageSize={size}&Page=0",
                "uri": f"{self.prefix}/{resource}?PageSize={size}&Page={page}",
            },
        )

    # -- webhooks ------------------------------------------------------------

    def webhook_payload(self, ext_id, event="completed"):
        """The recordingStatusCallback form Twilio POSTs (``event``: RecordingStatus).

        The recording of a ``<Dial record>`` belongs to the parent leg: its
        ``CallSid`` is the parent's.
        """
        with self.lock:
            call = self.calls[ext_id]
        sid = self.recording_sid(ext_id)
        seconds = _seconds_of(call.audio)
        return {
            "AccountSid": self.login,
            "CallSid": ext_id,
            "RecordingSid": sid,
            "RecordingUrl": f"{self.base_url}{self.prefix}/Recordings/{sid}",
            "RecordingStatus": event,
            "RecordingDuration": str(seconds if seconds is not None else call.duration),
            "RecordingChannels": "1",
            "RecordingStartTime": _rfc2822(call.start),
            "RecordingSource": "DialVerb" if self.dialled(call) else "RecordVerb",
            "ErrorCode": "0",
        }

    def ringing_payload(self, ext_id, status="ringing"):
        """The call-progress ``statusCallback`` Twilio POSTs for the ``<Dial><Client>``
        leg of an inbound call put through to an agent (``statusCallbackEvent``
        "initiated ringing answered completed"): the child leg's ``CallSid``,
        its ``ParentCallSid``, ``To=client:NAME``, ``Direction=outbound-dial``,
        ``CallbackSource=call-progress-events``."""
        with self.lock:
            call = self.calls[ext_id]
        return {
            "AccountSid": self.login,
            "ApiVersion": "2010-04-01",
            "CallSid": self.child_sid(ext_id),
            "ParentCallSid": ext_id,
            "CallStatus": status,
            "Direction": "outbound-dial",
            "From": call.caller or "",
            "To": f"client:{call.agent_id}",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": "1" if status == "ringing" else "0",
            "Timestamp": _rfc2822(call.start),
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
