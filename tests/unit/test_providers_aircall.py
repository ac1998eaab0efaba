import json
import time
from datetime import timedelta

import pytest
import requests
from call_recording_lib.providers import (
    AudioExpired,
    AudioNotReady,
    MalformedData,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    WebhookRejected,
    get_adapter,
)
from call_recording_lib.providers.http import HeaderRateLimiter
from fakes.aircall import FakeAircall

AIRCALL_ID, AIRCALL_TOKEN, AIRCALL_HOOK = "aircall-id", "aircall-token", "aircall-hook-token"

AUDIO = b"ID3" + bytes(range(256)) * 400


@pytest.fixture
def adapter(aircall_fake, quick_config):
    return get_adapter(
        "aircall", quick_config(aircall_fake, page_size=3, webhook_secret=AIRCALL_HOOK)
    )


def add(fake, start, **kwargs):
    values = {
        "direction": "inbound",
        "caller": "+36301112233",
        "callee": "+3612223344",
        "duration": 60,
        "audio": AUDIO,
    }
    values.update(kwargs)
    return fake.add_call(start=start, **values)


def test_ping(adapter):
    assert adapter.test_connection() == "pong"


def test_pages_to_the_end_by_next_page_link(aircall_fake, adapter, now, since, list_all):
    ids = {add(aircall_fake, now - timedelta(minutes=i)) for i in range(1, 8)}
    calls, errors, pages = list_all(adapter, since, now)
    assert (errors, pages) == ([], 3)
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


def test_window_is_exact(aircall_fake, adapter, now):
    since, until = now - timedelta(hours=2), now - timedelta(hours=1)
    inside = add(aircall_fake, since)
    add(aircall_fake, since - timedelta(seconds=1))
    add(aircall_fake, until)
    page = adapter.list_calls(since, until)
    assert [c.external_id for c in page.calls] == [inside]


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


def test_auth_failure_is_clear(aircall_fake, quick_config, now, since):
    adapter = get_adapter("aircall", quick_config(aircall_fake, secret="wrong"))
    with pytest.raises(ProviderAuthError) as info:
        adapter.list_calls(since, now)
    assert "refused the credentials (HTTP 401): Unauthorized" in str(info.value)


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


def test_rate_limited_then_success(aircall_fake, adapter, clock, now, since):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    aircall_fake.fail_next(status=429, headers={"Retry-After": "1"}, path_contains="/v1/calls")
    assert [c.external_id for c in adapter.list_calls(since, now).calls] == [ext]
    assert 1.0 in clock.sleeps


def test_server_error_then_success(aircall_fake, adapter, now, since):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    aircall_fake.fail_next(status=502)
    assert [c.external_id for c in adapter.list_calls(since, now).calls] == [ext]


def test_timeout_is_a_retryable_error(aircall_fake, quick_config, now, since):
    adapter = get_adapter("aircall", quick_config(aircall_fake, timeout=0.3, max_retries=0))
    aircall_fake.stall_next(1.0)
    with pytest.raises(ProviderError) as info:
        adapter.list_calls(since, now)
    assert info.value.retryable is True


def test_page_that_is_not_json(aircall_fake, adapter, now, since):
    aircall_fake.malformed_next()
    with pytest.raises(MalformedData):
        adapter.list_calls(since, now)


def test_malformed_call_goes_to_errors(aircall_fake, adapter, now, since):
    good = add(aircall_fake, now - timedelta(minutes=2))
    bad = add(aircall_fake, now - timedelta(minutes=1))
    aircall_fake.corrupt_call(bad)
    page = adapter.list_calls(since, now)
    assert [c.external_id for c in page.calls] == [good]
    assert [ext for ext, _reason in page.errors] == [bad]
    aircall_fake.corrupt_call(bad, corrupt=False)
    assert adapter.refresh_call(bad).external_id == bad


def test_no_recording_and_not_ready(aircall_fake, adapter, now, since):
    none = add(aircall_fake, now - timedelta(minutes=2), audio=None, state="missed")
    late = add(aircall_fake, now - timedelta(minutes=1), recording_ready=False)
    calls = {c.external_id: c for c in adapter.list_calls(since, now).calls}
    assert calls[none].recording_ref is None
    assert calls[late].recording_ref is None
    with pytest.raises(AudioNotReady):
        adapter.open_audio(calls[late])
    aircall_fake.set_recording_ready(late, audio=AUDIO)
    call = adapter.refresh_call(late)
    assert call.recording_ready is True
    with adapter.open_audio(call) as stream:
        assert stream.read() == AUDIO
        assert stream.content_type == "audio/mpeg"


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


def test_refresh_unknown_call(adapter):
    assert adapter.refresh_call("999") is None


# -- webhooks -----------------------------------------------------------------


def test_webhook_with_the_token(aircall_fake, adapter, now):
    ext = add(aircall_fake, now - timedelta(minutes=1), agent_email="a@example.com")
    body = aircall_fake.webhook_payload(ext, event="call.ended")
    signed = aircall_fake.sign_webhook("https://odoo.example.com/hook", body)
    [event] = adapter.parse_webhook("https://x/hook", {}, json.dumps(signed).encode(), {})
    assert event.call.external_id == ext
    assert event.call.agent_email == "a@example.com"
    assert event.event_key == f"{ext}:call.ended:{body['timestamp']}"
    assert event.kind == "call.ended"
    again = adapter.parse_webhook("https://x/hook", {}, json.dumps(body).encode(), {})
    assert again[0].event_key == event.event_key
    other = aircall_fake.webhook_payload(ext, event="call.comm_assets_generated")
    [assets] = adapter.parse_webhook("https://x/hook", {}, json.dumps(other).encode(), {})
    assert assets.event_key != event.event_key


@pytest.mark.parametrize(
    "mutate",
    [
        lambda body: dict(body, token="wrong"),
        lambda body: {k: v for k, v in body.items() if k != "token"},
        lambda body: dict(body, token=None),
    ],
)
def test_webhook_bad_or_missing_token(aircall_fake, adapter, now, mutate):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    body = mutate(aircall_fake.webhook_payload(ext))
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook("https://x/hook", {}, json.dumps(body).encode(), {})


def test_webhook_not_json_or_no_secret(aircall_fake, quick_config, adapter, now):
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook("https://x/hook", {}, b"not json", {})
    ext = add(aircall_fake, now - timedelta(minutes=1))
    body = json.dumps(aircall_fake.webhook_payload(ext)).encode()
    unconfigured = get_adapter("aircall", quick_config(aircall_fake))
    with pytest.raises(WebhookRejected):
        unconfigured.parse_webhook("https://x/hook", {}, body, {})


def test_webhook_other_events_are_ignored(aircall_fake, adapter, now):
    ext = add(aircall_fake, now - timedelta(minutes=1))
    body = aircall_fake.webhook_payload(ext, event="call.tagged")
    assert adapter.parse_webhook("https://x/hook", {}, json.dumps(body).encode(), {}) == []
