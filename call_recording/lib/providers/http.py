"""HTTP plumbing shared by the adapters: retries, timeouts, error messages, rate limits.

Every request goes through :class:`ApiClient`, which retries what may
succeed again (429 and 5xx, connection errors, timeouts) with a backoff,
honouring ``Retry-After`` (429, 503) and the provider's rate limiter
before *each* attempt, so no retry goes out behind the limiter's back.
urllib3 itself retries nothing (``Retry(0)``).  What is still wrong
afterwards becomes one of the exceptions of :mod:`.base`, with a message
an administrator can act on.

A download (:class:`AudioStream`) counts the bytes it receives: a body
that ends before its ``Content-Length`` is a failed download
(:class:`.base.IncompleteDownload`), never a short file.  urllib3 1.26
(Odoo 19's pin) does not check this itself.

Works with urllib3 1.26 (Odoo's venv) and 2.x (the Docker image): only the
``Retry`` API common to both is used.
"""

import io
import json
import logging
import os
import threading
import time
from collections import deque
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .base import (
    IncompleteDownload,
    MalformedData,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
)

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Only reads are sent, so every request may be retried: the adapters never
# send a request that changes anything at the provider (no POST at all).
#: the longest Retry-After we sleep inside one request; beyond it the
#: retries run out and ProviderRateLimited tells the engine to come back later
DEFAULT_MAX_RETRY_AFTER = 60


def config_sleep(config):
    """The sleep function of ``config`` (tests inject one that does not wait)."""
    return config.get("sleep") or time.sleep


def config_clock(config):
    """The wall clock of ``config`` (UNIX seconds; injectable for tests)."""
    return config.get("clock") or time.time


