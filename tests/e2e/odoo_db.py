"""A real Odoo database for end-to-end tests, driven through ``odoo shell``.

Each script runs in its own Odoo process, so a test can kill one mid-way
as a crash or an OOM kill would, and look at what was committed.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import devenv  # noqa: E402


class OdooDatabase:
    """A throw-away database with ``addons`` installed, and its filestore."""

    def __init__(self, name, addons="call_recording"):
        self.name = name
        self.addons = addons
        self.data_dir = tempfile.mkdtemp(prefix=f"{name}-data-")

    def odoo_args(self):
        return [
            f"--addons-path={devenv.REPO}",
            f"--data-dir={self.data_dir}",
            *devenv.db_args(),
            "-d",
            self.name,
            "--log-level=warn",
            "--max-cron-threads=0",
        ]

    def create(self):
        devenv.ensure_postgres()
        devenv.drop_database(self.name)
        result = subprocess.run(
            [devenv.odoo_command(), *self.odoo_args(), "-i", self.addons, "--stop-after-init"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return self

    def drop(self):
        devenv.drop_database(self.name)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def shell(self, code, background=False):
        """Run ``code`` (with ``env`` defined) in an ``odoo shell``; it commits at the end."""
        script = textwrap.dedent(code) + "\nenv.cr.commit()\n"
        cmd = [devenv.odoo_command(), "shell", *self.odoo_args(), "--no-http"]
        if background:
            return subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            ), script
        result = subprocess.run(cmd, input=script, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    def start(self, code):
        """Start ``code`` in a background ``odoo shell``; returns the process."""
        proc, script = self.shell(code, background=True)
        proc.stdin.write(script)
        proc.stdin.close()
        return proc

    @staticmethod
    def kill(proc):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def connect(self):
        return psycopg2.connect(
            dbname=self.name,
            host=devenv.DB_HOST,
            port=devenv.DB_PORT,
            user=devenv.DB_USER,
            password=devenv.DB_PASSWORD,
        )

    def query(self, sql, params=None):
        with self.connect() as conn, conn.cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    def wait_for(self, sql, predicate, timeout=120, proc=None):
        """Poll ``sql`` until ``predicate(rows)``; fail if ``proc`` ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.query(sql)
            if predicate(rows):
                return rows
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the process ended first:\n{proc.stdout.read()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting on {sql}")

    def filestore_path(self, store_fname):
        return Path(self.data_dir) / "filestore" / self.name / store_fname
