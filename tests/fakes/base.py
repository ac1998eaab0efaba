"""What every fake provider server shares: the loopback HTTP server and fault injection.

A fake is a real HTTP/1.1 server (keep-alive, so thousands of requests
stay fast) on 127.0.0.1 with an OS-chosen port, served by daemon threads.
Calls live in memory behind one lock.  Tests queue faults (an error
status, a stall, a body that is not JSON, a body cut off mid-way, a
connection dropped without an answer) that the next matching requests get
instead of the normal answer.

A fake has its own "now" (:meth:`FakeProvider.now`, the wall clock, which
Odoo's ``freeze_time`` moves in tests that simulate a day): as a real
provider, it does not list a call before it has started, shows it in
progress until it ends, and serves its recording only once it is ready
(``recording_delay`` seconds after the end, when given).
"""

import base64
import hashlib
import hmac
import itertools
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class FakeCall:
    """One call as the test described it; each fake renders it its own way."""

    ext_id: str
    start: datetime
    direction: str
    caller: str | None
    callee: str | None
    duration: int
    state: str
    audio: bytes | None
    recording_ready: bool
    agent_email: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    corrupt: bool = False
    #: seconds after the call's end before the provider has the recording ready
    recording_delay: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def end(self):
        return self.start + timedelta(seconds=self.duration)


@dataclass
class _Fault:
    kind: str  # status | stall | malformed | truncate | short | drop
    count: int
    path_contains: str | None = None
    status: int = 500
    headers: dict | None = None
    body: bytes | None = None
    seconds: float = 0.0
    keep: float = 0.5


