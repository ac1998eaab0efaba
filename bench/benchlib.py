"""What the benchmark scripts share: Odoo's Python, a throw-away database."""

import os
import subprocess
import sys
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
