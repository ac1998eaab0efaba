"""A sync killed between batches, then run again: every call once, every file intact.

A real Odoo process imports from the fake Twilio server on loopback and is
killed with SIGKILL twice, once while it lists calls and once while it
downloads recordings, as a crash, an OOM kill or a worker timeout would.
The third run must leave exactly one call per provider call, each with
its recording in the filestore matching its SHA-256.
"""

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from call_recording_lib.audio import synth_call_wav
from fakes.twilio import FakeTwilio

from .odoo_db import OdooDatabase

CALLS = 60
LOGIN, SECRET = "AC" + "e" * 32, "e2e-token"


@pytest.fixture(scope="module")
def database():
    db = OdooDatabase(f"crtest_e2e_{os.getpid()}").create()
    yield db
    db.drop()


@pytest.fixture
def fake():
    with FakeTwilio(login=LOGIN, secret=SECRET) as server:
        yield server


def test_sync_killed_twice_then_complete(database, fake):
    now = datetime.now(UTC).replace(microsecond=0)
    expected = {}
    for index in range(CALLS):
        audio = synth_call_wav(3, seed=index)
        ext = fake.add_call(
            start=now - timedelta(hours=40) + timedelta(minutes=30 * index),
            direction="inbound" if index % 3 else "outbound",
            caller=f"+3630{9000000 + index}",
            callee="+3615550100",
            duration=3,
            audio=audio,
        )
        expected[ext] = hashlib.sha256(audio).hexdigest()

    out = database.shell(
        f"""
        provider = env["call.recording.provider"].create({{
            "name": "Twilio e2e", "provider_type": "twilio", "base_url": {fake.base_url!r},
            "login": {LOGIN!r}, "secret": {SECRET!r},
            "sync_start": "{(now - timedelta(days=3)):%Y-%m-%d %H:%M:%S}",
        }})
        print("PROVIDER", provider.id)
        """
    )
    provider_id = int(out.split("PROVIDER", 1)[1].split()[0])
    # Small pages: a test setting patched into this process (no context key
    # can change an adapter's settings).
    run = f"""
        Provider = type(env["call.recording.provider"])
        adapter_config = Provider._adapter_config
        Provider._adapter_config = lambda p: dict(adapter_config(p), page_size=10)
        env["call.recording.provider"].browse({provider_id})._sync(trigger="cron")
    """
    count_calls = "SELECT count(*) FROM call_recording"
    count_audio = "SELECT count(*) FROM call_recording WHERE recording_status = 'available'"

    # 1. killed while listing: pages come slowly, at least one is committed
    fake.stall_next(0.4, count=10_000, path_contains="Calls.json")
    proc = database.start(run)
    database.wait_for(count_calls, lambda rows: rows[0][0] >= 10, proc=proc)
    database.kill(proc)
    listed = database.query(count_calls)[0][0]
    assert 10 <= listed < CALLS

    # 2. killed while downloading: recordings come slowly (the first run
    # already downloaded some while it listed: five more are this run's)
    fake.reset_faults()
    fake.stall_next(0.15, count=10_000, path_contains="/Recordings/")
    downloaded = database.query(count_audio)[0][0]
    assert downloaded <= listed
    proc = database.start(run)
    database.wait_for(count_audio, lambda rows: rows[0][0] >= downloaded + 5, proc=proc)
    database.kill(proc)
    assert database.query(count_audio)[0][0] < CALLS

    # A killed download leaves its temporary file behind; once old enough
    # (no other download can still be writing it) the next run removes it.
    tmp_dir = database.filestore_path("call_recording_tmp")
    old = datetime.now().timestamp() - 3 * 3600
    for part in tmp_dir.glob("*.part"):
        os.utime(part, (old, old))

    # 3. a full run
    fake.reset_faults()
    database.shell(run)

    rows = database.query(
        "SELECT c.external_id, c.recording_status, c.audio_sha256, a.store_fname "
        "FROM call_recording c LEFT JOIN ir_attachment a ON a.res_model = 'call.recording' "
        "AND a.res_id = c.id AND a.res_field = 'audio' WHERE c.provider_id = %s",
        (provider_id,),
    )
    assert len(rows) == CALLS, "a call is missing or imported twice"
    assert {row[0] for row in rows} == set(expected)
    for external_id, status, sha, store_fname in rows:
        assert status == "available", external_id
        assert sha == expected[external_id]
        path = database.filestore_path(store_fname)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected[external_id]
    states = [
        row[0]
        for row in database.query(
            "SELECT state FROM call_recording_sync_log WHERE provider_id = %s ORDER BY id",
            (provider_id,),
        )
    ]
    assert states == ["interrupted", "interrupted", "done"]
    assert not list(tmp_dir.glob("*.part"))
