"""Aircall's own ways; what every adapter does is in test_provider_contract.py."""

import json
import time
from datetime import timedelta

import pytest
import requests
from call_recording_lib.providers import (
    AudioExpired,
    AudioNotReady,
    MalformedData,
    ProviderRateLimited,
    WebhookRejected,
    get_adapter,
)
from call_recording_lib.providers.http import HeaderRateLimiter
from fakes.aircall import FakeAircall
from provider_profiles import AIRCALL, AIRCALL_HOOK, AIRCALL_ID, AIRCALL_TOKEN

AUDIO = AIRCALL.audio
add = AIRCALL.add


@pytest.fixture
def adapter(aircall_fake, quick_config):
    return AIRCALL.adapter(quick_config, aircall_fake)


def test_ping(adapter):
    assert adapter.test_connection() == "pong"


def test_pages_oldest_first_by_next_page_link(aircall_fake, adapter, now, since, list_all):
    ids = {add(aircall_fake, now - timedelta(minutes=i)) for i in range(1, 8)}
    calls, _errors, _pages = list_all(adapter, since, now)
    assert [c.external_id for c in calls] == sorted(ids, key=int, reverse=True)
    listed = [p for m, p, h in aircall_fake.requests if p.startswith("/v1/calls?")]
    assert "per_page=3" in listed[0]
    assert "order=asc" in listed[0]
    assert "page=3" in listed[-1]


def test_fields(aircall_fake, adapter, now, since):
    ext = add(
        aircall_fake,
        now - timedelta(minutes=3),
        caller=None,
        agent_email="agent@example.com",
        agent_id="77",
        agent_name="Agent Smith",
    )
    voicemail = add(aircall_fake, now - timedelta(minutes=2), state="voicemail")
    out = add(aircall_fake, now - timedelta(minutes=1), direction="outbound", state="missed")
    calls = {c.external_id: c for c in adapter.list_calls(since, now).calls}
    call = calls[ext]
    assert call.caller_number is None, "anonymous is no number"
    assert call.callee_number == "+3612223344"
    assert (call.agent_email, call.agent_external_id, call.agent_name) == (
        "agent@example.com",
        "77",
        "Agent Smith",
    )
    assert call.start == now - timedelta(minutes=3)
    assert (call.state, call.recording_ref, call.recording_ready) == ("answered", ext, True)
    assert calls[voicemail].state == "voicemail"
    assert calls[voicemail].recording_ref == voicemail
    assert (calls[out].direction, calls[out].state) == ("outbound", "missed")
    assert (calls[out].caller_number, calls[out].callee_number) == ("+36301112233", "+3612223344")


def test_per_page_is_capped_at_50(aircall_fake, quick_config, now, since):
    adapter = get_adapter("aircall", quick_config(aircall_fake, page_size=200))
    add(aircall_fake, now - timedelta(minutes=1))
    assert len(adapter.list_calls(since, now).calls) == 1
    assert "per_page=50" in aircall_fake.requests[-1][1]
    response = requests.get(
        f"{aircall_fake.base_url}/v1/calls?per_page=51",
        auth=(AIRCALL_ID, AIRCALL_TOKEN),
        timeout=5,
    )
    assert response.status_code == 400
    assert "50" in response.json()["troubleshoot"]


def test_result_cap_splits_the_window(quick_config, now, list_all):
    with FakeAircall(AIRCALL_ID, AIRCALL_TOKEN, AIRCALL_HOOK, result_cap=5) as fake:
        ids = {add(fake, now - timedelta(minutes=7 * i + 1)) for i in range(23)}
        adapter = get_adapter("aircall", quick_config(fake, page_size=2, result_cap=5))
        calls, errors, _pages = list_all(adapter, now - timedelta(hours=3), now)
        refused = [p for m, p, h in fake.requests if "page=4" in p]
    assert errors == []
    assert sorted(c.external_id for c in calls) == sorted(ids), "lost or repeated calls"
    assert refused == [], "asked beyond the cap"


def test_next_page_on_another_host_is_refused(adapter, now, since):
    cursor = json.dumps({"f": 0, "t": 10, "n": "https://evil.example.com/v1/calls?page=2"})
    with pytest.raises(MalformedData):
        adapter.list_calls(since, now, cursor)


def test_rate_limit_headers_make_us_wait(quick_config, clock, now, since):
    with FakeAircall(AIRCALL_ID, AIRCALL_TOKEN, rate_limit_per_minute=2) as fake:
        add(fake, now - timedelta(minutes=1))
        adapter = get_adapter("aircall", quick_config(fake, clock=time.time, max_retries=1))
        adapter.test_connection()
        adapter.list_calls(since, now)  # the quota is used up now
        assert clock.sleeps == []
        with pytest.raises(ProviderRateLimited) as info:
            adapter.list_calls(since, now)
    assert 0 < clock.sleeps[0] <= 60, "did not wait for X-AircallApi-Reset"
    assert "429" in str(info.value)


