#!/usr/bin/env python3
"""Serve a 50 MB recording through the audio route: TTFB and server peak memory, vs /web/content.

Creates a throw-away database ``crbench_audio`` with ``call_recording`` (no
demo data) and a call whose recording is a 50 MB WAV of noise, stored
through the add-on (``_set_audio_stream``), plus a plain attachment (no
``res_model``, not public, created by admin) holding the same file: the
add-on refuses recordings on ``/web/content``, so that attachment is the
baseline.

Each measurement runs against a fresh Odoo server (``--workers=0``, same
database) because ``VmHWM`` only ever grows: the server is started, admin
logs in, one small request warms it up, then the download is timed (time to
first byte, total time, MB/s) while ``VmRSS`` and ``VmHWM`` are read from
``/proc/<pid>/status`` before and after.  The same request is then sent
once more on the now warm server (TTFB only).  The downloaded bytes are
checked against the file.  Three runs per URL, medians, ratio = ours /
baseline (``/web/content`` of the same file; for the Range request, the
same Range on ``/web/content``).

It also checks that ``/web/content`` refuses the recording itself, counts
the access-log entries the runs wrote, and whether a ``Range: bytes=1-``
request (all but the first byte) is logged.

Usage: bench/bench_audio_route.py [--mb 50] [--runs 3] [--keep-db]
"""

import argparse
import functools
import hashlib
import os
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import benchlib  # noqa: E402
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, odoo_args  # noqa: E402

DB = "crbench_audio"
RANGE = (25_000_000, 25_065_535)


def write_wav(path, megabytes):
    """A 16-bit mono 8 kHz WAV of ``megabytes`` MiB of noise, written 1 MiB at a time."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        for _n in range(megabytes):
            wav.writeframes(os.urandom(2**20))
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for chunk in iter(lambda: fp.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prepare(data_dir, wav):
    """The call with the recording, and the baseline attachment; returns their ids."""
    with benchlib.odoo_registry(DB, data_dir) as registry, registry.cursor() as cr:
        import odoo  # noqa: PLC0415
        from odoo import api  # noqa: PLC0415

        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        admin = env.ref("base.user_admin")
        call = (
            env["call.recording"]
            .with_user(admin)
            .create(
                {
                    "caller_number": "+36301234567",
                    "callee_number": "+3615550100",
                    "duration": 3300,
                    "user_id": admin.id,
                }
            )
        )
        with open(wav, "rb") as fp:
            audio = call._set_audio_stream(fp)
        with open(wav, "rb") as fp:
            plain = (
                env["ir.attachment"]
                .with_user(admin)
                .create(
                    {
                        "name": "same.wav",
                        "raw": fp.read(),
                        "mimetype": "audio/wav",
                        "public": False,
                    }
                )
            )
        env.flush_all()
        figures = {
            "call": call.id,
            "audio_attachment": audio.id,
            "plain": plain.id,
            "audio_file": audio.sudo().store_fname,
            "plain_file": plain.sudo().store_fname,
            "audio_size": call.audio_size,
            "plain_res_model": plain.res_model,
            "plain_create_uid": plain.create_uid.login,
        }
        cr.commit()
        return figures


def proc_status(pid):
    """VmRSS and VmHWM of process ``pid``, in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as fp:
        for line in fp:
            key, _sep, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024.0
    return values


