"""Odoo with several workers, its websocket (gevent) process and queue_job's runner.

Runs Odoo with ``docker/odoo-workers.conf`` (the database, ports and paths
replaced by the test's own) on a throw-away database with
``call_recording_queue``:

* the gevent process (websockets) starts once and stays up: on a venv whose
  setuptools' ``pkg_resources`` cannot resolve gevent's requirements
  (``DistributionNotFound: zope.interface``) it dies at start and the
  server spawns it again several times a second, costing a core;
* a websocket is opened on it;
* the job runner imports calls from the fake Twilio: the cron enqueues an
  import job, which enqueues the download job; a worker killed in the
  middle of the downloads leaves a job the runner starts again, and every
  call and recording is there once.
"""

import hashlib
import os
import re
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import websocket
from call_recording_lib.audio import synth_call_wav
from fakes.twilio import FakeTwilio

from .odoo_db import OdooDatabase, devenv

#: More than the download threads keep on their way (4 x 16), so that the
#: recordings are stored in several batches and the kill falls between two.
CALLS = 80
LOGIN, SECRET = "AC" + "f" * 32, "e2e-workers-token"
PKG_RESOURCES_FAILURE = re.compile(r"DistributionNotFound|Traceback")


def test_gevent_process_resolves_its_packages():
    """What the server's gevent child runs first (``odoo gevent``), in seconds."""
    result = subprocess.run(
        [devenv.odoo_python(), devenv.odoo_command(), "gevent", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not PKG_RESOURCES_FAILURE.search(result.stderr), result.stderr[-3000:]


def children(pid):
    """(pid, cmdline) of the processes whose parent is ``pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append((int(proc.name), cmdline))
    return found


def gevent_children(pid):
    return [child for child, cmdline in children(pid) if " gevent" in cmdline]


def wait_until(check, timeout, proc, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or busy loading
        if proc.poll() is not None:
            raise AssertionError(f"Odoo ended while waiting for {what}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def database():
    db = OdooDatabase(f"crtest_workers_{os.getpid()}", addons="call_recording_queue").create()
    yield db
    db.drop()


@pytest.fixture(scope="module")
def fake():
    with FakeTwilio(login=LOGIN, secret=SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    """``odoo -c`` with docker/odoo-workers.conf, adapted to this machine."""
    config = devenv.workers_config(
        database.name,
        database.data_dir,
        max_cron_threads="0",  # the test runs the cron itself
    )
    options = config["options"]
    http_port, gevent_port = options["http_port"], options["gevent_port"]
    workdir = tmp_path_factory.mktemp("workers")
    conf = workdir / "odoo.conf"
    with open(conf, "w") as fp:
        config.write(fp)
    output = workdir / "odoo.log"
    with open(output, "w") as log:
        proc = subprocess.Popen(
            [devenv.odoo_command(), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    info = {
        "proc": proc,
        "url": f"http://127.0.0.1:{http_port}",
        "gevent": f"127.0.0.1:{gevent_port}",
        "log": output,
        "workers": int(options["workers"]),
    }
    try:
        wait_until(
            lambda: requests.get(f"{info['url']}/web/health", timeout=2).status_code == 200,
            180,
            proc,
            "the HTTP workers",
        )
        yield info
    finally:
        devenv.stop_process_group(proc)


def test_gevent_process_stays_up_and_serves_websockets(server):
    proc = server["proc"]
    health = f"http://{server['gevent']}/websocket/health"
    wait_until(
        lambda: requests.get(health, timeout=2).status_code == 200,
        120,
        proc,
        "the gevent (websocket) process",
    )
    first = gevent_children(proc.pid)
    assert len(first) == 1, children(proc.pid)
    time.sleep(6)
    assert gevent_children(proc.pid) == first, "the gevent process was spawned again"
    ws = websocket.create_connection(
        f"ws://{server['gevent']}/websocket", timeout=10, origin=f"http://{server['gevent']}"
    )
    try:
        assert ws.connected
        ws.send('{"event_name": "subscribe", "data": {"channels": [], "last": 0}}')
    finally:
        ws.close()
    output = server["log"].read_text()
    assert not PKG_RESOURCES_FAILURE.search(output), output[-3000:]
    assert output.count("Evented Service (longpolling) running on") == 1
    workers = [pid for pid, cmdline in children(proc.pid) if " gevent" not in cmdline]
    # the HTTP workers, and queue_job's runner as a worker of its own
    assert len(workers) == server["workers"] + 1, children(proc.pid)


def test_runner_imports_and_a_killed_job_is_retried_without_duplicates(server, database, fake):
    now = datetime.now(UTC).replace(microsecond=0)
    expected = {}
    for index in range(CALLS):
        audio = synth_call_wav(0.5, seed=200 + index)
        ext = fake.add_call(
            start=now - timedelta(hours=30) + timedelta(minutes=15 * index),
            direction="inbound",
            caller=f"+3630{8000000 + index}",
            callee="+3615550100",
            duration=2,
            audio=audio,
        )
        expected[ext] = hashlib.sha256(audio).hexdigest()
    # recordings come slowly: the download job is still running when killed
    fake.stall_next(0.5, count=10_000, path_contains="/Recordings/")
    out = database.shell(
        f"""
        provider = env["call.recording.provider"].create({{
            "name": "Twilio workers e2e", "provider_type": "twilio",
            "base_url": {fake.base_url!r}, "login": {LOGIN!r}, "secret": {SECRET!r},
            "sync_start": "{(now - timedelta(days=2)):%Y-%m-%d %H:%M:%S}",
        }})
        env["call.recording.provider"]._cron_sync()
        print("PROVIDER", provider.id)
        """
    )
    provider_id = int(out.split("PROVIDER", 1)[1].split()[0])
    # (the database has no other call)
    audio_count = "SELECT count(*) FROM call_recording WHERE recording_status = 'available'"
    database.wait_for(audio_count, lambda rows: rows[0][0] >= 1, timeout=180, proc=server["proc"])
    rows = database.query(
        "SELECT uuid, worker_pid FROM queue_job WHERE method_name = '_job_download' "
        "AND state = 'started'"
    )
    assert len(rows) == 1, database.query(
        "SELECT method_name, state, worker_pid, result, exc_info FROM queue_job"
    )
    uuid, worker_pid = rows[0]
    os.kill(worker_pid, signal.SIGKILL)
    assert database.query(audio_count)[0][0] < CALLS
    fake.reset_faults()
    # the runner finds the job dead (its lock gone) and starts it again
    database.wait_for(
        audio_count, lambda rows: rows[0][0] == CALLS, timeout=240, proc=server["proc"]
    )
    database.wait_for(
        "SELECT count(*) FROM queue_job WHERE state NOT IN ('done', 'failed')",
        lambda rows: rows[0][0] == 0,
        timeout=120,
        proc=server["proc"],
    )
    jobs = database.query("SELECT method_name, state, retry FROM queue_job ORDER BY id")
    assert {state for _m, state, _r in jobs} == {"done"}, jobs
    assert database.query("SELECT retry FROM queue_job WHERE uuid = %s", (uuid,))[0][0] >= 1
    calls = database.query(
        "SELECT c.external_id, c.audio_sha256, count(a.id) FROM call_recording c "
        "LEFT JOIN ir_attachment a ON a.res_model = 'call.recording' AND a.res_id = c.id "
        "AND a.res_field = 'audio' WHERE c.provider_id = %s "
        "GROUP BY c.external_id, c.audio_sha256",
        (provider_id,),
    )
    assert len(calls) == CALLS, "a call is missing or imported twice"
    for external_id, sha, attachments in calls:
        assert sha == expected[external_id]
        assert attachments == 1, external_id
    channels = {
        row[0]: row[1] for row in database.query("SELECT method_name, channel FROM queue_job")
    }
    assert channels == {
        "_job_import": "root.call_recording.import",
        "_job_download": "root.call_recording.download",
    }
    assert "Re-queued dead job" in server["log"].read_text()
