#!/usr/bin/env python3
"""Import 5,000 calls with 100 KB recordings from a fake Twilio: calls/s and peak memory.

*Ours*: ``call.recording.provider._sync()`` in an ``odoo shell`` process,
on a throw-away database ``crbench_import`` with ``call_recording``
installed (no demo data): the adapter, the sync engine, the ORM upsert,
partner matching, recording policy, audio streamed into the filestore
with SHA-1/SHA-256 in the download threads, recordings stored in
batches, a commit per page and per 20 recordings.

*Floor*: a plain Python process that does the same HTTP work against the
same fake (day windows, the same page size, the account's
``Recordings.json`` once per page, the media file) with ``requests``,
writes each recording to a file while hashing it, and inserts one row per
call with ``execute_values`` into a bare table, committing per page: the
speed without the ORM.

Both run as child processes against a fake server in this process, so the
peak memory (``VmHWM``) of each child is its own; they alternate ``--runs``
times, each from empty (the floor's table and folder, our calls,
attachments and filestore).  Ratio = floor seconds / ours, of the medians.

Usage: bench/bench_import.py [--calls 5000] [--audio-kb 100] [--runs 3] [--keep-db]
"""

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, install, odoo_args  # noqa: E402

DB = "crbench_import"
LOGIN, SECRET = "AC" + "b" * 32, "bench-token"

FLOOR = r"""
import hashlib, json, os, sys, time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
import psycopg2, requests
from psycopg2.extras import execute_values

base, login, secret, since, until, folder, dsn = sys.argv[1:8]
since, until = datetime.fromisoformat(since), datetime.fromisoformat(until)
session = requests.Session()
session.auth = (login, secret)
conn = psycopg2.connect(dsn)
cr = conn.cursor()
cr.execute("DROP TABLE IF EXISTS bench_floor_call")
cr.execute("CREATE TABLE bench_floor_call (id serial PRIMARY KEY, external_id varchar UNIQUE,"
           " start timestamp, direction varchar, caller varchar, callee varchar, duration int,"
           " recording_sid varchar, path varchar, size int, sha256 varchar)")
conn.commit()
started = time.perf_counter()
calls = 0
day = since
while day < until:
    end = min(day + timedelta(days=1), until)
    # exact instants (a bare date is midnight at the start of that day)
    url = (f"{base}/2010-04-01/Accounts/{login}/Calls.json?StartTime>={day:%Y-%m-%dT%H:%M:%SZ}"
           f"&StartTime<={end:%Y-%m-%dT%H:%M:%SZ}&PageSize=50")
    while url:
        page = session.get(url, timeout=30)
        page.raise_for_status()
        data = page.json()
        rows = []
        listed = [(parsedate_to_datetime(c["start_time"]), c) for c in data["calls"]]
        listed = [(start, c) for start, c in listed if day <= start < end]
        # the page's recordings in one request: created from its first start
        # to its last end (as the adapter asks)
        recordings = {}
        if listed:
            low = min(start for start, _c in listed)
            high = max(start + timedelta(seconds=int(c["duration"])) for start, c in listed)
            rec_url = (f"{base}/2010-04-01/Accounts/{login}/Recordings.json"
                       f"?DateCreated>={low:%Y-%m-%dT%H:%M:%SZ}"
                       f"&DateCreated<={high + timedelta(minutes=1):%Y-%m-%dT%H:%M:%SZ}"
                       "&PageSize=1000")
            while rec_url:
                recs = session.get(rec_url, timeout=30).json()
                for r in recs["recordings"]:
                    recordings.setdefault(r["call_sid"], []).append(r)
                rec_url = base + recs["next_page_uri"] if recs["next_page_uri"] else None
        for start, call in listed:
            rec = next((r for r in recordings.get(call["sid"], ()) if r["status"] == "completed"),
                       None)
            path = size = sha = None
            if rec:
                media = session.get(
                    f"{base}/2010-04-01/Accounts/{login}/Recordings/{rec['sid']}.mp3",
                    stream=True, timeout=30)
                media.raise_for_status()
                digest, size = hashlib.sha256(), 0
                path = os.path.join(folder, rec["sid"])
                with open(path, "wb") as out:
                    for chunk in media.iter_content(1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                sha = digest.hexdigest()
            rows.append((call["sid"], start.replace(tzinfo=None), call["direction"], call["from"],
                         call["to"], int(call["duration"]), rec and rec["sid"], path, size, sha))
        if rows:
            execute_values(cr, "INSERT INTO bench_floor_call (external_id, start, direction,"
                           " caller, callee, duration, recording_sid, path, size, sha256)"
                           " VALUES %s ON CONFLICT (external_id) DO NOTHING", rows)
        conn.commit()
        calls += len(rows)
        nxt = data.get("next_page_uri")
        url = base + nxt if nxt else None
    day = end
print("RESULT", json.dumps({"seconds": time.perf_counter() - started, "calls": calls}))
"""

