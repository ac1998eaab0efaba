"""What every provider adapter promises, run once per adapter against its kit.fake.

The interface is :class:`call_recording_lib.providers.base.ProviderAdapter`:
listing a window page by page, exact window edges, clear errors (which are
retryable and which are not), recordings served once ready, unknown calls,
and webhooks verified before they are believed.  What one provider does its
own way is tested in ``test_providers_<code>.py``; what differs here is in
``provider_profiles.py``.
"""

import time
from datetime import timedelta

import pytest
from call_recording_lib.providers import (
    ADAPTERS,
    AudioNotReady,
    MalformedData,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    WebhookRejected,
)
from provider_profiles import PROFILES


class Kit:
    """One provider under test: its profile, its fake, and an adapter on the fake."""

    def __init__(self, profile, fake, quick_config):
        self.profile, self.fake, self._quick_config = profile, fake, quick_config
        self.adapter = self.configured()

    def configured(self, **extra):
        """An adapter on the fake with other settings."""
        return self.profile.adapter(self._quick_config, self.fake, **extra)

    def add(self, start, **kwargs):
        return self.profile.add(self.fake, start, **kwargs)

    def recording_ref(self, ext):
        return self.profile.recording_ref(self.fake, ext)


@pytest.fixture(params=sorted(PROFILES))
def kit(request, quick_config):
    profile = PROFILES[request.param]
    return Kit(profile, request.getfixturevalue(f"{profile.code}_fake"), quick_config)


def ids(calls):
    return [call.external_id for call in calls]


def test_every_adapter_has_a_profile():
    assert set(PROFILES) == set(ADAPTERS)


def test_lists_every_call_page_by_page(kit, now, since, list_all):
    added = {kit.add(now - timedelta(minutes=10 * i)) for i in range(1, 8)}
    calls, errors, pages = list_all(kit.adapter, since, now)
    assert (errors, pages) == ([], 3)
    assert sorted(ids(calls)) == sorted(added), "lost or repeated calls"
    for call in calls:
        assert call.start.utcoffset() == timedelta(0), "times leave an adapter in UTC"
        assert (call.direction, call.state, call.duration) == ("inbound", "answered", 60)
        assert (call.caller_number, call.callee_number) == ("+36301112233", "+3612223344")
        assert call.recording_ref == kit.recording_ref(call.external_id)
        assert call.recording_ready is True


def test_window_is_exact(kit, now, list_all):
    since = now - timedelta(hours=3)
    until = since + timedelta(hours=1)
    inside = kit.add(since)
    last = kit.add(until - timedelta(seconds=1))
    kit.add(since - timedelta(seconds=1))
    kit.add(until)
    kit.add(since - timedelta(days=3))
    calls, _errors, _pages = list_all(kit.adapter, since, until)
    assert sorted(ids(calls)) == sorted([inside, last])


def test_refused_credentials_are_said_and_not_retried(kit, now, since):
    adapter = kit.configured(secret="wrong")
    for request in (adapter.test_connection, lambda: adapter.list_calls(since, now)):
        with pytest.raises(ProviderAuthError) as info:
            request()
        assert f"refused the credentials (HTTP 401): {kit.profile.auth_reason}" in str(info.value)
        assert info.value.retryable is False


def test_retry_after_is_honoured(kit, clock, now, since):
    ext = kit.add(now - timedelta(minutes=1))
    listing = kit.profile.list_path
    kit.fake.fail_next(status=429, headers={"Retry-After": "2"}, path_contains=listing)
    assert ids(kit.adapter.list_calls(since, now).calls) == [ext]
    assert 2.0 in clock.sleeps, "Retry-After was not honoured"


def test_rate_limited_until_retries_run_out(kit, now, since):
    kit.fake.fail_next(status=429, count=10, headers={"Retry-After": "7"})
    with pytest.raises(ProviderRateLimited) as info:
        kit.adapter.list_calls(since, now)
    assert info.value.retry_after == 7
    assert info.value.retryable is True
    assert "429" in str(info.value)