class Reply:
    """What a route answers: status, headers and a body (bytes)."""

    def __init__(self, status=200, body=b"", content_type="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.status = status
        self.body = body
        self.headers = {"Content-Type": content_type, **(headers or {})}
        #: a successful audio download, counted once sent
        self.is_audio = False


def audio_type(audio):
    """``audio/x-wav`` for RIFF data, ``audio/mpeg`` otherwise (the fakes do not transcode)."""
    return "audio/x-wav" if audio[:4] == b"RIFF" else "audio/mpeg"


def basic_auth(headers):
    """The (login, secret) of a Basic Authorization header, or (None, None)."""
    value = headers.get("Authorization") or ""
    if not value.startswith("Basic "):
        return None, None
    try:
        login, _, secret = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return None, None
    return login, secret


def same(a, b):
    return hmac.compare_digest(str(a or "").encode(), str(b or "").encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY,
    # Nagle's algorithm and the client's delayed ACK add 40 ms per response.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def _serve(self):
        self.server.fake._handle(self)

    do_GET = do_POST = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a client that closed its kept-alive connection is no error of ours
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeProvider:
    """Base of the fake servers; subclasses implement :meth:`route`."""

    #: the provider's error body for a status, used by :meth:`fail_next`
    name = "fake"

    def __init__(self, login, secret, rate_limit_per_minute=None):
        self.login = login
        self.secret = secret
        self.rate_limit_per_minute = rate_limit_per_minute
        self.lock = threading.RLock()
        self.calls = {}
        self.requests = []
        self.audio_downloads = 0
        self.link_ttl = None
        self._faults = []
        self._server = None
        self._thread = None
        self._ids = itertools.count(1)
        self._link_key = hashlib.sha256(f"{login}:{secret}:links".encode()).digest()
        self.base_url = None
        #: the provider's clock in UNIX seconds (a test may share its fake clock)
        self.time_source = None

    # -- life cycle --------------------------------------------------------

    def start(self, port=0, host="127.0.0.1"):
        """Serve on ``host:port`` (a free port by default) in a daemon thread."""
        server = _Server((host, port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.base_url = f"http://{host}:{server.server_address[1]}"
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self):
        """Forget calls, faults, requests and counters (one server for many tests)."""
        with self.lock:
            self.calls.clear()
            self._sorted = None  # the sorted view of the calls just forgotten
            self.requests.clear()
            self.audio_downloads = 0
            self.link_ttl = None
            self._faults.clear()
            self._reset_limits()

    def reset_faults(self):
        with self.lock:
            self._faults.clear()

    def _reset_limits(self):
        """Subclasses clear their rate-limit counters here."""

    # -- calls -------------------------------------------------------------

    def new_id(self):
        return next(self._ids)

    def add_call(
        self,
        start,
        *,
        direction="inbound",
        caller=None,
        callee=None,
        duration=60,
        state="answered",
        audio=None,
        recording_ready=True,
        agent_email=None,
        agent_id=None,
        agent_name=None,
        recording_delay=None,
    ):
        """Add a call; return the provider's id for it.

        ``recording_delay`` (seconds after the call's end) makes the
        recording appear only then, by :meth:`now`; ``recording_ready=False``
        keeps it back until :meth:`set_recording_ready`.
        """
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        with self.lock:
            call = FakeCall(
                ext_id=self.make_id(start, direction),
                start=start.astimezone(UTC),
                direction=direction,
                caller=caller,
                callee=callee,
                duration=int(duration),
                state=state,
                audio=audio,
                recording_ready=bool(recording_ready) and audio is not None,
                agent_email=agent_email,
                agent_id=agent_id,
                agent_name=agent_name,
                recording_delay=recording_delay,
            )
            self.calls[call.ext_id] = call
            self._sorted = None
            return call.ext_id

    def make_id(self, start, direction):
        raise NotImplementedError

    def clock(self):
        """The provider's time in UNIX seconds: ``time_source`` if a test set one,
        else the wall clock (looked up on each call, so ``freeze_time`` moves it)."""
        return (self.time_source or time.time)()

    def now(self):
        """The provider's time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def started(self, call):
        """Whether the call has started by now: no provider lists a future call."""
        return call.start <= self.now()

    def in_progress(self, call):
        return self.now() < call.end

    def recording_available(self, call):
        """Whether the provider can serve the recording now (ready and processed)."""
        if call.audio is None or not call.recording_ready:
            return False
        if call.recording_delay is None:
            return True
        return self.now() >= call.end + timedelta(seconds=call.recording_delay)

    def set_recording_ready(self, ext_id, audio=None):
        """A late recording becomes available."""
        with self.lock:
            call = self.calls[ext_id]
            if audio is not None:
                call.audio = audio
            call.recording_ready = call.audio is not None

    def corrupt_call(self, ext_id, corrupt=True):
        """That call's JSON entry lacks a required field (until ``corrupt=False``)."""
        with self.lock:
            self.calls[ext_id].corrupt = corrupt

    def expire_links_after(self, seconds):
        """Audio links expire ``seconds`` after they were handed out (0: at once)."""
        with self.lock:
            self.link_ttl = seconds

    def sorted_calls(self):
        """Calls by start time (then id), cached until a call is added."""
        with self.lock:
            if getattr(self, "_sorted", None) is None:
                self._sorted = sorted(self.calls.values(), key=lambda c: (c.start, c.ext_id))
            return self._sorted

    # -- expiring links ----------------------------------------------------------

    def link_signature(self, path, expires):
        message = f"{path}|{expires}".encode()
        return hmac.new(self._link_key, message, hashlib.sha256).hexdigest()

    def link_expiry(self):
        """UNIX time (text, ms) a link handed out now stops working; default 600 s."""
        ttl = self.link_ttl if self.link_ttl is not None else 600
        return f"{self.clock() + ttl:.3f}"

    def link_valid(self, path, expires, signature):
        """Whether a link is genuine (signed by this fake) and not expired yet."""
        if not same(self.link_signature(path, expires), signature):
            return False
        try:
            return self.clock() < float(expires)
        except ValueError:
            return False

    # -- faults ------------------------------------------------------------

    def fail_next(self, status=500, count=1, headers=None, body=None, path_contains=None):
        """The next ``count`` matching requests get ``status`` (and the provider's error body)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        with self.lock:
            self._faults.append(
                _Fault("status", count, path_contains, status=status, headers=headers, body=body)
            )

    def stall_next(self, seconds, count=1, path_contains=None):
        """The next ``count`` matching requests wait ``seconds`` before being answered."""
        with self.lock:
            self._faults.append(_Fault("stall", count, path_contains, seconds=seconds))

    def malformed_next(self, count=1, path_contains=None):
        """The next ``count`` matching requests get a body that is not JSON."""
        with self.lock:
            self._faults.append(_Fault("malformed", count, path_contains))

    def truncate_next(self, count=1, path_contains=None, keep=0.5):
        """The next ``count`` matching answers announce their whole ``Content-Length``,
        send only the first ``keep`` of the body, then close the connection
        (a connection lost mid-download)."""
        with self.lock:
            self._faults.append(_Fault("truncate", count, path_contains, keep=keep))

    def short_next(self, count=1, path_contains=None, keep=0.5):
        """The next ``count`` matching answers are cut to ``keep`` of their body *with*
        a matching ``Content-Length`` (a broken cache or proxy serving a partial
        object as whole): only the provider's metadata or the file's own
        header can tell."""
        with self.lock:
            self._faults.append(_Fault("short", count, path_contains, keep=keep))

    def drop_next(self, count=1, path_contains=None):
        """The next ``count`` matching requests get no answer: the connection is closed."""
        with self.lock:
            self._faults.append(_Fault("drop", count, path_contains))

    def _take_fault(self, path):
        with self.lock:
            for fault in self._faults:
                if fault.count > 0 and (not fault.path_contains or fault.path_contains in path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def error_body(self, status):
        """The provider's JSON error body for ``status``."""
        return {"status": status, "message": "error"}

    # -- serving -----------------------------------------------------------

    def _handle(self, handler):
        path = handler.path
        headers = dict(handler.headers.items())
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append((handler.command, path, headers))
        reply = None
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "stall":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            reply = Reply(
                fault.status,
                fault.body if fault.body is not None else self.error_body(fault.status),
                headers=fault.headers,
            )
        elif fault is not None and fault.kind == "malformed":
            reply = Reply(200, b'{"calls": [ this is not JSON', headers=None)
        elif fault is not None and fault.kind == "drop":
            handler.close_connection = True
            self._abort(handler)
            return
        if reply is None:
            parts = urlsplit(path)
            query = self.parse_query(parts.query)
            try:
                reply = self.route(handler.command, parts.path, query, headers, body)
            except Exception as exc:
                reply = Reply(500, {"message": f"fake server bug: {exc!r}"})
        cut = None
        if fault is not None and fault.kind in ("truncate", "short") and reply.body:
            cut = max(0, min(len(reply.body) - 1, int(len(reply.body) * fault.keep)))
            if fault.kind == "short":
                reply.body, cut = reply.body[:cut], None
                reply.is_audio = False  # not what the provider stores
        self._send(handler, reply, cut=cut)

    @staticmethod
    def parse_query(query):
        """The query as a dict (the last value of a repeated name wins)."""
        return dict(parse_qsl(query, keep_blank_values=True))

    @staticmethod
    def _abort(handler):
        """Close the client's connection now, cleanly (FIN): to the client the body
        simply ends early, which urllib3 1.26 does not report by itself."""
        try:
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, handler, reply, cut=None):
        # counted before the body leaves, so a client that has read it all
        # never sees the old count; taken back if the client went away
        counted = reply.is_audio and reply.status == 200 and cut is None
        if counted:
            with self.lock:
                self.audio_downloads += 1
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, str(value))
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(reply.body if cut is None else reply.body[:cut])
            handler.wfile.flush()
            if cut is not None:
                handler.close_connection = True
                self._abort(handler)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
            if counted:
                with self.lock:
                    self.audio_downloads -= 1

    def route(self, method, path, query, headers, body):
        raise NotImplementedError

    def audio_reply(self, audio):
        reply = Reply(200, audio, content_type=audio_type(audio))
        reply.is_audio = True
        return reply
