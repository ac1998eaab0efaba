"""HTTP plumbing shared by the adapters: retries, timeouts, error messages, rate limits.

Every request goes through a ``requests.Session`` whose urllib3 ``Retry``
absorbs short outages (429 and 5xx, connection and read errors) before an
adapter sees anything.  What is still wrong afterwards becomes one of the
exceptions of :mod:`.base`, with a message an administrator can act on.

Works with urllib3 1.26 (Odoo's venv) and 2.x (the Docker image): only the
``Retry`` API common to both is used.  urllib3 honours ``Retry-After`` only
for 413, 429 and 503; other retried statuses use the exponential backoff.
"""

import io
import logging
import threading
import time
from collections import deque
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .base import MalformedData, ProviderAuthError, ProviderError, ProviderRateLimited

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Only reads are retried: the adapters never send a request that changes
# anything at the provider (no POST at all).
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the longest Retry-After we sleep inside one request; beyond it the
#: retries run out and ProviderRateLimited tells the engine to come back later
DEFAULT_MAX_RETRY_AFTER = 60


class _PoliteRetry(Retry):
    """``Retry`` with a capped Retry-After and an injectable sleep.

    urllib3 rebuilds the object on every retry (``Retry.new``) from its
    constructor arguments, so the extras live on a per-session subclass
    (see :func:`make_session`) rather than on the instance.
    """

    sleep_func = staticmethod(time.sleep)
    retry_after_cap = DEFAULT_MAX_RETRY_AFTER

    def get_retry_after(self, response):
        value = super().get_retry_after(response)
        if value is None:
            return None
        return max(0.0, min(float(value), float(self.retry_after_cap)))

    def sleep(self, response=None):
        if self.respect_retry_after_header and response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after:
                self.sleep_func(retry_after)
                return
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleep_func(backoff)


def config_sleep(config):
    """The sleep function of ``config`` (tests inject one that does not wait)."""
    return config.get("sleep") or time.sleep


def config_clock(config):
    """The wall clock of ``config`` (UNIX seconds; injectable for tests)."""
    return config.get("clock") or time.time


def make_session(config):
    """A ``requests.Session`` retrying 429/5xx and network errors as ``config`` says.

    Keys read: ``max_retries`` (default 3), ``backoff_factor`` (default
    0.5 s), ``max_retry_after`` (default 60 s), ``sleep`` (callable).
    """
    retries = config.get("max_retries")
    retries = DEFAULT_RETRIES if retries is None else max(0, int(retries))
    backoff = config.get("backoff_factor")
    retry_class = type(
        "PoliteRetry",
        (_PoliteRetry,),
        {
            "sleep_func": staticmethod(config_sleep(config)),
            "retry_after_cap": float(config.get("max_retry_after") or DEFAULT_MAX_RETRY_AFTER),
        },
    )
    retry = retry_class(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=DEFAULT_BACKOFF if backoff is None else float(backoff),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "odoo-call-recording/19.0"
    return session


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
        import json  # noqa: PLC0415 - only on the error path

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
    mid-body raises :class:`ProviderError` (retryable).
    """

    def __init__(self, response, provider):
        super().__init__()
        self.response = response
        self.provider = provider
        self.content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        length = response.headers.get("Content-Length")
        self.content_length = int(length) if length and length.isdigit() else None

    def readable(self):
        return True

    def read(self, size=-1):
        try:
            if size is None or size < 0:
                return self.response.raw.read(decode_content=True)
            return self.response.raw.read(size, decode_content=True)
        except Exception as exc:
            raise ProviderError(
                f"The download from {self.provider} broke off: {exc}; it will be tried again."
            ) from exc

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed:
            self.response.close()
        super().close()


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
    """Waits when the provider's headers say the quota is used up.

    Aircall sends ``X-AircallApi-Remaining`` and ``X-AircallApi-Reset``
    (UNIX time of the reset); when Remaining reaches 0 the next request
    waits until Reset, at most ``max_wait`` seconds.
    """

    def __init__(
        self,
        remaining_header,
        reset_header,
        clock=time.time,
        sleep=time.sleep,
        max_wait=60.0,
    ):
        self.remaining_header = remaining_header
        self.reset_header = reset_header
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self._reset_at = None
        self._lock = threading.Lock()

    def wait(self):
        with self._lock:
            reset_at, self._reset_at = self._reset_at, None
        if reset_at is None:
            return
        delay = min(reset_at - self.clock(), self.max_wait)
        if delay > 0:
            _logger.info("Provider quota used up; waiting %.1f s", delay)
            self.sleep(delay)

    def update(self, response):
        try:
            remaining = int(response.headers.get(self.remaining_header, ""))
            reset = float(response.headers.get(self.reset_header, ""))
        except ValueError:
            return
        if remaining > 0:
            return
        # a UNIX time, or (some providers) seconds until the reset
        reset_at = reset if reset > 1e9 else self.clock() + reset
        with self._lock:
            self._reset_at = reset_at


class ApiClient:
    """GET requests to one provider with the session, timeouts and hooks of an adapter."""

    def __init__(self, provider, config, session=None, auth=None):
        self.provider = provider
        self.session = session or make_session(config)
        self.timeout = timeouts(config)
        self.auth = auth
        #: called before every API request (rate limiters)
        self.before = None
        #: called with every API response (rate limit headers)
        self.after = None

    def get(self, url, params=None, headers=None, auth=True, stream=False):
        """The raw response (status not checked); ``auth=False`` for presigned links."""
        if self.before:
            self.before()
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
        if self.after:
            self.after(response)
        return response

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
