"""Shared helpers of the repository's commands (test, demo, bench).

Finds Odoo 19.0 through the ``odoo`` command on the PATH, starts the local
PostgreSQL when it is not running, and knows the suite's add-ons.  Standard
library only: it runs with any Python 3 before Odoo's own is known.
"""

import ast
import configparser
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VAR = REPO / "var"

DB_HOST = os.environ.get("CR_DB_HOST", "127.0.0.1")
DB_PORT = os.environ.get("CR_DB_PORT", "5432")
DB_USER = os.environ.get("CR_DB_USER", "odoo")
DB_PASSWORD = os.environ.get("CR_DB_PASSWORD", "odoo")

INSTALL_HELP = """\
Odoo 19.0 was not found: there is no 'odoo' command on the PATH.

Install Odoo 19.0 Community, then make its 'odoo' command reachable, e.g.:

    python3 -m venv /opt/odoo19/venv
    /opt/odoo19/venv/bin/pip install -r <odoo-19.0-source>/requirements.txt
    /opt/odoo19/venv/bin/pip install -e <odoo-19.0-source>
    /opt/odoo19/venv/bin/pip install -c <odoo-19.0-source>/requirements.txt \
        -r requirements-test.txt
    ln -s /opt/odoo19/venv/bin/odoo /usr/local/bin/odoo

or use the Docker route (docker/README.rst).  See README.rst, "Set-up".
"""


def fail(message, code=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def odoo_command():
    """Path of the ``odoo`` command, or exit with the install instructions."""
    odoo = shutil.which("odoo")
    if not odoo:
        print(INSTALL_HELP, file=sys.stderr)
        sys.exit(2)
    return odoo


def odoo_python():
    """The Python interpreter that runs the ``odoo`` command."""
    odoo = os.path.realpath(odoo_command())
    with open(odoo, "rb") as fp:
        first = fp.readline().decode(errors="replace").strip()
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and os.path.basename(parts[0]) == "env" and len(parts) > 1:
            found = shutil.which(parts[1])
            if found:
                return found
        elif parts and os.access(parts[0], os.X_OK):
            return parts[0]
    return sys.executable


def check_odoo_version(python):
    out = subprocess.run(
        [python, "-c", "import odoo.release as r; print(r.major_version)"],
        capture_output=True,
        text=True,
        check=False,
    )
    version = out.stdout.strip()
    if version != "19.0":
        print(INSTALL_HELP, file=sys.stderr)
        reported = version or out.stderr.strip()
        fail(f"the 'odoo' on the PATH is not Odoo 19.0 (it reports {reported!r})")


def suite_addons():
    """The add-ons of this repository, in dependency order of the suite."""
    addons = []
    for manifest in sorted(REPO.glob("*/__manifest__.py")):
        data = ast.literal_eval(manifest.read_text())
        if data.get("installable", True):
            addons.append(manifest.parent.name)
    return addons


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def db_args():
    return [
        f"--db_host={DB_HOST}",
        f"--db_port={DB_PORT}",
        f"--db_user={DB_USER}",
        f"--db_password={DB_PASSWORD}",
    ]


def _psql(sql, database="postgres"):
    env = dict(os.environ, PGPASSWORD=DB_PASSWORD, PGCONNECT_TIMEOUT="5")
    return subprocess.run(
        ["psql", "-h", DB_HOST, "-p", DB_PORT, "-U", DB_USER, "-d", database, "-tAc", sql],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["sudo", "-u", "postgres", *cmd]


def ensure_postgres():
    """Start the local PostgreSQL if needed and make sure our role exists."""
    if not shutil.which("psql"):
        fail("PostgreSQL's client 'psql' is missing: apt-get install postgresql")
    local = DB_HOST in ("127.0.0.1", "localhost", "::1")
    result = _psql("SELECT 1")
    if result.returncode == 0:
        return
    error = result.stderr.lower()
    if local and ("connection refused" in error or "could not connect" in error):
        _start_local_cluster()
        result = _psql("SELECT 1")
        error = result.stderr.lower()
    if (
        local
        and result.returncode
        and ("authentication failed" in error or "does not exist" in error)
    ):
        print(f"Creating the PostgreSQL role {DB_USER}...", flush=True)
        create = (
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{DB_USER}') "
            f"THEN CREATE ROLE \"{DB_USER}\" LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'; "
            f"ELSE ALTER ROLE \"{DB_USER}\" LOGIN CREATEDB PASSWORD '{DB_PASSWORD}'; END IF; END$$;"
        )
        subprocess.run(_as_postgres(["psql", "-p", DB_PORT, "-q", "-c", create]), check=False)
        result = _psql("SELECT 1")
    if result.returncode != 0:
        fail(
            f"cannot connect to PostgreSQL at {DB_HOST}:{DB_PORT} as {DB_USER}: "
            f"{result.stderr.strip()}\nSet CR_DB_HOST, CR_DB_PORT, CR_DB_USER and "
            "CR_DB_PASSWORD for another server."
        )


def _start_local_cluster():
    if not shutil.which("pg_lsclusters"):
        fail("PostgreSQL is not running and pg_lsclusters is missing: apt-get install postgresql")
    clusters = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    ).stdout.split("\n")
    for line in clusters:
        fields = line.split()
        if len(fields) >= 4 and fields[2] == DB_PORT:
            print(f"Starting PostgreSQL {fields[0]}/{fields[1]}...", flush=True)
            cmd = ["pg_ctlcluster", fields[0], fields[1], "start"]
            if os.geteuid() != 0:
                cmd = ["sudo", *cmd]
            subprocess.run(cmd, check=True)
            return
    fail(f"no PostgreSQL cluster on port {DB_PORT}: apt-get install postgresql")


#: Database names Odoo accepts (and that are safe in a path and in SQL quotes).
DB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_db_name(name):
    if not DB_NAME_RE.match(name or ""):
        fail(f"invalid database name {name!r}: letters, digits, '_', '.' and '-' only")
    return name


def drop_database(name):
    _psql(f'DROP DATABASE IF EXISTS "{check_db_name(name)}" WITH (FORCE)')


def remove_filestore(data_dir, name):
    """Delete a database's filestore in ``data_dir`` (its recordings and attachments)."""
    path = Path(data_dir) / "filestore" / check_db_name(name)
    if path.is_dir():
        shutil.rmtree(path)


def database_exists(name):
    check_db_name(name)
    return _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").stdout.strip() == "1"


def workers_config(db, data_dir, **options):
    """``docker/odoo-workers.conf`` adapted to this machine for database ``db``.

    Loopback on free ports (``http_port`` and ``gevent_port`` of its
    ``options`` section), this machine's database server, then ``options``.
    """
    config = configparser.ConfigParser()
    config.read(REPO / "docker" / "odoo-workers.conf")
    config["options"].update(
        addons_path=str(REPO),
        data_dir=str(data_dir),
        db_host=DB_HOST,
        db_port=DB_PORT,
        db_user=DB_USER,
        db_password=DB_PASSWORD,
        db_name=db,
        dbfilter=f"^{db}$",
        http_interface="127.0.0.1",
        http_port=str(free_port()),
        gevent_port=str(free_port()),
        **options,
    )
    return config


def stop_process_group(proc, seconds=60):
    """End ``proc``'s process group (started with ``start_new_session``): SIGTERM,
    SIGKILL after ``seconds``."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
