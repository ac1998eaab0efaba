"""scripts/demo: one database per checkout, kept with its files; nothing left running."""

import importlib.machinery
import importlib.util
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scripts" / "demo"


def _load_demo():
    sys.path.insert(0, str(REPO / "scripts"))
    loader = importlib.machinery.SourceFileLoader("cr_demo_script", str(DEMO))
    spec = importlib.util.spec_from_loader("cr_demo_script", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


demo = _load_demo()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is not running
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait_gone(pids, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def test_database_named_after_the_checkout(tmp_path):
    one = demo.default_db_name(tmp_path / "odoo-call-recording")
    assert one == demo.default_db_name(tmp_path / "odoo-call-recording"), "stable"
    assert re.match(r"^crdemo_odoo_call_recording_[0-9a-f]{6}$", one)
    other = demo.default_db_name(tmp_path / "elsewhere" / "odoo-call-recording")
    assert other != one, "two checkouts of the same name do not share a database"
    assert demo.devenv.DB_NAME_RE.match(demo.default_db_name(tmp_path / "Ügyfél szolgálat!"))


def test_existing_database_without_its_files_is_not_updated(tmp_path, capsys):
    with pytest.raises(SystemExit):
        demo.check_files_together("crdemo_x_123456", tmp_path, exists=True)
    assert "--reset" in capsys.readouterr().err
    (tmp_path / "filestore" / "crdemo_x_123456").mkdir(parents=True)
    demo.check_files_together("crdemo_x_123456", tmp_path, exists=True)
    demo.check_files_together("crdemo_new_123456", tmp_path, exists=False)


def test_unsafe_database_names_refused(tmp_path):
    for name in ("../etc", "a/b", "x'; DROP", ""):
        with pytest.raises(SystemExit):
            demo.devenv.remove_filestore(tmp_path, name)


def test_supervisor_stops_children_even_stubborn_ones():
    supervisor = demo.Supervisor()
    polite = supervisor.start("polite", [sys.executable, "-c", "import time; time.sleep(60)"])
    stubborn = supervisor.start(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    assert stubborn.stdout.readline().strip() == b"ready"
    stopped = supervisor.stop_all(timeout=1)
    assert sorted(stopped) == ["polite", "stubborn"]
    assert polite.poll() is not None and stubborn.poll() is not None


# A stand-in for the demo command: fake servers and "Odoo" as children, served
# by the demo's own serve(); prints the pids it started.
_RUNNER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {scripts!r})
    import importlib.machinery, importlib.util
    loader = importlib.machinery.SourceFileLoader("d", {demo!r})
    spec = importlib.util.spec_from_loader("d", loader)
    demo = importlib.util.module_from_spec(spec)
    loader.exec_module(demo)
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    supervisor = demo.Supervisor()
    ftp = supervisor.start("demo FTP server", sleeper, start_new_session=True)
    fakes = supervisor.start("fake providers", sleeper, start_new_session=True)
    odoo_cmd = [sys.executable, "-c", "import time; print('odoo up', flush=True); time.sleep(120)"]
    print(ftp.pid, fakes.pid, flush=True)
    sys.exit(demo.serve(supervisor, odoo_cmd))
    """
)


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_runner():
    code = _RUNNER.format(scripts=str(REPO / "scripts"), demo=str(DEMO))
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A shell's background job (CI, `cmd &`) ignores SIGINT, and that is
        # inherited: the stand-in terminal gets Ctrl-C as a terminal would.
        preexec_fn=_default_sigint,  # noqa: PLW1509
    )
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert proc.stdout.readline().strip() == "odoo up"
    odoo_pid = int(
        subprocess.run(
            ["pgrep", "-P", str(proc.pid), "-f", "odoo up"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
    )
    return proc, [*pids, odoo_pid]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_stopping_the_demo_stops_what_it_started(how):
    """kill, Ctrl-C (the whole process group) or even kill -9: nothing stays behind."""
    proc, children = _start_runner()
    assert [p for p in children if not _alive(p)] == [], f"children {children}"
    if how == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's process group
    else:
        os.kill(proc.pid, getattr(signal, how))
    proc.wait(timeout=20)
    assert _wait_gone(children) == [], f"left running after {how}"
