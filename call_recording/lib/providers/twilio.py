"""Twilio Programmable Voice (REST API 2010-04-01).

Listing: ``Calls.json`` with ``StartTime>`` / ``StartTime<`` as exact
instants (``2026-11-28T09:30:00Z``, what twilio-python sends for a
``datetime``), both inclusive, then the exact ``[since, until)`` window is
applied here.  Never a bare date: Twilio reads ``YYYY-MM-DD`` as midnight
at the *start* of that day, so ``StartTime<=<today>`` would end the window
at last midnight.

Legs: a conversation through ``<Dial>`` is two Twilio calls, the parent
leg and its child (``parent_call_sid``).  One conversation is one call
here, under the parent's SID (recordings of ``<Dial record>`` and the
``recordingStatusCallback`` name the parent): an agent's outbound call from
a softphone (parent ``inbound`` from ``client:NAME`` to the dialled
number) becomes an *outbound* call from our caller id (the child's
``from``) to the customer, with the agent NAME; an inbound call put
through to ``client:NAME`` gets that agent.  Child legs are never calls of
their own.  Children are taken from the same listing when they are in it
(no extra request) and asked with ``ParentCallSid`` otherwise.

The call list carries no recording data.  The recordings of a page of
calls are read with one request: the account's ``Recordings.json`` with
``DateCreated>`` / ``DateCreated<`` (exact instants, as twilio-python's
``client.recordings.list`` sends them) from the first start to the last
end of the page's completed conversations: a recording is created while
its call lasts, and its ``call_sid`` is always the parent leg's.  A call
far longer than its page's span, and a call read on its own (a webhook, a
re-read, a leg found later), has its recordings read from
``Calls/{CA}/Recordings.json``.  The recording's duration is kept: the
download is checked against it.  Webhooks are the
``recordingStatusCallback`` form POSTs, signed with ``X-Twilio-Signature``
like twilio-python's ``RequestValidator`` checks them.  A withheld caller
id arrives as ``+266696687`` (ANONYMOUS on a keypad; the other words
Twilio uses likewise): no number.

Config keys: ``base_url`` (default https://api.twilio.com), ``login``
(Account SID), ``secret`` (Auth Token, also the webhook key),
``page_size`` (default 50, at most 1000), ``media_format`` ("mp3" or
"wav", default "mp3"), plus those of :func:`.http.make_session`.
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
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
RAW_KEYS = ("sid", "from", "to", "direction", "status", "start_time", "duration")
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


#: What Twilio puts in ``from`` for a withheld or missing caller id: words
#: spelled on a telephone keypad (ANONYMOUS, RESTRICTED, UNKNOWN,
#: UNAVAILABLE).  Not numbers: stored as no number.
HIDDEN_NUMBERS = frozenset({"+266696687", "+7378742833", "+8656696", "+86282452253"})
#: The recordings of a page are listed up to the last end of its calls and
#: this much more (a recording is created while its call lasts: a margin).
RECORDING_MARGIN = timedelta(minutes=1)
#: A call ending this long after its page's last start has its recordings
#: read on their own, so that one long call does not widen the page's list.
LONG_CALL = timedelta(hours=1)
#: Recordings asked for per request of the account's list (Twilio's maximum).
RECORDING_PAGE_SIZE = 1000


def iso_instant(moment):
    """An aware datetime as Twilio's exact filter value, ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    twilio-python's ``serialize.iso8601_datetime`` writes a ``datetime``
    this way (without converting it: we convert first).  Seconds are
    truncated: Twilio's times have no fractions and both bounds are
    inclusive, so nothing at the edges is lost.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_client(value):
    return isinstance(value, str) and value.startswith("client:")


def _client(value):
    return value[len("client:") :] or None


def _number(value):
    if not value or not isinstance(value, str):
        return None
    if value.strip() in HIDDEN_NUMBERS or value.strip().lower() in ("anonymous", "unknown"):
        return None
    return value


def _unreadable(exc):
    return str(exc) if isinstance(exc, MalformedData) else f"unreadable call: {exc!r}"


def _main_child(children):
    """The ``<Dial>`` leg that speaks for the conversation: the answered one, else the last."""
    children = [c for c in children or () if isinstance(c, dict)]
    if not children:
        return None
    answered = [c for c in children if c.get("status") in ("completed", "in-progress")]
    return (answered or children)[-1]


