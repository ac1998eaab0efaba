#!/usr/bin/env python3
"""Export 1,000 recordings of 1 MB to loopback FTP and SFTP servers: MB/s vs plain ftplib/paramiko.

The servers are the repository's own (``tests/fakes``: pyftpdlib for FTP,
a paramiko SFTP server), each started in its own process so that client
and server do not share a GIL.  The recordings are 1 MiB WAV files of noise
written to a temporary folder, with their SHA-256 computed beforehand
(Odoo keeps it on the call).

*Ours* goes through call_recording_ftp's transfer code as a run does:
one connection (``open_transport``), per call the remote path rendered
from the default template, ``upload_verified`` (temporary name, size
check, SHA-256 by the server when it offers ``HASH``, rename into place)
and a JSON + CSV manifest per batch of 50.  It leaves out the ORM (the
export record writes), which costs the same whatever the transport.

*Baselines* upload the same files on one connection the plain way:
``ftplib.FTP.storbinary`` (default block size) into one folder, and
paramiko's ``SFTPClient.putfo`` (pipelined, with its size check).

A third FTP figure is plain ftplib doing the same steps by hand
(temporary name, ``HASH``, rename): the cost of verifying, without our code.
``ours`` runs twice on FTP: with the server's SHA-256 (``HASH``, the
default when a server offers it) and with the size check only.

Each method runs ``--runs`` times, alternating, on an emptied server
folder; figures are medians.  Ratio = ours / baseline (MB/s), aim >= 0.8.

Usage: bench/bench_ftp_export.py [--count 1000] [--mb 1] [--runs 3]
"""

import argparse
import datetime
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
from benchlib import devenv, ensure_odoo_python  # noqa: E402

BATCH = 50


def load_lib():
    import conftest  # noqa: F401, PLC0415 registers call_recording_ftp_lib
    from call_recording_ftp_lib import (  # noqa: PLC0415
        manifest,
        pipeline,
        template,
        transport,
        upload,
    )

    return manifest, template, transport, upload, pipeline


