"""What every provider adapter offers, and what it hands back.

An adapter speaks one provider's API and nothing else: it lists calls in a
time window page by page, downloads a recording, and checks and parses the
provider's webhooks.  It never touches the database; the sync engine
(:mod:`..sync_engine`) and the Odoo models drive it.  Times are always aware
UTC ``datetime`` objects once they leave an adapter, whatever the
provider sends (RFC 2822 strings, UNIX seconds, local times without a
zone).
"""

from dataclasses import dataclass, field
from datetime import datetime


class ProviderError(Exception):
    """A provider request failed; ``str()`` is a message for the administrator."""

    #: whether trying again later may succeed (outage, rate limit, timeout)
    retryable = True


class ProviderAuthError(ProviderError):
    """The provider refused the credentials: no retry helps until they change."""

    retryable = False


class ProviderRateLimited(ProviderError):
    """The provider asked us to slow down and the retries ran out."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class AudioNotReady(ProviderError):
    """The call has a recording but the provider cannot serve it yet."""


class AudioExpired(ProviderError):
    """A download link expired before it was used; read the call again."""


class IncompleteDownload(ProviderError):
    """A recording came shorter than the provider announced (cut off, or not what
    its metadata says): a failed download, tried again, never stored."""


class MalformedData(ProviderError):
    """The provider sent something we cannot read (bad JSON, a missing field)."""

    retryable = False


class WebhookRejected(Exception):
    """A webhook's signature or token is missing or wrong (answer 403)."""


@dataclass
class ProviderCall:
    """One call as a provider reports it, in the provider's own identifiers.

    ``recording_ref`` is whatever the adapter needs to download the audio
    later (a recording SID, a call id); ``None`` means the call has no
    recording.  ``recording_ready`` is false while the provider is still
    processing it: the call is stored now and its audio fetched on a later
    run.  ``recording_duration`` and ``recording_size``, when the provider
    gives them, let a download that came short be recognised.
    """

    external_id: str
    start: datetime
    direction: str  # inbound | outbound | internal
    state: str = "answered"  # answered | missed | voicemail | busy | failed
    caller_number: str | None = None
    callee_number: str | None = None
    duration: int = 0
    agent_email: str | None = None
    agent_external_id: str | None = None
    agent_name: str | None = None
    recording_ref: str | None = None
    recording_ready: bool = True
    #: what the provider says of the recording, checked against the download
    #: (None: not said): its length in seconds, its size in bytes
    recording_duration: int | None = None
    recording_size: int | None = None
    #: no recording yet, but the provider may still add one (it processes
    #: them after the call): the call is read again for a while
    recording_expected: bool = False
    #: provider fields kept for the record (shown to administrators)
    raw: dict = field(default_factory=dict)

    @property
    def agent_key(self):
        """How the provider names the call's agent (its user id, else its e-mail), or None."""
        return self.agent_external_id or self.agent_email or None


@dataclass
class CallPage:
    """One page of calls and the cursor of the next page (``None`` at the end)."""

    calls: list
    next_cursor: str | None = None
    #: calls of the page that could not be read, as (external id or "?", reason)
    errors: list = field(default_factory=list)


@dataclass
class WebhookEvent:
    """What a webhook tells us: a call (complete or partial) to store or refresh.

    ``call`` is set when the payload carries the call itself (Aircall);
    otherwise ``external_id`` names a call the engine reads back from the
    API (Twilio, Zadarma).  ``starting`` events announce a call as it
    starts (a screen pop for its agent), with what is known of it in
    ``call``.  ``event_key`` identifies the delivery, so a
    replayed or repeated delivery is recognised.
    """

    event_key: str
    external_id: str | None = None
    call: ProviderCall | None = None
    recording_ref: str | None = None
    kind: str = ""
    #: the provider announces a call that is starting (ringing on an agent):
    #: ``call`` says who and from which number, for the agent's screen pop;
    #: nothing is stored from it
    starting: bool = False


class ProviderAdapter:
    """The interface of one provider account's API client.

    ``config`` holds the account's settings: ``base_url``, ``login``
    (account SID, API id, user key), ``secret`` (auth token, API token,
    secret key), ``webhook_secret`` (where the provider signs webhooks
    with something else), ``timeout`` (seconds) and ``max_retries``.
    """

    #: technical name, stored on the provider record
    code = None
    #: the longest time window one listing request may cover (None: any)
    max_window = None
    #: how far back a run looks again for calls that arrived late
    default_overlap_minutes = 120

    def __init__(self, config, session=None):
        self.config = config
        self.session = session

    def test_connection(self):
        """Check the credentials with a cheap request; return a short description."""
        raise NotImplementedError

    def list_calls(self, since, until, cursor=None):
        """Return one :class:`CallPage` of the calls started in ``[since, until)``.

        ``cursor`` is the ``next_cursor`` of the previous page, ``None``
        for the first one.  A call the adapter cannot parse goes to
        ``CallPage.errors`` instead of failing the page.
        """
        raise NotImplementedError

    def refresh_call(self, external_id):
        """Read one call again (fresh recording links); ``None`` if unknown."""
        raise NotImplementedError

    def open_audio(self, call):
        """Return a file-like object streaming the recording of ``call``.

        ``call`` is a :class:`ProviderCall` (or anything with
        ``external_id`` and ``recording_ref``).  The caller closes it.
        Raises :class:`AudioNotReady` or :class:`AudioExpired` where that
        applies, :class:`ProviderError` otherwise.
        """
        raise NotImplementedError

    def parse_webhook(self, url, headers, body, form):
        """Verify a webhook delivery and return its :class:`WebhookEvent` list.

        ``url`` is the full URL the provider called, ``headers`` a
        case-insensitive mapping, ``body`` the raw bytes and ``form`` the
        decoded form fields (empty for JSON).  Raises
        :class:`WebhookRejected` when the signature or token is missing or
        wrong; the comparison is constant-time.
        """
        raise NotImplementedError
