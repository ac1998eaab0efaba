"""Shared fixtures of the provider adapter tests: fake servers and quick configs.

The adapters run against the real loopback servers of ``tests/fakes`` (the
package ``fakes``: pytest.ini puts ``tests`` on the path);
every sleep (retry backoff, Retry-After, rate limits) goes to a fake clock
so that the suite takes seconds, and the sleeps can be asserted.
"""

from datetime import UTC, datetime, timedelta

import pytest
from fakes.aircall import FakeAircall
from fakes.twilio import FakeTwilio
from fakes.zadarma import FakeZadarma
from provider_profiles import (
    AIRCALL_HOOK,
    AIRCALL_ID,
    AIRCALL_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    ZADARMA_KEY,
    ZADARMA_SECRET,
)


class FakeClock:
    """A clock that only moves when something sleeps on it."""

    def __init__(self, start=1_800_000_000.0):
        self.now = start
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def now():
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def since(now):
    return now - timedelta(days=1)


def _quick_config(fake, fake_clock, **extra):
    config = {
        "base_url": fake.base_url,
        "login": fake.login,
        "secret": fake.secret,
        "timeout": 2,
        "max_retries": 2,
        "backoff_factor": 0.01,
        "sleep": fake_clock.sleep,
        "clock": fake_clock.time,
    }
    config.update(extra)
    return config


@pytest.fixture
def quick_config(clock):
    """``quick_config(fake, **extra)``: an adapter config with short timeouts, no real sleeps."""
    return lambda fake, **extra: _quick_config(fake, clock, **extra)


@pytest.fixture
def twilio_fake():
    with FakeTwilio(login=TWILIO_SID, secret=TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture
def aircall_fake():
    # the quota is raised: these tests are not about it (those that are set their own)
    with FakeAircall(
        login=AIRCALL_ID,
        secret=AIRCALL_TOKEN,
        webhook_token=AIRCALL_HOOK,
        rate_limit_per_minute=100_000,
    ) as fake:
        yield fake


@pytest.fixture
def zadarma_fake():
    with FakeZadarma(
        login=ZADARMA_KEY,
        secret=ZADARMA_SECRET,
        timezone="Europe/Budapest",
        rate_limit_per_minute=1000,
    ) as fake:
        yield fake


def _list_all(adapter, since, until):
    calls, errors, pages, cursor = [], [], 0, None
    while True:
        page = adapter.list_calls(since, until, cursor)
        pages += 1
        calls += page.calls
        errors += page.errors
        cursor = page.next_cursor
        if not cursor:
            return calls, errors, pages
        assert pages < 1000, "the adapter does not stop paging"


class LoopbackTwilioHttpClient:
    """twilio-python's own HTTP client, sent to a fake on loopback and nowhere else.

    The SDK builds its requests as it would for api.twilio.com (query
    parameters, date serialisation, paging by ``next_page_uri``); only the
    host is replaced, and any other host is refused.
    """

    def __init__(self, base_url):
        from twilio.http.http_client import TwilioHttpClient  # noqa: PLC0415

        class _Client(TwilioHttpClient):
            def request(self, method, url, *args, **kwargs):
                prefix = "https://api.twilio.com/"
                if not url.startswith(prefix):
                    raise AssertionError(f"the SDK tried to reach {url}")
                return super().request(method, base_url + "/" + url[len(prefix) :], *args, **kwargs)

        self.client = _Client(timeout=5)


@pytest.fixture
def twilio_sdk(twilio_fake):
    """A ``twilio.rest.Client`` (the official SDK) talking to the fake Twilio."""
    from twilio.rest import Client  # noqa: PLC0415

    return Client(
        twilio_fake.login,
        twilio_fake.secret,
        http_client=LoopbackTwilioHttpClient(twilio_fake.base_url).client,
    )


@pytest.fixture
def list_all():
    """``list_all(adapter, since, until)``: every page, as (calls, errors, pages)."""
    return _list_all