OURS = """
import json, shutil, time
# each run starts empty: the calls and recordings of an earlier run go
env.cr.execute("DELETE FROM ir_attachment WHERE res_model = 'call.recording'")
env.cr.execute("TRUNCATE call_recording CASCADE")
shutil.rmtree(env["ir.attachment"]._filestore(), ignore_errors=True)
provider = env["call.recording.provider"].create({{
    "name": "Bench", "provider_type": "twilio", "base_url": {base!r},
    "login": {login!r}, "secret": {secret!r}, "sync_start": {since!r}, "overlap_minutes": 0,
}})
env.cr.commit()
queries = env.cr.sql_log_count
started = time.perf_counter()
log = provider._sync(trigger="cron")
seconds = time.perf_counter() - started
queries = env.cr.sql_log_count - queries
calls = env["call.recording"].search_count([("provider_id", "=", provider.id)])
audio = env["call.recording"].search_count(
    [("provider_id", "=", provider.id), ("recording_status", "=", "available")])
print("RESULT", json.dumps({{"seconds": seconds, "calls": calls, "audio": audio,
                            "state": log.state, "error": log.error or "", "queries": queries}}))
"""


def peak_rss_mb(pid, stop):
    """Follow ``VmHWM`` of ``pid`` until ``stop`` is set; return the last value in MB.

    ``ru_maxrss`` would count the pages the child shared with this process
    (which holds the fake's recordings) between fork and exec.
    """
    peak = 0
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        stop.wait(0.05)
    return peak / 1024