def test_header_limiter_waits_for_every_request_until_the_reset(clock):
    limiter = HeaderRateLimiter("R", "T", clock=clock.time, sleep=clock.sleep, max_wait=60)

    class Response:
        headers = {"R": "0", "T": str(clock.now + 30)}

    limiter.update(Response)
    limiter.wait()
    limiter.wait()  # the reset has passed now: no second wait
    assert clock.sleeps == [30]
    Response.headers = {"R": "0", "T": str(int((clock.now + 20) * 1000))}  # milliseconds
    limiter.update(Response)
    limiter.wait()
    assert clock.sleeps == [30, pytest.approx(20, abs=1)]


def test_header_limiter_beyond_its_longest_wait_raises(clock):
    """A run started by hand does not sleep for the quota: it returns, the job continues."""
    limiter = HeaderRateLimiter("R", "T", clock=clock.time, sleep=clock.sleep, max_wait=5)

    class Response:
        headers = {"R": "0", "T": str(clock.now + 3600)}

    limiter.update(Response)
    for _request in range(2):
        with pytest.raises(ProviderRateLimited) as info:
            limiter.wait()
        assert info.value.retry_after == pytest.approx(3600)
    assert clock.sleeps == []


def test_recording_not_ready_is_not_listed_yet(aircall_fake, adapter, now, since):
    """Aircall's call has no recording link until the recording is ready."""
    add(aircall_fake, now - timedelta(minutes=1), recording_ready=False)
    [call] = adapter.list_calls(since, now).calls
    assert call.recording_ref is None
    with pytest.raises(AudioNotReady):
        adapter.open_audio(call)


def test_expired_link_is_read_again(aircall_fake, adapter, now, since):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    aircall_fake.expire_links_after(0.2)
    call = adapter.list_calls(since, now).calls[0]
    old_link = requests.get(
        f"{aircall_fake.base_url}/v1/calls/{ext}", auth=(AIRCALL_ID, AIRCALL_TOKEN), timeout=5
    ).json()["call"]["recording"]
    assert "X-Amz-Expires=0" in old_link
    time.sleep(0.3)
    assert requests.get(old_link, timeout=5).status_code == 403
    with adapter.open_audio(call) as stream:
        assert stream.read() == AUDIO
    assert aircall_fake.audio_downloads == 1
    downloads = [h for m, p, h in aircall_fake.requests if p.startswith("/s3/")]
    assert "Authorization" not in downloads[-1], "API credentials sent to the storage"


def test_always_expired_link(aircall_fake, adapter, now, since):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    aircall_fake.expire_links_after(0)
    call = adapter.list_calls(since, now).calls[0]
    with pytest.raises(AudioExpired) as info:
        adapter.open_audio(call)
    assert info.value.retryable is True
    reads = [p for m, p, h in aircall_fake.requests if p == f"/v1/calls/{ext}"]
    assert len(reads) == 2
    assert aircall_fake.audio_downloads == 0


# -- webhooks -----------------------------------------------------------------


def test_webhook_carries_the_call(aircall_fake, adapter, now):
    ext = add(aircall_fake, now - timedelta(minutes=1), agent_email="a@example.com")
    [event] = AIRCALL.delivery(aircall_fake, ext).parse(adapter)
    assert event.call.external_id == ext
    assert event.call.agent_email == "a@example.com"
    assert event.kind == "call.ended"
    other = aircall_fake.webhook_payload(ext, event="call.comm_assets_generated")
    [assets] = adapter.parse_webhook("https://x/hook", {}, json.dumps(other).encode(), {})
    assert assets.event_key != event.event_key


def test_webhook_null_token_not_json_or_no_secret(aircall_fake, quick_config, adapter, now):
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook("https://x/hook", {}, b"not json", {})
    ext = add(aircall_fake, now - timedelta(minutes=1))
    null = json.dumps(dict(aircall_fake.webhook_payload(ext), token=None)).encode()
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook("https://x/hook", {}, null, {})
    body = json.dumps(aircall_fake.webhook_payload(ext)).encode()
    unconfigured = get_adapter("aircall", quick_config(aircall_fake))
    with pytest.raises(WebhookRejected):
        unconfigured.parse_webhook("https://x/hook", {}, body, {})


def test_webhook_other_events_are_ignored(aircall_fake, adapter, now):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    body = aircall_fake.webhook_payload(ext, event="call.tagged")
    assert adapter.parse_webhook("https://x/hook", {}, json.dumps(body).encode(), {}) == []
