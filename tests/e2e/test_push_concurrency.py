"""Simultaneous deliveries of the same call to a real, multi-threaded Odoo server.

A PBX that sends a call twice at the same moment (a retry that overtakes
the first attempt, two scripts for one call) must never be told "conflict":
the second delivery waits for the first (Odoo runs it again with a fresh
view of the database) and is answered as a known call, or gets a
retryable 503 with ``Retry-After``.  The examples send such an answer
again.  In the end every call is stored once, with its recording.
"""

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from call_recording_lib.audio import synth_call_wav

from .odoo_db import OdooDatabase, devenv

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
START = "2026-11-20T09:30:00+01:00"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    db = OdooDatabase(f"crtest_push_{os.getpid()}").create()
    out = db.shell(
        """
        from datetime import datetime, timedelta
        user = env["res.users"].create({
            "name": "PBX", "login": "pbx-e2e",
            "group_ids": [(6, 0, [env.ref("call_recording.group_call_recording_integration").id])],
        })
        account = env["call.recording.provider"].create({
            "name": "PBX e2e", "provider_type": "push", "push_user_ids": [(6, 0, user.ids)],
        })
        key = env["res.users.apikeys"].with_user(user).sudo()._generate(
            "rpc", "e2e", datetime.now() + timedelta(days=1))
        print("SETUP", account.id, key)
        """
    )
    account_id, key = out.split("SETUP", 1)[1].split()[:2]
    port = free_port()
    proc = subprocess.Popen(
        [
            devenv.odoo_command(),
            *db.odoo_args(),
            "--workers=0",
            f"--http-port={port}",
            "--http-interface=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/web/health", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or still loading on a busy machine
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read()[-3000:])
        time.sleep(0.3)
    else:
        db.kill(proc)
        raise AssertionError("the Odoo server did not start")
    yield {"db": db, "url": url, "account": account_id, "key": key}
    db.kill(proc)
    db.drop()


def multipart(server, external_id, audio):
    return requests.post(
        f"{server['url']}/call_recording/push",
        data={
            "provider": server["account"],
            "external_id": external_id,
            "direction": "inbound",
            "start": START,
            "duration": "95",
            "caller_number": "+36304441122",
            "callee_number": "+3615550100",
            "sha256": hashlib.sha256(audio).hexdigest(),
        },
        files={"audio": ("call.wav", audio, "audio/wav")},
        headers={
            "Authorization": f"Bearer {server['key']}",
            "X-Odoo-Database": server["db"].name,
        },
        timeout=120,
    )


def at_once(*jobs):
    """Run the jobs in threads released at the same instant; return their results."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        barrier.wait()
        results[index] = job()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return results


def stored(server, external_id):
    return server["db"].query(
        "SELECT recording_status, audio_sha256 FROM call_recording WHERE external_id = %s",
        (external_id,),
    )


def test_simultaneous_deliveries_are_never_a_conflict(server):
    audio = synth_call_wav(60, seed=5)  # about 1 MB: storing it takes a moment
    sha = hashlib.sha256(audio).hexdigest()
    statuses = []
    for index in range(10):
        external_id = f"race-{index}"
        responses = at_once(
            lambda e=external_id: multipart(server, e, audio),
            lambda e=external_id: multipart(server, e, audio),
        )
        for response in responses:
            statuses.append(response.status_code)
            assert response.status_code in (200, 201, 503), response.text
            if response.status_code == 503:
                assert response.headers["Retry-After"].isdigit()
                assert response.json()["error"] == "busy"
                # sent again, as the examples do
                assert multipart(server, external_id, audio).status_code == 200
        # one delivery created the call; the other found it
        assert [r.status_code for r in responses].count(201) <= 1
        assert stored(server, external_id) == [("available", sha)], "stored twice or not at all"
    assert 409 not in statuses


def test_the_examples_deliver_the_same_call_at_once(server, tmp_path):
    audio = synth_call_wav(30, seed=6)
    path = tmp_path / "call.wav"
    path.write_bytes(audio)
    env = dict(
        os.environ,
        CALL_RECORDING_URL=server["url"],
        CALL_RECORDING_DB=server["db"].name,
        CALL_RECORDING_LOGIN="pbx-e2e",
        CALL_RECORDING_API_KEY=server["key"],
        CALL_RECORDING_PROVIDER=server["account"],
        CALL_RECORDING_CONF=str(tmp_path / "none.conf"),
    )
    common = [
        "--external-id=example-race",
        f"--start={START}",
        "--duration=30",
        "--caller=+36304441122",
        "--callee=+3615550100",
    ]
    commands = [
        [sys.executable, str(EXAMPLES / "push_json2.py"), *common, f"--audio={path}"],
        [sys.executable, str(EXAMPLES / "push_xmlrpc.py"), *common, f"--audio={path}"],
        [
            sys.executable,
            str(EXAMPLES / "asterisk" / "call_recording_push.agi"),
            *common,
            f"--file={path}",
        ],
    ]
    results = at_once(
        *[
            lambda cmd=cmd: subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=180, check=False
            )
            for cmd in commands
        ]
    )
    for result in results:
        assert result.returncode == 0, result.stderr + result.stdout
    assert stored(server, "example-race") == [("available", hashlib.sha256(audio).hexdigest())]