def run_child(cmd, stdin=None):
    """Run ``cmd``; return its RESULT line as a dict, with its own peak RSS in MB."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stop = threading.Event()
    peak = {}
    watcher = threading.Thread(target=lambda: peak.update(mb=peak_rss_mb(proc.pid, stop)))
    watcher.start()
    out, _err = proc.communicate(stdin)
    stop.set()
    watcher.join()
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or not line:
        print(out[-4000:], file=sys.stderr)
        devenv.fail(f"{cmd[0]} failed (exit code {proc.returncode})", 1)
    result = json.loads(line[len("RESULT ") :])
    result["peak_mb"] = peak.get("mb", 0)
    return result


def make_audio(kilobytes):
    from call_recording_lib.audio import synth_call_wav  # noqa: PLC0415

    seconds = kilobytes * 1024 / 16000
    return synth_call_wav(seconds, seed=1)


def load_lib():
    lib_dir = REPO / "call_recording" / "lib"
    spec = importlib.util.spec_from_file_location(
        "call_recording_lib", lib_dir / "__init__.py", submodule_search_locations=[str(lib_dir)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["call_recording_lib"] = module
    spec.loader.exec_module(module)


def start_fake(fake_class, calls, audio_kb):
    """The fake Twilio with ``calls`` calls over two days, each with its own recording."""
    base_audio = make_audio(audio_kb)
    now = datetime.now(UTC).replace(microsecond=0)
    since = now - timedelta(days=2)
    step = timedelta(seconds=(now - since).total_seconds() / (calls + 1))
    fake = fake_class(login=LOGIN, secret=SECRET).start()
    for index in range(calls):
        # every recording differs (its own file in the filestore)
        audio = base_audio[:-8] + index.to_bytes(8, "big")
        fake.add_call(
            start=since + step * (index + 1),
            direction="inbound" if index % 3 else "outbound",
            caller=f"+3630{1000000 + index * 7 % 8999999:07d}",
            callee="+3615550100",
            duration=6,
            audio=audio,
        )
    size_mb = calls * len(base_audio) / 2**20
    print(
        f"Fake Twilio on {fake.base_url}: {calls} calls, "
        f"{len(base_audio) / 1024:.0f} KB each ({size_mb:.0f} MB)",
        flush=True,
    )
    return fake, since, now, size_mb


def main():
    ensure_odoo_python(__file__)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--audio-kb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    load_lib()
    from fakes.twilio import FakeTwilio  # noqa: PLC0415

    data_dir = tempfile.mkdtemp(prefix="crbench-import-")
    floor_dir = tempfile.mkdtemp(prefix="crbench-floor-")
    print(f"Installing call_recording in {DB}...", flush=True)
    install(DB, data_dir)

    fake, since, now, size_mb = start_fake(FakeTwilio, args.calls, args.audio_kb)
    naive_since = since.replace(tzinfo=None)
    dsn = (
        f"dbname={DB} host={devenv.DB_HOST} port={devenv.DB_PORT} "
        f"user={devenv.DB_USER} password={devenv.DB_PASSWORD}"
    )
    floor_cmd = [
        sys.executable,
        "-c",
        FLOOR,
        fake.base_url,
        LOGIN,
        SECRET,
        since.isoformat(),
        (now + timedelta(seconds=1)).isoformat(),
        floor_dir,
        dsn,
    ]
    ours_cmd = [devenv.odoo_command(), "shell", "-d", DB, *odoo_args(data_dir), "--no-http"]
    script = textwrap.dedent(
        OURS.format(
            base=fake.base_url,
            login=LOGIN,
            secret=SECRET,
            since=naive_since.strftime("%Y-%m-%d %H:%M:%S"),
        )
    )
    results = {"floor": [], "ours": []}
    requests_made = {}
    try:
        for run in range(1, args.runs + 1):
            # the two alternate, each from empty (a fresh table, folder or filestore)
            for side in ("floor", "ours"):
                fake.requests.clear()
                if side == "floor":
                    shutil.rmtree(floor_dir, ignore_errors=True)
                    os.makedirs(floor_dir)
                    result = run_child(floor_cmd)
                    assert result["calls"] == args.calls, result
                else:
                    result = run_child(ours_cmd, stdin=script)
                    assert result["calls"] == args.calls == result["audio"], result
                    assert result["state"] == "done", result
                requests_made[side] = len(fake.requests)
                results[side].append(result)
                queries = f", {result['queries']} SQL statements" if "queries" in result else ""
                print(f"run {run} {side}: {result['seconds']:.1f} s{queries}", flush=True)
    finally:
        fake.stop()
        shutil.rmtree(floor_dir, ignore_errors=True)
        if not args.keep_db:
            devenv.drop_database(DB)
            shutil.rmtree(data_dir, ignore_errors=True)

    report(results, requests_made, args.calls, size_mb)


def report(results, requests_made, calls, size_mb):
    """Print medians, the best run, the ratio of the medians and each run's ratio."""
    names = {"floor": "floor (requests + SQL + files)", "ours": "ours (adapter + engine + ORM)"}
    print()
    print(
        f"{'':34} {'median s':>8} {'best s':>7} {'calls/s':>8} {'MB/s':>7} "
        f"{'peak MB':>8} {'requests':>9}"
    )
    medians = {}
    for side, runs in results.items():
        seconds = sorted(r["seconds"] for r in runs)
        medians[side] = statistics.median(seconds)
        peak = max(r["peak_mb"] for r in runs)
        print(
            f"{names[side]:34} {medians[side]:8.1f} {seconds[0]:7.1f} "
            f"{calls / medians[side]:8.0f} {size_mb / medians[side]:7.1f} {peak:8.0f} "
            f"{requests_made[side]:9}"
        )
    ratios = sorted(f["seconds"] / o["seconds"] for f, o in zip(*results.values(), strict=True))
    print(
        f"\nours / floor speed: {medians['floor'] / medians['ours']:.2f} of the medians "
        f"(each run: {', '.join(f'{r:.2f}' for r in ratios)}; aim: at least 0.80)"
    )
    floor_peak = max(r["peak_mb"] for r in results["floor"])
    ours_peak = max(r["peak_mb"] for r in results["ours"])
    print(f"ours / floor peak memory: {ours_peak / floor_peak:.2f}")


if __name__ == "__main__":
    main()