class _Legs:
    """Parent and child legs seen while listing one window, page after page."""

    def __init__(self):
        self.parents = {}  # sid -> raw parent leg already listed
        self.children = {}  # parent sid -> [raw child legs]
        self.merged = {}  # parent sid -> how many children its last call had
        self.unreadable = set()  # parent sids already reported unreadable

    def add_child(self, raw):
        known = self.children.setdefault(raw["parent_call_sid"], [])
        if not any(c.get("sid") == raw.get("sid") for c in known):
            known.append(raw)

    def emitted(self, sid, raw):
        self.parents[sid] = raw
        self.merged[sid] = len(self.children.get(sid) or ())

    def take_orphans(self, final):
        """Parents to read again with children they were not read with: those
        already listed at once, and at the end of the listing all the rest."""
        return [
            sid
            for sid, kids in self.children.items()
            if self.merged.get(sid, -1) < len(kids) and (sid in self.parents or final)
        ]


def _sides(raw, child):
    """``(direction, caller, callee, agent, leg that tells the answer)`` of a conversation.

    A Twilio Client identity (``client:alice``) is an agent, never a number.
    """
    sender, receiver = raw.get("from") or None, raw.get("to") or None
    twilio_direction = raw.get("direction") or ""
    speaker, agent = raw, None
    if _is_client(sender) and _is_client(receiver):
        return "internal", None, None, _client(sender), raw
    if _is_client(sender):
        # an agent's softphone dials out: the parent leg is "inbound" from the
        # client; our caller id, the customer and the answer are on the
        # <Dial> leg
        if child is None:
            return "outbound", None, receiver, _client(sender), raw
        return "outbound", child.get("from"), child.get("to") or receiver, _client(sender), child
    if twilio_direction == "inbound":
        if _is_client(receiver):
            agent, receiver = _client(receiver), None
        elif child is not None and _is_client(child.get("to")):
            agent, speaker = _client(child["to"]), child
        return "inbound", sender, receiver, agent, speaker
    if twilio_direction.startswith("outbound"):
        return "outbound", sender, None if _is_client(receiver) else receiver, None, raw
    raise ValueError(f"unknown direction {twilio_direction!r}")


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
            self._legs = _Legs()
            # exact instants, both inclusive at Twilio (to the second); the
            # window itself is applied below
            params = {
                "StartTime>": iso_instant(since),
                "StartTime<": iso_instant(until),
                "PageSize": self.page_size,
            }
            data = self.client.get_json(self._url("/Calls.json"), params=params)
        rows = data.get("calls")
        if not isinstance(rows, list):
            raise MalformedData("Twilio sent a call list without 'calls'.")
        legs = getattr(self, "_legs", None) or _Legs()
        self._legs = legs
        page = CallPage(calls=[], next_cursor=data.get("next_page_uri") or None)
        parents = []
        for raw in rows:
            if isinstance(raw, dict) and raw.get("parent_call_sid"):
                legs.add_child(raw)  # part of its parent's conversation
            else:
                parents.append(raw)
        for raw in parents:
            sid = raw.get("sid") if isinstance(raw, dict) else None
            try:
                start = _date(raw.get("start_time") or raw.get("date_created"))
                if since <= start < until:
                    page.calls.append(self._conversation(raw, legs=legs, recordings=False))
            except (KeyError, TypeError, ValueError, AttributeError, MalformedData) as exc:
                page.errors.append((sid or "?", _unreadable(exc)))
                legs.unreadable.add(sid)
            finally:
                if sid and sid not in legs.merged:
                    legs.emitted(sid, raw)
        self._add_orphans(legs, until, page)
        self._add_page_recordings(page)
        return page

    def _add_orphans(self, legs, until, page):
        """Child legs listed after their parent, or whose parent this listing does
        not bring (it started before the window): the conversation is read
        again with them."""
        for parent_sid in legs.take_orphans(final=not page.next_cursor):
            if parent_sid in legs.unreadable:
                legs.merged[parent_sid] = len(legs.children[parent_sid])
                continue  # already reported, read again by the next runs
            try:
                raw = legs.parents.get(parent_sid) or self._read_call(parent_sid)
                call = self._conversation(raw, legs=legs, recordings=False) if raw else None
            except (KeyError, TypeError, ValueError, AttributeError, MalformedData) as exc:
                page.errors.append((parent_sid, _unreadable(exc)))
                call = None
            finally:
                legs.merged[parent_sid] = len(legs.children[parent_sid])
            if call is not None and call.start < until:
                page.calls.append(call)

    def refresh_call(self, external_id):
        raw = self._read_call(external_id)
        if raw is None:
            return None
        parent_sid = raw.get("parent_call_sid")
        if parent_sid:
            # a child leg: its conversation is its parent's
            raw = self._read_call(parent_sid)
            if raw is None:
                return None
        try:
            return self._conversation(raw, children=self._children(raw["sid"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedData(f"Twilio sent an unreadable call {external_id}: {exc!r}") from exc

    def _read_call(self, sid):
        response = self.client.get(self._url(f"/Calls/{quote(sid, safe='')}.json"))
        if response.status_code == 404:
            response.close()
            return None
        raise_for_status(response, self.name)
        return json_of(response, self.name)

    def _children(self, parent_sid):
        """The child legs of a call (the documented ``ParentCallSid`` filter)."""
        data = self.client.get_json(
            self._url("/Calls.json"), params={"ParentCallSid": parent_sid, "PageSize": 50}
        )
        rows = data.get("calls")
        if not isinstance(rows, list):
            raise MalformedData("Twilio sent a call list without 'calls'.")
        return [row for row in rows if isinstance(row, dict)]

    def _conversation(self, raw, children=None, legs=None, recordings=True):
        """The call of a parent (or single) leg with its children, and its recording.

        ``recordings=False``: the caller reads the recording (a page's, at once).
        """
        sid = raw["sid"]
        if legs is not None:
            children = legs.children.get(sid)
        if not children and _is_client(raw.get("from")) and not _is_client(raw.get("to")):
            # a softphone's outbound call: its <Dial> leg names our caller
            # id and the customer, and says whether they answered
            children = self._children(sid)
            if legs is not None:
                for child in children:
                    if child.get("parent_call_sid") == sid:
                        legs.add_child(child)
        call = self._parse_call(raw, children or ())
        if legs is not None:
            legs.emitted(sid, raw)
        if recordings:
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
        stream = audio_stream(response, self.name)
        # the recording's own length, as Twilio reported it when listing
        stream.expected_duration = getattr(call, "recording_duration", None)
        return stream

    # -- parsing -----------------------------------------------------------

    def _parse_call(self, raw, children=()):
        """A leg (and its ``<Dial>`` children) as one :class:`ProviderCall`."""
        sid = raw["sid"]
        if not isinstance(sid, str) or not sid:
            raise ValueError("no sid")
        start = _date(raw.get("start_time") or raw.get("date_created"))
        child = _main_child(children)
        direction, sender, receiver, agent, speaker = _sides(raw, child)
        return ProviderCall(
            external_id=sid,
            start=start,
            direction=direction,
            # the answer is the <Dial> leg's; the length the whole conversation's
            state=STATES.get(speaker["status"], "failed"),
            caller_number=_number(sender),
            callee_number=_number(receiver),
            duration=int(raw.get("duration") or 0),
            agent_external_id=agent,
            agent_name=agent,
            recording_ref=None,
            recording_ready=False,
            raw={
                **{key: raw.get(key) for key in RAW_KEYS},
                "child_sid": child.get("sid") if child is not None else None,
            },
        )

    def _add_recording(self, call):
        """Set the recording of ``call`` from its own recording list."""
        if call.raw.get("status") != "completed":
            call.recording_ready = True
            return
        data = self.client.get_json(
            self._url(f"/Calls/{quote(call.external_id, safe='')}/Recordings.json")
        )
        recordings = data.get("recordings")
        if not isinstance(recordings, list):
            raise MalformedData(f"Twilio sent no recording list for {call.external_id}.")
        self._set_recording(call, recordings)

    def _add_page_recordings(self, page):
        """Set the recordings of a page's calls from one listing of the account's.

        The list covers every recording created from the first start to the
        last end of the completed conversations (plus a margin): a call that
        has none there has none.  A call much longer than the page's span
        is read on its own.
        """
        completed, on_their_own = [], []
        for call in page.calls:
            if call.raw.get("status") != "completed":
                call.recording_ready = True
            else:
                completed.append(call)
        if not completed:
            return
        last_start = max(call.start for call in completed)
        ends = {}
        for call in completed:
            end = call.start + timedelta(seconds=max(call.duration, 0))
            if end > last_start + LONG_CALL:
                on_their_own.append(call)
            else:
                ends[call.external_id] = end
        for call in on_their_own:
            self._add_recording(call)
        listed = [call for call in completed if call.external_id in ends]
        if not listed:
            return
        by_call = self._list_recordings(
            min(call.start for call in listed), max(ends.values()) + RECORDING_MARGIN
        )
        for call in listed:
            self._set_recording(call, by_call.get(call.external_id, []))

    def _list_recordings(self, since, until):
        """The account's recordings created in ``[since, until]``, by call SID (newest first)."""
        params = {
            "DateCreated>": iso_instant(since),
            "DateCreated<": iso_instant(until + timedelta(seconds=1)),
            "PageSize": RECORDING_PAGE_SIZE,
        }
        data = self.client.get_json(self._url("/Recordings.json"), params=params)
        by_call = {}
        while True:
            recordings = data.get("recordings")
            if not isinstance(recordings, list):
                raise MalformedData("Twilio sent a recording list without 'recordings'.")
            for recording in recordings:
                if isinstance(recording, dict) and recording.get("call_sid"):
                    by_call.setdefault(recording["call_sid"], []).append(recording)
            next_page = data.get("next_page_uri")
            if not next_page:
                return by_call
            if not next_page.startswith(f"{API}/Accounts/"):
                raise MalformedData(f"Twilio sent an unexpected next page address: {next_page!r}")
            data = self.client.get_json(self.base_url + next_page)

    @staticmethod
    def _set_recording(call, recordings):
        """Set the recording of ``call``: the completed one, else one still processing."""
        recordings = [r for r in recordings if isinstance(r, dict)]
        completed = [r for r in recordings if r.get("status") == "completed"]
        processing = [r for r in recordings if r.get("status") in ("processing", "in-progress")]
        if completed:
            call.recording_ref, call.recording_ready = completed[0]["sid"], True
            try:
                seconds = int(completed[0].get("duration"))
            except (TypeError, ValueError):
                seconds = None
            call.recording_duration = seconds if seconds and seconds > 0 else None
        elif processing:
            call.recording_ref, call.recording_ready = processing[0]["sid"], False
        else:
            call.recording_ref, call.recording_ready = None, True

    # -- webhooks ----------------------------------------------------------

    def _start_event(self, fields, call_sid):
        """A status callback of a call ringing on a softphone (``To=client:NAME``)
        or dialled from one (``From=client:NAME``): its agent's screen pop.

        Twilio posts ``CallStatus`` ``initiated``/``ringing`` to the
        ``statusCallback`` of ``<Client>`` (``statusCallbackEvent``) or of the
        call.  The call is the parent leg's (``ParentCallSid``), as the
        import stores it.  None when the delivery is no such event.
        """
        if fields.get("RecordingSid") or fields.get("CallStatus") not in ("initiated", "ringing"):
            return None
        sender, receiver = fields.get("From") or "", fields.get("To") or ""
        if _is_client(receiver):
            agent, direction = _client(receiver), "inbound"
            caller, callee = _number(sender), None
        elif _is_client(sender):
            agent, direction = _client(sender), "outbound"
            caller, callee = None, _number(receiver)
        else:
            return []  # ringing, but on no agent's softphone: nothing to tell
        external_id = fields.get("ParentCallSid") or call_sid
        call = ProviderCall(
            external_id=external_id,
            start=datetime.now(UTC).replace(microsecond=0),
            direction=direction,
            state="in_progress",
            caller_number=caller,
            callee_number=callee,
            agent_external_id=agent,
            agent_name=agent,
        )
        return [
            WebhookEvent(
                event_key=f"{call_sid}:{fields.get('CallStatus')}",
                external_id=external_id,
                call=call,
                kind=f"call.{fields.get('CallStatus')}",
                starting=True,
            )
        ]

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
        starting = self._start_event(fields, call_sid)
        if starting is not None:
            return starting
        status = fields.get("RecordingStatus") or ""
        return [
            WebhookEvent(
                event_key=f"{recording_sid or call_sid}:{status or fields.get('CallStatus', '')}",
                external_id=call_sid,
                recording_ref=recording_sid if status == "completed" else None,
                kind=f"recording.{status}" if status else "call",
            )
        ]