class Server:
    """A fresh Odoo server on a free port, with an admin session."""

    def __init__(self, data_dir):
        import requests  # noqa: PLC0415

        self.port = devenv.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(data_dir, "server.log"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                devenv.odoo_command(),
                "-d",
                DB,
                f"--db-filter=^{DB}$",
                f"--http-port={self.port}",
                "--workers=0",
                "--max-cron-threads=0",
                *odoo_args(data_dir),
            ],
            stdout=self.log,
            stderr=self.log,
        )
        self.session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                devenv.fail(f"the Odoo server stopped; see {self.log.name}", 1)
            try:
                if requests.get(f"{self.base}/web/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                devenv.fail(f"the Odoo server did not answer; see {self.log.name}", 1)
            time.sleep(0.2)
        answer = self.session.post(
            f"{self.base}/web/session/authenticate",
            json={"jsonrpc": "2.0", "params": {"db": DB, "login": "admin", "password": "admin"}},
            timeout=30,
        )
        answer.raise_for_status()
        if not (answer.json().get("result") or {}).get("uid"):
            devenv.fail(f"admin could not log in: {answer.text[:300]}", 1)
        # warm-up: one small request in the session
        self.session.post(
            f"{self.base}/web/webclient/version_info", json={"params": {}}, timeout=10
        ).raise_for_status()

    def download(self, path, headers=None):
        """Time one GET of ``path``; returns the figures and the body's digest."""
        before = proc_status(self.proc.pid)
        digest = hashlib.sha256()
        started = time.perf_counter()
        response = self.session.get(
            self.base + path, headers=headers or {}, stream=True, timeout=120
        )
        first, size = None, 0
        for chunk in response.iter_content(65536):
            if first is None:
                first = time.perf_counter() - started
            size += len(chunk)
            digest.update(chunk)
        total = time.perf_counter() - started
        after = proc_status(self.proc.pid)
        return {
            "status": response.status_code,
            "ttfb_ms": (first or total) * 1000,
            "total_s": total,
            "bytes": size,
            "sha256": digest.hexdigest(),
            "rss_before": before["VmRSS"],
            "rss_after": after["VmRSS"],
            "hwm_before": before["VmHWM"],
            "peak_growth": after["VmHWM"] - before["VmHWM"],
            "content_type": response.headers.get("Content-Type"),
            "content_range": response.headers.get("Content-Range"),
        }

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def expected_digest(wav, start, end):
    """SHA-256 of bytes ``start`` to ``end`` (inclusive) of the file."""
    with open(wav, "rb") as fp:
        fp.seek(start)
        return hashlib.sha256(fp.read(end - start + 1)).hexdigest()


def access_log_counts(call_id):
    result = subprocess.run(
        [
            "psql",
            "-h",
            devenv.DB_HOST,
            "-p",
            devenv.DB_PORT,
            "-U",
            devenv.DB_USER,
            "-d",
            DB,
            "-tAc",
            "SELECT access_type, count(*) FROM call_recording_access_log "
            f"WHERE call_id = {int(call_id)} GROUP BY access_type ORDER BY 1",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PGPASSWORD=devenv.DB_PASSWORD),
        check=False,
    )
    return dict(line.split("|") for line in result.stdout.split())


def median(results, label, key):
    """The median of ``key`` over the runs of case ``label``."""
    return statistics.median(r[key] for r in results[label])


def measure_cases(cases, runs, data_dir):
    """Each case ``runs`` times on a fresh server, then once more on the warm one.

    ``cases`` are tuples (label, path, headers, expected status, expected
    digest, baseline label); returns the figures of the runs by label, those
    of the warm request prefixed ``warm_``, the server's RSS after its
    start-up as ``server_rss``.
    """
    results = {}
    for label, path, headers, status, digest, _base in cases:
        measured = []
        for _n in range(runs):
            server = Server(data_dir)
            try:
                server_rss = proc_status(server.proc.pid)["VmRSS"]
                run = server.download(path, headers)
                # the same request again on the now warm server
                warm = server.download(path, headers)
            finally:
                server.stop()
            run.update({f"warm_{key}": value for key, value in warm.items()})
            run["server_rss"] = server_rss
            if run["status"] != status or run["sha256"] != digest:
                print(
                    f"  ! {label}: status {run['status']} (expected {status}), "
                    f"{run['bytes']:,} bytes, content matches: {run['sha256'] == digest}"
                )
            measured.append(run)
        results[label] = measured
        print(
            f"measured {label}: status {measured[0]['status']}, {measured[0]['bytes']:,} bytes, "
            f"content ok: {all(r['sha256'] == digest for r in measured)}, "
            f"{measured[0]['content_type']}, {measured[0]['content_range'] or ''}",
            flush=True,
        )
    return results


def main():  # noqa: PLR0915 one linear benchmark script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the recording in MiB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    ensure_odoo_python(__file__)
    with benchlib.throwaway_database(DB, "crbench-audio-", keep=args.keep_db) as data_dir:
        wav = Path(data_dir) / "big.wav"
        full_digest = write_wav(wav, args.mb)
        file_size = wav.stat().st_size
        ids = prepare(data_dir, wav)
        print(
            f"Recording: {file_size:,} bytes, call {ids['call']} (audio attachment "
            f"{ids['audio_attachment']}, {ids['audio_size']:,} bytes); baseline attachment "
            f"{ids['plain']} (res_model {ids['plain_res_model']}, created by "
            f"{ids['plain_create_uid']}); same filestore file: "
            f"{ids['audio_file'] == ids['plain_file']}.",
            flush=True,
        )
        audio = f"/call_recording/{ids['call']}/audio"
        content = f"/web/content/{ids['plain']}?download=true"
        byte_range = {"Range": f"bytes={RANGE[0]}-{RANGE[1]}"}
        range_digest = expected_digest(wav, *RANGE)
        # (label, path, headers, expected status, expected digest, baseline label)
        cases = [
            ("audio route, play", audio, None, 200, full_digest, "/web/content"),
            (
                "audio route, download=1",
                audio + "?download=1",
                None,
                200,
                full_digest,
                "/web/content",
            ),
            (
                "audio route, Range 64 KiB",
                audio,
                byte_range,
                206,
                range_digest,
                "/web/content Range",
            ),
            ("/web/content", content, None, 200, full_digest, None),
            ("/web/content Range", content, byte_range, 206, range_digest, None),
        ]
        results = measure_cases(cases, args.runs, data_dir)
        server_rss = [run["server_rss"] for runs in results.values() for run in runs]

        # behaviour checks, on one more server
        logged = access_log_counts(ids["call"])
        server = Server(data_dir)
        try:
            refused = server.download(f"/web/content/{ids['audio_attachment']}?download=true")
            refused_field = server.download(
                f"/web/content/call.recording/{ids['call']}/audio?download=true"
            )
            # Everything but the first byte, which is "R" in every WAV file.
            almost_all = server.download(audio, {"Range": "bytes=1-"})
        finally:
            server.stop()
        logged_after = access_log_counts(ids["call"])
        almost_all_ok = almost_all["sha256"] == expected_digest(wav, 1, file_size - 1)
        med = functools.partial(median, results)
        print(
            f"\n{args.mb} MiB WAV, {args.runs} runs per URL (fresh server each), medians; "
            "x = ours / baseline (full file: /web/content; Range: /web/content Range);\n"
            "peak x only when the baseline's peak grew by 1 MiB or more."
        )
        print(f"Server RSS after start-up and warm-up: {statistics.median(server_rss):.0f} MiB.\n")
        header = (
            f"{'url':26} {'status':>6} {'TTFB ms':>8} {'warm ms':>8} {'total s':>8} {'MB/s':>6} "
            f"{'RSS +KiB':>8} {'peak +KiB':>9} {'TTFB x':>7} {'warm x':>7} {'total x':>7} "
            f"{'peak x':>7}"
        )
        print(header)
        print("-" * len(header))
        for label, _path, _headers, _status, _digest, base in cases:
            ttfb, total = med(label, "ttfb_ms"), med(label, "total_s")
            warm = med(label, "warm_ttfb_ms")
            peak = med(label, "peak_growth")
            rss = med(label, "rss_after") - med(label, "rss_before")
            size = med(label, "bytes")
            if base:
                base_peak = med(base, "peak_growth")
                ratios = (
                    f"{ttfb / med(base, 'ttfb_ms'):7.2f} {warm / med(base, 'warm_ttfb_ms'):7.2f} "
                    f"{total / med(base, 'total_s'):7.2f} "
                    + (f"{peak / base_peak:7.2f}" if base_peak >= 1 else f"{'-':>7}")
                )
            else:
                ratios = f"{1:7.2f} {1:7.2f} {1:7.2f} {1:7.2f}"
            print(
                f"{label:26} {results[label][0]['status']:>6} {ttfb:8.1f} {warm:8.1f} {total:8.3f} "
                f"{size / 1e6 / total:6.0f} {rss * 1024:8.0f} {peak * 1024:9.0f} {ratios}"
            )
        print("\nVmHWM growth per run, KiB:")
        for label, runs in results.items():
            print(f"  {label:26} {[round(r['peak_growth'] * 1024) for r in runs]}")
        print(
            f"\n/web/content on the call's own audio attachment: HTTP {refused['status']}; "
            f"/web/content/call.recording/<id>/audio: HTTP {refused_field['status']}."
        )
        print(f"Access log of the call after the runs: {logged or 'empty'}.")
        print(
            f"Audio route with Range bytes=1-: HTTP {almost_all['status']}, "
            f"{almost_all['bytes']:,} of {file_size:,} bytes (content matches: {almost_all_ok}); "
            f"access log entries added: "
            f"{sum(map(int, logged_after.values())) - sum(map(int, logged.values()))}."
        )


if __name__ == "__main__":
    main()
