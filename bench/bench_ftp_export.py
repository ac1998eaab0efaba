#!/usr/bin/env python3
"""Export recordings to the servers customers run: MB/s against each protocol's own baseline.

The servers are Debian's own daemons, started by this script on loopback
high ports with their own keys, certificate and configuration
(``tests/fakes/real_servers.py``): OpenSSH's ``sshd`` with ``sftp-server``,
and ProFTPD with ``mod_digest`` (``HASH``: the server computes SHA-256).
The recordings are ``--count`` WAV files of ``--mb`` MiB of noise, each
different, their SHA-256 computed beforehand (Odoo keeps it on the call).

SFTP, one connection each unless said otherwise:

* *OpenSSH ``sftp -b``*: OpenSSH's own client (``openssh-client``), one
  ``put`` per file: the limit of the machine;
* *paramiko ``putfo``*, *asyncssh ``put``*, *ssh2-python*, *ssh-python*:
  the candidate libraries, plainly used (``bench/sftp_candidates.py``, run
  in ``var/bench-sftp-venv`` made from ``bench/requirements-sftp.txt``,
  since asyncssh cannot live beside Odoo 19's pinned ``cryptography``);
* *ours*: call_recording_ftp's export as a run does it, without the ORM
  (``lib/runner.py``: remote path from the default template, upload under
  a temporary name on the target's parallel upload connections, size check
  and rename on one more connection, JSON and CSV manifests per 50 files).

FTP (ProFTPD): ``ftplib.FTP.storbinary`` on one connection (the baseline),
ours with the server's SHA-256 (the default when a server offers
``HASH``), ours with the size check only.

``--wan-ms`` (default 10) also runs the SFTP methods through a relay that
delays each direction by that much (20 ms round trip, ``bench/wan_proxy.py``)
on ``--wan-count`` files: what a distant server does to each library.

Methods alternate, ``--runs`` times, each into an emptied server folder;
figures are medians; ratio = baseline seconds / seconds.  Client CPU is the
CPU time of the uploading process (for ``sftp``, of it and its ``ssh``).

Usage: bench/bench_ftp_export.py [--count 1000] [--mb 1] [--runs 3] [--wan-ms 10] [--wan-count 100]
                                 [--only sftp|ftp|wan]
"""

import argparse
import datetime
import ftplib
import hashlib
import io
import os
import resource
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

VENV = devenv.VAR / "bench-sftp-venv"
CANDIDATES = ("paramiko", "asyncssh", "ssh2-python", "ssh-python")


def load_lib():
    import conftest  # noqa: F401, PLC0415 registers call_recording_ftp_lib
    from call_recording_ftp_lib import factory, ftp, runner, template  # noqa: PLC0415
    from call_recording_ftp_lib.transport import TargetConfig  # noqa: PLC0415

    return factory, ftp, runner, template, TargetConfig


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


def candidate_venv():
    """The candidates' own environment (made once, kept under var/)."""
    python = VENV / "bin" / "python"
    marker = VENV / "requirements-sftp.txt"
    wanted = (REPO / "bench" / "requirements-sftp.txt").read_text()
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"Preparing {VENV} (the candidate libraries)...", flush=True)
    base = shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "-r",
            str(REPO / "bench/requirements-sftp.txt"),
        ],
        check=True,
    )
    marker.write_text(wanted)
    return python


# -- the methods: each returns (seconds, client CPU seconds) -----------------------------


