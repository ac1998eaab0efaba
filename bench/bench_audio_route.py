#!/usr/bin/env python3
"""Serve a 50 MB recording: time to first byte and server peak memory, vs /web/content.

Creates a throw-away database ``crbench_audio`` with ``call_recording`` (no
demo data) and a call whose recording is a 50 MB WAV, stored through the
add-on (``_set_audio_stream``), plus a plain attachment holding the same
file.  For each URL a fresh Odoo server (``--workers=0``) is started, warmed
up with a small request, and the download is timed: time to first byte,
total time, MB/s, and the growth of the server's peak resident memory
(``VmHWM`` in ``/proc/<pid>/status``).  Three runs each, medians printed,
with the ratio against ``/web/content`` of the same file measured in the
same run.  A Range request from the middle of the file is timed too.

Usage: bench/bench_audio_route.py [--mb 50] [--runs 3]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, install, odoo_args  # noqa: E402

DB = "crbench_audio"


def write_wav(path, megabytes):
    """A WAV of about ``megabytes`` MB of noise, written in chunks."""
    import struct  # noqa: PLC0415

    size = megabytes * 1024 * 1024
    rate = 8000
    with open(path, "wb") as fp:
        fp.write(b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE")
        fp.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
        fp.write(b"data" + struct.pack("<I", size))
        chunk = os.urandom(1024 * 1024)
        for _n in range(megabytes):
            fp.write(chunk)


def prepare(data_dir, wav):
    import odoo  # noqa: PLC0415
    from odoo import api  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-d", DB, *odoo_args(data_dir)], setup_logging=True)
    registry = Registry(DB)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            call = env["call.recording"].create(
                {"caller_number": "+36301234567", "callee_number": "+3615550100", "duration": 3300}
            )
            with open(wav, "rb") as fp:
                call._set_audio_stream(fp)
            with open(wav, "rb") as fp:
                plain = env["ir.attachment"].create(
                    {"name": "same.wav", "raw": fp.read(), "mimetype": "audio/wav"}
                )
            return call.id, plain.id
    finally:
        odoo.sql_db.close_db(DB)
        Registry.delete(DB)


def status(pid, key):
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # MB
    return 0.0


def start_server(data_dir, port):
    proc = subprocess.Popen(
        [
            devenv.odoo_command(),
            "-d",
            DB,
            f"--db-filter=^{DB}$",
            f"--http-port={port}",
            "--workers=0",
            "--max-cron-threads=0",
            *odoo_args(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc


def measure(data_dir, path, headers=None):
    import requests  # noqa: PLC0415

    port = devenv.free_port()
    proc = start_server(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    try:
        for _n in range(200):
            try:
                if requests.get(f"{base}/web/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        session = requests.Session()
        session.post(
            f"{base}/web/session/authenticate",
            json={"jsonrpc": "2.0", "params": {"db": DB, "login": "admin", "password": "admin"}},
            timeout=30,
        ).raise_for_status()
        session.get(f"{base}/web/webclient/version_info", timeout=10)
        before = status(proc.pid, "VmHWM")
        started = time.perf_counter()
        response = session.get(base + path, headers=headers or {}, stream=True, timeout=120)
        first = None
        size = 0
        for chunk in response.iter_content(65536):
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
        total = time.perf_counter() - started
        after = status(proc.pid, "VmHWM")
        return {
            "status": response.status_code,
            "ttfb_ms": (first or total) * 1000,
            "total_s": total,
            "mb": size / 2**20,
            "peak_growth_mb": after - before,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ensure_odoo_python(__file__)
    data_dir = tempfile.mkdtemp(prefix="crbench-audio-")
    try:
        install(DB, data_dir)
        wav = os.path.join(data_dir, "big.wav")
        write_wav(wav, args.mb)
        call_id, attachment_id = prepare(data_dir, wav)
        middle = args.mb * 2**20 // 2
        cases = [
            ("audio route (play)", f"/call_recording/{call_id}/audio", None),
            ("audio route (download)", f"/call_recording/{call_id}/audio?download=1", None),
            (
                "audio route (Range 64 KB)",
                f"/call_recording/{call_id}/audio",
                {"Range": f"bytes={middle}-{middle + 65535}"},
            ),
            ("/web/content (baseline)", f"/web/content/{attachment_id}?download=true", None),
        ]
        results = {}
        for label, path, headers in cases:
            runs = [measure(data_dir, path, headers) for _n in range(args.runs)]
            results[label] = runs
            print(f"measured {label}: status {runs[0]['status']}", flush=True)
        base = results["/web/content (baseline)"]
        print(
            f"\n{args.mb} MB recording, {args.runs} runs each, medians; ratio = ours / /web/content"
        )
        print(
            f"{'url':28} {'status':>6} {'TTFB ms':>9} {'total s':>8} {'MB/s':>7} "
            f"{'peak +MB':>9} {'TTFB x':>7} {'peak x':>7}"
        )
        for label, runs in results.items():
            ttfb = median_of(runs, "ttfb_ms")
            total = median_of(runs, "total_s")
            peak = median_of(runs, "peak_growth_mb")
            mb = median_of(runs, "mb")
            print(
                f"{label:28} {runs[0]['status']:>6} {ttfb:9.1f} {total:8.2f} "
                f"{mb / total if total else 0:7.0f} {peak:9.1f} "
                f"{ttfb / median_of(base, 'ttfb_ms'):7.2f} "
                f"{(peak + 0.1) / (median_of(base, 'peak_growth_mb') + 0.1):7.2f}"
            )
    finally:
        devenv.drop_database(DB)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