def test_server_errors_then_success(kit, now, since):
    ext = kit.add(now - timedelta(minutes=1))
    kit.fake.fail_next(status=500)
    kit.fake.fail_next(status=502)
    assert ids(kit.adapter.list_calls(since, now).calls) == [ext]


def test_outage_is_retryable(kit, now, since):
    kit.fake.fail_next(status=503, count=10)
    with pytest.raises(ProviderError) as info:
        kit.adapter.list_calls(since, now)
    assert info.value.retryable is True
    assert "HTTP 503" in str(info.value)


def test_timeout_is_a_retryable_error(kit, now, since):
    adapter = kit.configured(timeout=0.3, max_retries=1)
    kit.fake.stall_next(1.0, count=2, path_contains=kit.profile.list_path)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        adapter.list_calls(since, now)
    assert time.monotonic() - started < 1.5
    assert info.value.retryable is True
    assert kit.profile.label in str(info.value)


def test_page_that_is_not_json(kit, now, since):
    kit.fake.malformed_next(path_contains=kit.profile.list_path)
    with pytest.raises(MalformedData) as info:
        kit.adapter.list_calls(since, now)
    assert f"{kit.profile.label} sent an answer that is not JSON" in str(info.value)
    assert info.value.retryable is False


def test_malformed_call_goes_to_errors_and_is_read_once_right(kit, now, since):
    good = kit.add(now - timedelta(minutes=2))
    bad = kit.add(now - timedelta(minutes=1))
    kit.fake.corrupt_call(bad)
    page = kit.adapter.list_calls(since, now)
    assert ids(page.calls) == [good]
    assert [ext for ext, _reason in page.errors] == [bad]
    assert all(reason for _ext, reason in page.errors)
    kit.fake.corrupt_call(bad, corrupt=False)
    assert kit.adapter.refresh_call(bad).external_id == bad


def test_recording_served_once_ready(kit, now, since):
    ext = kit.add(now - timedelta(minutes=1), recording_ready=False)
    [call] = kit.adapter.list_calls(since, now).calls
    with pytest.raises(AudioNotReady) as info:
        kit.adapter.open_audio(call)
    assert info.value.retryable is True
    assert kit.fake.audio_downloads == 0
    kit.fake.set_recording_ready(ext, audio=kit.profile.audio)
    call = kit.adapter.refresh_call(ext)
    assert (call.recording_ref, call.recording_ready) == (kit.recording_ref(ext), True)
    with kit.adapter.open_audio(call) as stream:
        assert stream.content_type == kit.profile.content_type
        assert stream.read(10) == kit.profile.audio[:10]
        assert stream.read() == kit.profile.audio[10:]
    assert kit.fake.audio_downloads == 1


def test_call_without_recording(kit, now, since):
    ext = kit.add(now - timedelta(minutes=1), state="missed", audio=None)
    [call] = kit.adapter.list_calls(since, now).calls
    assert (call.external_id, call.state, call.recording_ref) == (ext, "missed", None)


def test_refresh_of_an_unknown_call(kit):
    assert kit.adapter.refresh_call(kit.profile.unknown_id) is None


def test_signed_webhook_names_its_call(kit, now):
    ext = kit.add(now - timedelta(minutes=1))
    delivery = kit.profile.delivery(kit.fake, ext)
    [event] = delivery.parse(kit.adapter)
    assert ext in (event.external_id, event.call and event.call.external_id)
    assert event.event_key == kit.profile.event_key(delivery)
    [again] = delivery.parse(kit.adapter)
    assert again.event_key == event.event_key, "a redelivery is recognised"


def test_unsigned_or_badly_signed_webhook_is_rejected(kit, now):
    ext = kit.add(now - timedelta(minutes=1))
    delivery = kit.profile.delivery(kit.fake, ext)
    for forged in (kit.profile.unsigned(delivery), kit.profile.badly_signed(delivery)):
        with pytest.raises(WebhookRejected):
            forged.parse(kit.adapter)
