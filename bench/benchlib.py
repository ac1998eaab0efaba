"""What the benchmark scripts share: Odoo's Python, a throw-away database."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import devenv  # noqa: E402


def ensure_odoo_python(script):
    """Run ``script`` again with the Python of the ``odoo`` command if needed."""
    python = devenv.odoo_python()
    if Path(sys.prefix).resolve() == Path(python).parent.parent.resolve():
        return
    if os.environ.get("CR_BENCH_REEXEC"):
        return  # already re-executed once: let the import of odoo tell
    os.environ["CR_BENCH_REEXEC"] = "1"
    os.execv(python, [python, str(Path(script).resolve()), *sys.argv[1:]])  # noqa: S606


def odoo_args(data_dir):
    return [
        f"--addons-path={REPO}",
        f"--data-dir={data_dir}",
        *devenv.db_args(),
        "--http-interface=127.0.0.1",
        "--log-level=warn",
    ]


def install(db, data_dir, addons="call_recording"):
    """A fresh database ``db`` with ``addons`` installed, without demo data."""
    devenv.ensure_postgres()
    devenv.drop_database(db)
    result = subprocess.run(
        [devenv.odoo_command(), "-d", db, "-i", addons, "--stop-after-init", *odoo_args(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n", file=sys.stderr)
        devenv.fail(f"installing {addons} failed (exit code {result.returncode})", 1)


@contextlib.contextmanager
def throwaway_database(db, prefix, addons="call_recording", keep=False):
    """Install ``addons`` in a fresh ``db``; yields the data directory.

    Afterwards the database is dropped (unless ``keep``) and the data
    directory removed.
    """
    data_dir = tempfile.mkdtemp(prefix=prefix)
    try:
        started = time.perf_counter()
        install(db, data_dir, addons)
        print(f"Installed {addons} in {time.perf_counter() - started:.0f} s.", flush=True)
        yield data_dir
    finally:
        if not keep:
            devenv.drop_database(db)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def odoo_registry(db, data_dir):
    """Odoo configured for ``db`` in this process; yields its registry, closed afterwards."""
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-d", db, *odoo_args(data_dir)], setup_logging=True)
    try:
        yield Registry(db)
    finally:
        odoo.sql_db.close_db(db)
        Registry.delete(db)