def make_session(config):
    """A ``requests.Session`` for one provider account; retries are :class:`ApiClient`'s.

    urllib3 retries nothing (its retries would bypass the rate limiters).
    """
    session = requests.Session()
    retry = Retry(total=0, read=False, redirect=0, raise_on_status=False, raise_on_redirect=False)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "odoo-call-recording/19.0"
    # requests reads the proxy and CA settings from the environment on every
    # request (a scan of os.environ each time, 7 % of an import's time in
    # the benchmark): read them once for this session's provider instead.
    base_url = config.get("base_url") or ""
    if base_url:
        session.proxies.update(requests.utils.get_environ_proxies(base_url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            session.verify = ca_bundle
        session.trust_env = False
    return session


class RetryPolicy:
    """How :class:`ApiClient` retries: attempts, backoff, the cap on Retry-After.

    Keys read from the config: ``max_retries`` (default 3), ``backoff_factor``
    (default 0.5 s: waits of 0.5, 1, 2 ... s, at most 30), ``max_retry_after``
    (default 60 s), ``sleep`` (callable).
    """

    def __init__(self, config):
        retries = config.get("max_retries")
        self.retries = DEFAULT_RETRIES if retries is None else max(0, int(retries))
        backoff = config.get("backoff_factor")
        self.backoff_factor = DEFAULT_BACKOFF if backoff is None else float(backoff)
        self.max_retry_after = float(config.get("max_retry_after") or DEFAULT_MAX_RETRY_AFTER)
        self.sleep = config_sleep(config)

    def backoff(self, attempt):
        return min(self.backoff_factor * 2 ** max(attempt - 1, 0), 30.0)

    def delay(self, response, attempt):
        """Seconds to wait before retrying after ``response``, or None: do not retry.

        ``Retry-After`` (429, 503) is honoured up to ``max_retry_after``; a
        longer one is not slept on: the answer goes back (the run ends and
        the next one comes when the provider asked).
        """
        if response.status_code in (429, 503):
            retry_after = retry_after_of(response)
            if retry_after is not None:
                return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(attempt)


def timeouts(config):
    """``(connect, read)`` seconds from ``config["timeout"]`` (a number or a pair)."""
    value = config.get("timeout") or DEFAULT_TIMEOUT
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    value = float(value)
    return min(value, 10.0), value


def provider_message(response, limit=300):
    """The provider's own words about an error response, shortened."""
    try:
        chunk = next(response.iter_content(4096), b"")
    except Exception:
        chunk = b""
    text = chunk.decode("utf-8", "replace").strip() if isinstance(chunk, bytes) else str(chunk)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts = [
            str(data[key])
            for key in ("message", "error", "detail", "troubleshoot")
            if data.get(key) and not isinstance(data[key], (dict, list))
        ]
        if parts:
            text = " - ".join(dict.fromkeys(parts))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return text or response.reason or ""


def retry_after_of(response):
    """The Retry-After of ``response`` in seconds, or None (HTTP dates are ignored)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def raise_for_status(response, provider):
    """Turn an error response (after the retries) into the matching exception."""
    status = response.status_code
    if status < 400:
        return response
    message = provider_message(response)
    response.close()
    if status in (401, 403):
        raise ProviderAuthError(
            f"The provider refused the credentials (HTTP {status}): {message}. "
            f"Check the {provider} account's login and secret."
        )
    if status == 429:
        retry_after = retry_after_of(response)
        when = f" in {retry_after:g} s" if retry_after is not None else " later"
        raise ProviderRateLimited(
            f"{provider} is limiting our requests (HTTP 429) and the retries ran out; "
            f"the import continues{when}: {message}",
            retry_after=retry_after,
        )
    if status >= 500:
        raise ProviderError(
            f"{provider} is unavailable (HTTP {status}) even after retrying: {message}"
        )
    error = ProviderError(f"{provider} rejected the request (HTTP {status}): {message}")
    error.retryable = False
    raise error


def describe_url(url):
    """Host and path of ``url``, without the query (it may hold signatures)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def send(session, method, url, provider, timeout, **kwargs):
    """``session.request`` with network failures turned into :class:`ProviderError`."""
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise ProviderError(
            f"{provider} did not answer within {timeout[1]:g} s ({describe_url(url)}); "
            "it will be tried again."
        ) from exc
    except requests.ConnectionError as exc:
        reason = "timed out" if "timed out" in str(exc).lower() else "connection failed"
        raise ProviderError(
            f"Could not reach {provider} at {describe_url(url)} ({reason}); it will be tried again."
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(f"Request to {provider} failed: {exc}") from exc


def json_of(response, provider):
    """The JSON object of ``response``, or :class:`MalformedData`."""
    try:
        data = response.json()
    except ValueError as exc:
        snippet = " ".join(response.text[:120].split())
        raise MalformedData(
            f"{provider} sent an answer that is not JSON ({describe_url(response.url)}): "
            f"{snippet!r}"
        ) from exc
    if not isinstance(data, dict):
        raise MalformedData(f"{provider} sent unexpected JSON ({describe_url(response.url)}).")
    return data


class AudioStream(io.RawIOBase):
    """A file-like view of a streamed download; the body is never held in memory.

    ``read`` decodes any Content-Encoding; a connection that breaks off
    mid-body raises :class:`ProviderError` (retryable), and so does a body
    that ends before its ``Content-Length``: :class:`IncompleteDownload`.
    ``expected_duration`` and ``expected_size`` are what the provider said
    of the recording (set by the adapter; None when it said nothing), for
    the engine to check the whole file against.
    """

    def __init__(self, response, provider):
        super().__init__()
        self.response = response
        self.provider = provider
        self.content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        length = response.headers.get("Content-Length")
        self.content_length = int(length) if length and length.isdigit() else None
        self.expected_duration = None
        self.expected_size = None
        self.received = 0

    def readable(self):
        return True

    def _wire_bytes(self):
        """Bytes of the body read from the connection (before any decoding)."""
        try:
            return int(self.response.raw.tell())
        except (AttributeError, TypeError, ValueError):
            return self.received

    def read(self, size=-1):  # pylint: disable=method-required-super
        # not an ORM read: the stream's own, reading the response body
        try:
            if size is None or size < 0:
                data = self.response.raw.read(decode_content=True)
            else:
                data = self.response.raw.read(size, decode_content=True)
        except Exception as exc:
            raise ProviderError(
                f"The download from {self.provider} broke off: {exc}; it will be tried again."
            ) from exc
        self.received += len(data)
        if (not data or size is None or size < 0) and self.content_length is not None:
            wire = self._wire_bytes()
            if wire < self.content_length:
                raise IncompleteDownload(
                    f"The download from {self.provider} ended after {wire} of "
                    f"{self.content_length} bytes ({describe_url(self.response.url)}); "
                    "it will be tried again."
                )
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            self.response.close()
        return super().close()


class SlidingWindowLimiter:
    """At most ``per_minute`` requests in any 60 s, waiting before the next one.

    For providers that publish a hard limit (Zadarma statistics: 3 a
    minute): being polite costs a short wait, being rude costs a 429.
    """

    def __init__(self, per_minute, clock=time.time, sleep=time.sleep, period=60.0):
        self.per_minute = max(1, int(per_minute))
        self.clock = clock
        self.sleep = sleep
        self.period = period
        self._stamps = deque()
        self._lock = threading.Lock()

    def acquire(self):
        with self._lock:
            now = self.clock()
            while self._stamps and self._stamps[0] <= now - self.period:
                self._stamps.popleft()
            if len(self._stamps) >= self.per_minute:
                wait = self._stamps[0] + self.period - now
                if wait > 0:
                    _logger.info("Waiting %.1f s for the provider's rate limit", wait)
                    self.sleep(wait)
                    # an injected sleep may not move the clock: trust the wait
                    now = max(self.clock(), now + wait)
                self._stamps.popleft()
            self._stamps.append(now)


class HeaderRateLimiter:
    """Waits while the provider's headers say the quota is used up, in every thread.

    Aircall sends ``X-AircallApi-Remaining`` and ``X-AircallApi-Reset`` (the
    time of the reset: UNIX seconds, milliseconds or seconds from now are
    all understood).  Once Remaining reaches 0, *every* request of every
    thread sharing this limiter waits until the reset; a 429 sets the reset
    from its own headers (or its ``Retry-After``, or a minute).  A wait
    longer than ``max_wait`` seconds is not slept: :class:`ProviderRateLimited`
    is raised instead, so that a run started by hand returns and leaves the
    rest to the import job.
    """

    #: without any hint, the quota of a per-minute limit is back within this
    DEFAULT_RESET = 60.0

    def __init__(
        self,
        remaining_header,
        reset_header,
        *,
        clock=time.time,
        sleep=time.sleep,
        max_wait=60.0,
        provider="The provider",
    ):
        self.remaining_header = remaining_header
        self.reset_header = reset_header
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.provider = provider
        self._reset_at = None
        self._lock = threading.Lock()

    @property
    def reset_at(self):
        with self._lock:
            return self._reset_at

    def wait(self):
        """Before a request: wait for the reset if the quota is spent (or raise)."""
        with self._lock:
            reset_at = self._reset_at
        if reset_at is None:
            return
        delay = reset_at - self.clock()
        if delay <= 0:
            return
        if delay > self.max_wait:
            raise ProviderRateLimited(
                f"{self.provider}'s request quota is used up for {delay:.0f} s more; "
                "the import job continues after that.",
                retry_after=delay,
            )
        _logger.info("%s quota used up; waiting %.1f s", self.provider, delay)
        self.sleep(delay)

    def _reset_time(self, value):
        reset = float(value)
        if reset > 1e12:  # milliseconds
            return reset / 1000.0
        if reset > 1e9:  # UNIX seconds
            return reset
        return self.clock() + reset  # seconds from now

    def _set(self, reset_at):
        with self._lock:
            current = self._reset_at
            if current is None or reset_at > current or current <= self.clock():
                self._reset_at = reset_at

    def update(self, response):
        """After a response: learn the quota from its headers."""
        try:
            remaining = int(response.headers.get(self.remaining_header, ""))
            reset_at = self._reset_time(response.headers.get(self.reset_header, ""))
        except (TypeError, ValueError):
            return
        if remaining <= 0:
            self._set(reset_at)
        else:
            with self._lock:
                # a fresh quota (a later window) lifts an earlier wait
                if self._reset_at is not None and reset_at > self._reset_at:
                    self._reset_at = None

    def limited(self, response):
        """After a 429: every thread waits for the reset it names (or a minute)."""
        try:
            reset_at = self._reset_time(response.headers.get(self.reset_header, ""))
        except (TypeError, ValueError):
            retry_after = retry_after_of(response)
            reset_at = self.clock() + (
                retry_after if retry_after is not None else self.DEFAULT_RESET
            )
        self._set(max(reset_at, self.clock()))


class ApiClient:
    """GET requests to one provider with the session, timeouts, retries and limiters.

    Each attempt goes through ``before`` (rate limiters, which may wait or
    raise :class:`ProviderRateLimited`) and ``after`` (rate limit headers);
    a 429 goes to ``limiter.limited`` when there is a limiter, which then
    makes every thread wait, not only this one.
    """

    def __init__(self, provider, config, session=None, auth=None):
        self.provider = provider
        self.session = session or make_session(config)
        self.timeout = timeouts(config)
        self.auth = auth
        self.policy = RetryPolicy(config)
        #: called before every attempt (rate limiters)
        self.before = None
        #: called with every response (rate limit headers)
        self.after = None
        #: a HeaderRateLimiter that handles 429s for every thread
        self.limiter = None

    def get(self, url, params=None, headers=None, auth=True, stream=False):
        """The raw response (status not checked); ``auth=False`` for presigned links.

        Retried: network errors and timeouts, 429 and 5xx, up to the
        policy's ``retries``; the last answer is returned as it is.
        """
        # A presigned link (``auth=False``) is another service's (S3): the
        # provider's API quota and its headers do not apply to it.
        metered = auth
        attempt = 0
        while True:
            if self.before and metered:
                self.before()
            try:
                response = send(
                    self.session,
                    "GET",
                    url,
                    self.provider,
                    self.timeout,
                    params=params,
                    headers=headers,
                    auth=self.auth if auth else None,
                    stream=stream,
                )
            except ProviderError:
                if attempt >= self.policy.retries:
                    raise
                attempt += 1
                self.policy.sleep(self.policy.backoff(attempt))
                continue
            if self.after and metered:
                self.after(response)
            if response.status_code not in RETRY_STATUSES or attempt >= self.policy.retries:
                return response
            attempt += 1
            if response.status_code == 429 and self.limiter is not None and metered:
                self.limiter.limited(response)
                delay = 0  # the limiter makes this and every other thread wait
            else:
                delay = self.policy.delay(response, attempt)
                if delay is None:
                    return response
            response.close()
            if delay:
                self.policy.sleep(delay)

    def get_json(self, url, params=None, headers=None):
        """The JSON object at ``url``; error statuses raise."""
        response = self.get(url, params=params, headers=headers)
        raise_for_status(response, self.provider)
        return json_of(response, self.provider)


def audio_stream(response, provider):
    """Check a download's status and type, then hand back its body as a stream."""
    raise_for_status(response, provider)
    stream = AudioStream(response, provider)
    if stream.content_type in ("application/json", "text/html", "application/xml"):
        stream.close()
        raise ProviderError(
            f"{provider} sent {stream.content_type} instead of a recording "
            f"({describe_url(response.url)})."
        )
    return stream