def make_files(folder, count, megabytes):
    files = []
    pcm = os.urandom(megabytes * 2**20 - 44)
    for index in range(count):
        path = Path(folder) / f"rec{index:05d}.wav"
        buf = io.BytesIO()
        with wave.open(buf, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            # every file differs (its first bytes), all have the same size
            wav.writeframes(index.to_bytes(4, "little") + pcm[4:])
        data = buf.getvalue()
        path.write_bytes(data)
        files.append((path, len(data), hashlib.sha256(data).hexdigest(), index))
    return files


class ServerProcess:
    def __init__(self, kind, root, keyfile=None):
        self.port = devenv.free_port()
        args = [sys.executable, "-m", f"fakes.{kind}_server", str(root), str(self.port)]
        if keyfile:
            args.append(str(keyfile))
        self.proc = subprocess.Popen(
            args,
            cwd=REPO / "tests",
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()
        if "serving" not in line:
            devenv.fail(f"the {kind} server did not start: {line!r}", 1)
        self.fingerprint = line.split()[-1] if kind == "sftp" else ""

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def empty(root):
    for child in Path(root).iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def ours(lib, config, files, server_hash=True):
    """As a run of the add-on: a second connection checks and renames while the next file goes.

    ``server_hash=False`` measures the same with the server's ``HASH``
    ignored (size check only), to show what the server's SHA-256 costs.
    """
    manifest, template, transport_lib, upload, pipeline_lib = lib
    from call_recording_ftp_lib import ftp  # noqa: PLC0415

    negotiate = ftp.FTPTransport._negotiate_hash
    if not server_hash:
        ftp.FTPTransport._negotiate_hash = lambda self: False
    try:
        return _ours(manifest, template, transport_lib, upload, pipeline_lib, config, files)
    finally:
        ftp.FTPTransport._negotiate_hash = negotiate


def _ours(manifest, template, transport_lib, upload, pipeline_lib, config, files):  # noqa: PLR0917
    start = datetime.datetime(2026, 11, 28, 9, 0)
    meta = {}
    sent = []
    began = time.perf_counter()
    with (
        transport_lib.open_transport(config) as transport,
        transport_lib.open_transport(config) as verifier,
    ):
        for offset in range(0, len(files), BATCH):
            pipeline = pipeline_lib.VerifyingPipeline(transport, verifier)
            for path, size, sha256, index in files[offset : offset + BATCH]:
                values = template.values_for(
                    {
                        "start": start + datetime.timedelta(minutes=index),
                        "reference": f"CR/2026/{index:06d}",
                        "direction": "inbound",
                        "number": "+36301234567",
                        "ext": "wav",
                    }
                )
                remote = template.render(template.DEFAULT_TEMPLATE, values, "recordings")
                meta[index] = values["reference"]
                with open(path, "rb") as stream:
                    pipeline.submit(index, stream, remote, size, sha256)
                sent.extend(pipeline.results())
            sent.extend(pipeline.close())
            failed = [key for key, _result, error in sent if error]
            if failed:
                devenv.fail(f"ours: {len(failed)} files not verified", 1)
            entries = [{"reference": meta[key], **result.__dict__} for key, result, _e in sent]
            name = f"bench-{offset:05d}"
            json_path, csv_path = manifest.manifest_paths("recordings/manifests", name)
            upload.upload_bytes(
                verifier, manifest.manifest_json({"name": name}, entries), json_path
            )
            upload.upload_bytes(verifier, manifest.manifest_csv(entries), csv_path)
            sent = []
    return time.perf_counter() - began


def baseline_ftp(config, files):
    import ftplib  # noqa: PLC0415

    began = time.perf_counter()
    ftp = ftplib.FTP()  # noqa: S321 loopback benchmark
    ftp.connect(config.host, config.port)
    ftp.login(config.username, config.password)
    for path, _size, _sha, _index in files:
        with open(path, "rb") as stream:
            ftp.storbinary(f"STOR {path.name}", stream)
    ftp.quit()
    return time.perf_counter() - began


def baseline_ftp_same_steps(config, files):
    """Plain ftplib doing what a verified export does: temporary name, HASH, rename."""
    import ftplib  # noqa: PLC0415

    began = time.perf_counter()
    ftp = ftplib.FTP()  # noqa: S321 loopback benchmark
    ftp.connect(config.host, config.port)
    ftp.login(config.username, config.password)
    ftp.voidcmd("TYPE I")
    ftp.sendcmd("OPTS HASH SHA-256")
    for path, _size, sha256, _index in files:
        with open(path, "rb") as stream:
            ftp.storbinary(f"STOR .{path.name}.part", stream)
        if ftp.sendcmd(f"HASH .{path.name}.part").split()[3] != sha256:
            devenv.fail(f"{path.name}: checksum differs", 1)
        ftp.rename(f".{path.name}.part", path.name)
    ftp.quit()
    return time.perf_counter() - began


def baseline_sftp(config, files):
    import paramiko  # noqa: PLC0415

    began = time.perf_counter()
    transport = paramiko.Transport((config.host, config.port))
    transport.connect(username=config.username, password=config.password)
    sftp = paramiko.SFTPClient.from_transport(transport)
    for path, _size, _sha, _index in files:
        with open(path, "rb") as stream:
            sftp.putfo(stream, path.name)
    sftp.close()
    transport.close()
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ensure_odoo_python(__file__)
    import logging  # noqa: PLC0415

    logging.basicConfig(level=logging.WARNING)
    lib = load_lib()
    work = Path(tempfile.mkdtemp(prefix="crbench-ftp-"))
    try:
        (work / "files").mkdir()
        files = make_files(work / "files", args.count, args.mb)
        total_mb = sum(f[1] for f in files) / 1e6
        print(f"{len(files)} files, {total_mb:.0f} MB in total.", flush=True)
        roots = {"ftp": work / "ftp", "sftp": work / "sftp"}
        for root in roots.values():
            root.mkdir()
        servers = {
            "ftp": ServerProcess("ftp", roots["ftp"]),
            "sftp": ServerProcess("sftp", roots["sftp"], work / "host_key"),
        }
        try:
            TargetConfig = lib[2].TargetConfig
            configs = {
                "ftp": TargetConfig(
                    "ftp", "127.0.0.1", servers["ftp"].port, "export", "s3cret-ftp", timeout=60
                ),
                "sftp": TargetConfig(
                    "sftp",
                    "127.0.0.1",
                    servers["sftp"].port,
                    "export",
                    "s3cret-sftp",
                    host_key_fingerprint=servers["sftp"].fingerprint,
                    timeout=60,
                ),
            }
            methods = [
                ("ftp", "baseline: ftplib storbinary", lambda: baseline_ftp(configs["ftp"], files)),
                (
                    "ftp",
                    "plain ftplib, same steps",
                    lambda: baseline_ftp_same_steps(configs["ftp"], files),
                ),
                ("ftp", "ours: FTP, server SHA-256", lambda: ours(lib, configs["ftp"], files)),
                (
                    "ftp",
                    "ours: FTP, size check only",
                    lambda: ours(lib, configs["ftp"], files, server_hash=False),
                ),
                (
                    "sftp",
                    "baseline: paramiko putfo",
                    lambda: baseline_sftp(configs["sftp"], files),
                ),
                ("sftp", "ours: SFTP transport", lambda: ours(lib, configs["sftp"], files)),
            ]
            seconds = {label: [] for _p, label, _f in methods}
            for run in range(args.runs):
                for protocol, label, method in methods:
                    empty(roots[protocol])
                    elapsed = method()
                    stored = sum(
                        1 for p in roots[protocol].rglob("*.wav") if not p.name.endswith(".part")
                    )
                    if stored != len(files):
                        devenv.fail(f"{label}: {stored} files on the server, not {len(files)}", 1)
                    seconds[label].append(elapsed)
                    print(
                        f"run {run + 1}: {label:30} {elapsed:7.2f} s  "
                        f"{total_mb / elapsed:7.1f} MB/s",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.stop()
        print(f"\n{len(files)} x {args.mb} MiB, {args.runs} runs, medians:\n")
        print(f"{'method':32} {'seconds':>8} {'MB/s':>8} {'ratio':>7}")
        for protocol in ("ftp", "sftp"):
            labels = [label for p, label, _f in methods if p == protocol]
            base = statistics.median(seconds[labels[0]])
            for label in labels:
                median = statistics.median(seconds[label])
                print(f"{label:32} {median:8.2f} {total_mb / median:8.1f} {base / median:7.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