def _cpu_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def openssh_sftp(server, port, files):
    batch = "".join(f"put {path} {path.name}\n" for path, _s, _h, _i in files)
    cpu = _cpu_children()
    began = time.perf_counter()
    subprocess.run(
        [
            "sftp",
            "-q",
            "-b",
            "-",
            "-i",
            str(server.client_key_path),
            "-P",
            str(port),
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "LogLevel=ERROR",
            f"{server.user}@{server.host}",
        ],
        input=batch.encode(),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - began, _cpu_children() - cpu


def candidate(python, library, server, port, listfile):
    out = subprocess.run(
        [
            str(python),
            str(REPO / "bench" / "sftp_candidates.py"),
            library,
            server.host,
            str(port),
            server.user,
            str(server.client_key_path),
            str(listfile),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        devenv.fail(f"{library}: {out.stderr[-2000:]}", 1)
    seconds, cpu = out.stdout.split()
    return float(seconds), float(cpu)


class _Sink:
    """Feeds the runner the files; keeps nothing but the outcome."""

    def __init__(self, lib, files):
        _factory, _ftp, runner, template, _config = lib
        self.runner, self.waiting, self.failed_files = runner, [], []
        start = datetime.datetime(2026, 11, 28, 9, 0)
        for path, size, sha256, index in files:
            values = template.values_for(
                {
                    "start": start + datetime.timedelta(minutes=index),
                    "reference": f"CR/2026/{index:06d}",
                    "direction": "inbound",
                    "number": "+36301234567",
                    "ext": "wav",
                }
            )
            self.waiting.append(
                runner.FileToSend(
                    key=index,
                    remote_path=template.render(template.DEFAULT_TEMPLATE, values, "recordings"),
                    size=size,
                    sha256=sha256,
                    opener=lambda path=path: open(path, "rb"),  # noqa: SIM115 closed by the runner
                    manifest={"reference": values["reference"]},
                )
            )

    def build(self):
        outer = self

        class Sink(self.runner.ExportSink):
            def next_batch(self, limit):
                batch, outer.waiting = outer.waiting[:limit], outer.waiting[limit:]
                return batch

            def sent(self, item, result):
                pass

            def failed(self, item, error):
                outer.failed_files.append((item.key, error))

        return Sink()


def ours(lib, config, files, uploads=2, server_hash=True):
    factory, ftp, runner, _template, _config = lib
    negotiate = ftp.FTPTransport._negotiate_hash
    if not server_hash:
        ftp.FTPTransport._negotiate_hash = lambda self: False
    sink = _Sink(lib, files)

    def connect():
        transport = factory.open_transport(config)
        transport.connect()
        return transport

    cpu = time.process_time()
    began = time.perf_counter()
    try:
        report = runner.ExportRunner(
            connect,
            sink.build(),
            run_name="bench",
            manifest_folder="recordings/manifests",
            uploads=uploads,
        ).run()
    finally:
        ftp.FTPTransport._negotiate_hash = negotiate
    elapsed = time.perf_counter() - began
    if report.connection_error or sink.failed_files:
        devenv.fail(f"ours: {report.connection_error or sink.failed_files[:3]}", 1)
    return elapsed, time.process_time() - cpu


def plain_storbinary(server, files):
    cpu = time.process_time()
    began = time.perf_counter()
    ftp = ftplib.FTP()  # noqa: S321 loopback benchmark
    ftp.connect(server.host, server.port)
    ftp.login(server.user, server.password)
    for path, _size, _sha, _index in files:
        with open(path, "rb") as stream:
            ftp.storbinary(f"STOR {path.name}", stream)
    ftp.quit()
    return time.perf_counter() - began, time.process_time() - cpu


# -- running them ----------------------------------------------------------------------


def count_files(root):
    return sum(1 for p in Path(root).rglob("*.wav") if not p.name.endswith(".part"))


def measure(methods, runs, total_mb, expected):
    """Alternate ``methods`` (label, server, callable), ``runs`` times; medians."""
    seconds = {label: [] for label, _s, _f in methods}
    cpu = {label: [] for label, _s, _f in methods}
    for run in range(runs):
        for label, server, method in methods:
            server.reset()
            elapsed, used = method()
            stored = count_files(server.root)
            if stored != expected:
                devenv.fail(f"{label}: {stored} files on the server, not {expected}", 1)
            seconds[label].append(elapsed)
            cpu[label].append(used)
            print(
                f"run {run + 1}: {label:34} {elapsed:7.2f} s  {total_mb / elapsed:7.1f} MB/s",
                flush=True,
            )
    return {
        label: (statistics.median(seconds[label]), statistics.median(cpu[label]))
        for label in seconds
    }


def table(title, results, total_mb):
    labels = list(results)
    base = results[labels[0]][0]
    print(f"\n{title}\n")
    print(f"{'method':36} {'seconds':>8} {'MB/s':>8} {'ratio':>6} {'client CPU s':>13}")
    for label in labels:
        elapsed, used = results[label]
        rate, ratio = total_mb / elapsed, base / elapsed
        print(f"{label:36} {elapsed:8.2f} {rate:8.1f} {ratio:6.2f} {used:13.2f}")


def sftp_methods(lib, python, server, port, files, listfile, uploads_options):  # noqa: PLR0917
    config = lib[4](
        "sftp",
        server.host,
        port,
        server.user,
        private_key=server.private_key,
        host_key_fingerprint=server.keyscan(),
        timeout=60,
    )
    methods = [("OpenSSH sftp -b (baseline)", server, lambda: openssh_sftp(server, port, files))]
    for library in CANDIDATES:
        methods.append(
            (
                f"{library}" + (" (chosen)" if library == "paramiko" else ""),
                server,
                lambda library=library: candidate(python, library, server, port, listfile),
            )
        )
    for uploads in uploads_options:
        methods.append(
            (
                f"ours: SFTP, {uploads} upload conn. + 1 check",
                server,
                lambda uploads=uploads: ours(lib, config, files, uploads=uploads),
            )
        )
    return methods


def main():  # noqa: PLR0915 one script, top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wan-ms", type=float, default=10.0)
    parser.add_argument("--wan-count", type=int, default=100)
    parser.add_argument("--only", choices=("sftp", "ftp", "wan"), help="run one part only")
    args = parser.parse_args()
    parts = {args.only} if args.only else {"sftp", "ftp", "wan"}
    ensure_odoo_python(__file__)
    from fakes.real_servers import OpenSSHServer, ProFTPDServer, free_port  # noqa: PLC0415

    lib = load_lib()
    python = candidate_venv()
    work = Path(tempfile.mkdtemp(prefix="crbench-ftp-"))
    servers = []
    proxy = None
    try:
        (work / "files").mkdir()
        files = make_files(work / "files", args.count, args.mb)
        total_mb = sum(f[1] for f in files) / 1e6
        listfile = work / "files.txt"
        listfile.write_text("".join(f"{path}\n" for path, _s, _h, _i in files))
        print(f"{len(files)} files, {total_mb:.0f} MB in total.", flush=True)
        sshd = OpenSSHServer(root=work / "sftp").start()
        proftpd = ProFTPDServer(root=work / "ftp").start()
        servers += [sshd, proftpd]

        sftp = ftp_results = wan = None
        if "sftp" in parts:
            sftp = measure(
                sftp_methods(lib, python, sshd, sshd.port, files, listfile, (1, 2)),
                args.runs,
                total_mb,
                len(files),
            )
        config = lib[4](
            "ftp", proftpd.host, proftpd.port, proftpd.user, proftpd.password, timeout=60
        )
        ftp_results = "ftp" in parts and measure(
            [
                ("ftplib storbinary (baseline)", proftpd, lambda: plain_storbinary(proftpd, files)),
                ("ours: FTP, SHA-256 by the server", proftpd, lambda: ours(lib, config, files)),
                (
                    "ours: FTP, size check only",
                    proftpd,
                    lambda: ours(lib, config, files, server_hash=False),
                ),
            ],
            args.runs,
            total_mb,
            len(files),
        )
        if args.wan_ms and "wan" in parts:
            few = files[: args.wan_count]
            few_mb = sum(f[1] for f in few) / 1e6
            few_list = work / "few.txt"
            few_list.write_text("".join(f"{path}\n" for path, _s, _h, _i in few))
            port = free_port()
            relay = [str(REPO / "bench" / "wan_proxy.py"), str(port), str(sshd.port)]
            proxy = subprocess.Popen(
                [sys.executable, *relay, str(args.wan_ms)],
                stdout=subprocess.PIPE,
                text=True,
            )
            proxy.stdout.readline()
            wan = measure(
                sftp_methods(lib, python, sshd, port, few, few_list, (2,)),
                args.runs,
                few_mb,
                len(few),
            )
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{len(files)} x {args.mb} MiB, {args.runs} runs, medians.")
    if sftp:
        table(f"SFTP to OpenSSH sshd + sftp-server on loopback ({total_mb:.0f} MB)", sftp, total_mb)
    if ftp_results:
        table(
            f"FTP to ProFTPD with mod_digest on loopback ({total_mb:.0f} MB)", ftp_results, total_mb
        )
    if wan:
        table(
            f"SFTP through a {args.wan_ms:g} ms each way relay ({args.wan_count} files)",
            wan,
            few_mb,
        )


if __name__ == "__main__":
    main()
