#!/usr/bin/env python3
"""Time the reports at 10,000,000 calls, from the totals and from the calls.

Creates a throw-away database ``crbench_reports`` with ``call_recording``
(no demo data), two companies with their recorded lines, 20 agents in three
sales teams (one led by a team leader), a manager, and inserts the calls in
one ``INSERT ... SELECT FROM generate_series`` (indexes, foreign keys and
the report's triggers off meanwhile, then back): three years of calls in
start time order, as an import writes them, with random direction,
outcome, duration, agent and line, and an outcome on a share of the
answered calls.  The report's totals are then rebuilt from the calls
(timed), in the reporting time zone Europe/Budapest.

Then it times every query of the call analysis and of the dashboard,
through the ORM, as the manager (record rules applied, both companies
enabled, time zone Europe/Budapest), some also as the team leader and as
an agent, over all data and over a period: each warmed up once, then run
5 times (median and fastest, ORM cache invalidated before each run).  It
does so twice in the same run: reading the totals (the add-on as it is),
and reading the calls one by one (``calls_only()``, as before the totals),
and checks that both give the same figures.

Last, inside a transaction it rolls back, it times what keeping the totals
current costs: inserting, updating and deleting 10,000 calls by SQL and
creating 1,000 calls through the ORM, each with the triggers and without
(``ALTER TABLE ... DISABLE TRIGGER``), and folding the deltas in.

The database and its data directory are dropped at the end, also on
failure (``--keep`` keeps the database).  ``--calls 100000`` makes a quick
run.

Usage: bench/bench_reports.py [--calls N] [--runs N] [--outcomes FRACTION]
                              [--heap-order time|random] [--keep]
"""

import argparse
import contextlib
import os
import re
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, odoo_registry, throwaway_database  # noqa: E402

DB = "crbench_reports"
TZ = "Europe/Budapest"
DAYS = 3 * 365 + 1
AGENTS = 20
MAIN_AGENTS = 12  # of the 20 in the main company, the others in the second one
#: Sales teams: (first agent, last agent) of each, the first one led by the
#: team leader.
TEAMS = [(1, 6), (7, 12), (13, 20)]
#: Our recorded lines and their policies: the first three belong to the main
#: company, the others to the second one.
LINES = [
    ("+3612345600", "legal"),
    ("+3612345601", "legal"),
    ("+3612345602", "consent"),
    ("+3612345610", "legal"),
    ("+3612345611", "consent"),
]
MAIN_LINES = 3
PHASES = ("totals", "calls")
PHASE_TITLES = {"totals": "from the totals", "calls": "from the calls"}
#: Rounds of the writes with and without the triggers.
WRITE_ROUNDS = 3
#: The aim: every query under this many milliseconds at 10,000,000 calls.
AIM_MS = 200
TABLES_RE = re.compile(r"\b(call_recording(?:_rollup_(?:day|month|hour|delta))?)\b")


# ----------------------------------------------------------------------
# Set-up
# ----------------------------------------------------------------------


def admin_connection():
    """An autocommit connection for VACUUM and index DDL, outside the ORM."""
    import psycopg2  # noqa: PLC0415 - only in Odoo's Python

    conn = psycopg2.connect(
        host=devenv.DB_HOST,
        port=devenv.DB_PORT,
        user=devenv.DB_USER,
        password=devenv.DB_PASSWORD,
        dbname=DB,
    )
    conn.autocommit = True
    return conn


def sql_value(conn, query, params=None):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def sql_rows(conn, query, params=None):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def sql_run(conn, query, params=None):
    with conn.cursor() as cur:
        cur.execute(query, params)


def create_people(env):
    """Two companies, their lines, 20 agents in three teams, a leader, a manager."""
    from odoo import Command  # noqa: PLC0415

    env = env(
        context={
            "no_reset_password": True,
            "tracking_disable": True,
            "mail_create_nolog": True,
            "mail_create_nosubscribe": True,
        }
    )
    main = env.ref("base.main_company")
    second = env["res.company"].create({"name": "Bench Calls B"})
    lines = env["call.recording.line"]
    for i, (number, policy) in enumerate(LINES):
        lines |= lines.create(
            {
                "name": f"Bench line {i + 1}",
                "number": number,
                "policy": policy,
                "company_id": (main if i < MAIN_LINES else second).id,
            }
        )
    agent_group = env.ref("call_recording.group_call_recording_user")
    manager_group = env.ref("call_recording.group_call_recording_manager")
    salesman = env.ref("sales_team.group_sale_salesman")
    agents = env["res.users"]
    for i in range(AGENTS):
        company = main if i < MAIN_AGENTS else second
        agents |= env["res.users"].create(
            {
                "name": f"Bench Agent {i + 1:02d}",
                "login": f"bench_agent_{i + 1:02d}",
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "group_ids": [Command.set(agent_group.ids)],
                "tz": TZ,
            }
        )
    leader = env["res.users"].create(
        {
            "name": "Bench Team Leader",
            "login": "bench_leader",
            "company_id": main.id,
            "company_ids": [Command.set(main.ids)],
            "group_ids": [Command.set((agent_group | salesman).ids)],
            "tz": TZ,
        }
    )
    for number, (first, last) in enumerate(TEAMS):
        members = agents[first - 1 : last]
        env["crm.team"].create(
            {
                "name": f"Bench team {number + 1}",
                "user_id": leader.id if number == 0 else False,
                "company_id": members[0].company_id.id,
                "member_ids": [Command.set(members.ids)],
            }
        )
    manager = env["res.users"].create(
        {
            "name": "Bench Manager",
            "login": "bench_manager",
            "company_id": main.id,
            "company_ids": [Command.set((main | second).ids)],
            "group_ids": [Command.set(manager_group.ids)],
            "tz": TZ,
        }
    )
    outcomes = env["call.recording.outcome"].search([], limit=5)
    env.flush_all()
    agents.invalidate_recordset()
    return {
        "companies": main | second,
        "lines": lines,
        "agents": agents,
        "outcomes": outcomes,
        "users": {"manager": manager, "leader": leader, "agent": agents[0]},
    }


#: Columns the INSERT below fills; every NOT NULL column must be among them.
INSERT_COLUMNS = (
    "name, company_id, user_id, direction, state, start_datetime, duration, duration_minutes, "
    "caller_number, callee_number, caller_number_e164, callee_number_e164, "
    "external_number, external_number_e164, line_number, line_number_e164, "
    "recording_status, partner_match, partner_match_count, audio_size, "
    "line_id, legal_basis, retention_date, metadata_retention_date, "
    "consent_state, consent_user_id, consent_date, consent_source, team_id, outcome_id, "
    "create_uid, write_uid, create_date, write_date"
)
INSERT_CALLS = f"""
WITH r AS MATERIALIZED (
    SELECT n,
           random() < 0.05 AS unassigned,
           1 + floor(random() * %(agents)s)::int AS a,
           random() AS r_dir,
           random() AS r_state,
           random() AS r_dur,
           random() AS r_line,
           random() AS r_consent,
           random() AS r_outcome,
           floor(random() * 10000000)::int AS ext,
           %(today)s::timestamp - floor(random() * %(days)s)::int * interval '1 day'
               + interval '6 hours' + random() * interval '11 hours' AS start
      FROM generate_series(1, %(calls)s) AS n
),
c AS (
    SELECT r.n,
           r.start,
           (%(agent_companies)s::int[])[r.a] AS company_id,
           CASE WHEN NOT r.unassigned THEN (%(agent_ids)s::int[])[r.a] END AS user_id,
           CASE WHEN NOT r.unassigned THEN (%(agent_teams)s::int[])[r.a] END AS team_id,
           CASE WHEN r.r_dir < 0.55 THEN 'inbound'
                WHEN r.r_dir < 0.95 THEN 'outbound'
                ELSE 'internal' END AS direction,
           CASE WHEN r.r_state < 0.75 THEN 'answered'
                WHEN r.r_state < 0.87 THEN 'missed'
                WHEN r.r_state < 0.92 THEN 'voicemail'
                WHEN r.r_state < 0.97 THEN 'busy'
                ELSE 'failed' END AS state,
           CASE WHEN r.r_state < 0.75
                    THEN least(15 + floor(-ln(1 - r.r_dur) * 240)::int, 14400)
                WHEN r.r_state >= 0.87 AND r.r_state < 0.92
                    THEN 10 + floor(r.r_dur * 50)::int
                ELSE 0 END AS duration,
           CASE WHEN (%(agent_companies)s::int[])[r.a] = %(main)s
                THEN 1 + floor(r.r_line * %(main_lines)s)::int
                ELSE %(main_lines)s + 1 + floor(r.r_line * %(other_lines)s)::int
           END AS l,
           r.r_consent,
           -- an outcome on a share of the answered calls, as agents set them
           CASE WHEN r.r_state < 0.75 AND r.r_outcome < %(outcomes)s
                THEN (%(outcome_ids)s::int[])[
                    1 + floor(r.r_outcome / %(outcomes)s * %(outcome_count)s)::int]
           END AS outcome_id,
           '+3630' || lpad(r.ext::text, 7, '0') AS external
      FROM r
),
d AS (
    SELECT c.*,
           (%(line_numbers)s::varchar[])[c.l] AS line,
           (%(line_policies)s::varchar[])[c.l] AS policy,
           CASE WHEN (%(line_policies)s::varchar[])[c.l] <> 'consent'
                  OR c.state <> 'answered' THEN 'not_asked'
                WHEN c.r_consent < 0.85 THEN 'given'
                WHEN c.r_consent < 0.95 THEN 'refused'
                ELSE 'not_asked' END AS consent
      FROM c
)
INSERT INTO call_recording ({INSERT_COLUMNS})
SELECT 'CR/B/' || d.n, d.company_id, d.user_id, d.direction, d.state, d.start, d.duration,
       round(d.duration / 60.0, 2),
       CASE WHEN d.direction = 'inbound' THEN d.external ELSE d.line END,
       CASE WHEN d.direction = 'inbound' THEN d.line ELSE d.external END,
       CASE WHEN d.direction = 'inbound' THEN d.external ELSE d.line END,
       CASE WHEN d.direction = 'inbound' THEN d.line ELSE d.external END,
       d.external, d.external, d.line, d.line,
       'none', 'unknown', 0, 0,
       (%(line_ids)s::int[])[d.l], d.policy,
       d.start::date + make_interval(months => (%(line_months)s::int[])[d.l]),
       d.start::date + make_interval(months => %(metadata_months)s),
       d.consent,
       CASE WHEN d.consent <> 'not_asked' THEN d.user_id END,
       CASE WHEN d.consent <> 'not_asked' THEN d.start + interval '20 seconds' END,
       CASE WHEN d.consent <> 'not_asked' THEN 'agent' END,
       d.team_id, d.outcome_id,
       %(uid)s, %(uid)s,
       d.start + make_interval(secs => d.duration), d.start + make_interval(secs => d.duration)
  FROM d
 ORDER BY %(order)s
"""


def check_required_columns(cr):
    """Fail clearly if the model gained a NOT NULL column the INSERT does not fill."""
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'call_recording' AND is_nullable = 'NO' AND column_default IS NULL"
    )
    filled = {column.strip() for column in INSERT_COLUMNS.split(",")}
    missing = sorted({row[0] for row in cr.fetchall()} - filled)
    if missing:
        devenv.fail(f"call_recording has NOT NULL columns the bench does not fill: {missing}", 1)


def insert_calls(cr, calls, people, *, uid, outcomes=0.0, chronological=True):
    """Insert the calls in one statement; return the seconds it took."""
    from odoo.tools import SQL  # noqa: PLC0415

    check_required_columns(cr)
    companies, lines, agents = people["companies"], people["lines"], people["agents"]
    main = companies[0]
    main_lines = lines.filtered(lambda line: line.company_id == main)
    today = datetime.now(timezone.utc).replace(tzinfo=None)
    today = today.replace(hour=0, minute=0, second=0, microsecond=0)
    params = {
        "agents": len(agents),
        "today": today,
        "days": DAYS,
        "calls": calls,
        "agent_companies": [agent.company_id.id for agent in agents],
        "agent_ids": agents.ids,
        "agent_teams": [agent.sale_team_id.id or None for agent in agents],
        "outcomes": max(outcomes, 1e-9),
        "outcome_ids": people["outcomes"].ids,
        "outcome_count": len(people["outcomes"]),
        "main": main.id,
        "main_lines": len(main_lines),
        "other_lines": len(lines) - len(main_lines),
        "line_ids": lines.ids,
        "line_numbers": lines.mapped("number_e164"),
        "line_policies": lines.mapped("policy"),
        "line_months": lines.mapped("retention_months"),
        "metadata_months": main.call_recording_metadata_retention_months,
        "uid": uid,
    }
    started = time.perf_counter()
    # In start time order, as calls arrive; or in random order, the worst case
    # of a table whose rows moved (updates, purges, restores).
    order = SQL("d.start" if chronological else "d.n")
    cr.execute(SQL(INSERT_CALLS, order=order, **params))
    return time.perf_counter() - started


# ----------------------------------------------------------------------
# Indexes
# ----------------------------------------------------------------------


def droppable_indexes(conn):
    """Non-unique, non-primary-key indexes of call_recording, with definitions."""
    return sql_rows(
        conn,
        """
        SELECT i.indexname, i.indexdef, obj_description(x.indexrelid, 'pg_class')
          FROM pg_indexes i
          JOIN pg_class ic ON ic.relname = i.indexname
          JOIN pg_namespace ns ON ns.oid = ic.relnamespace AND ns.nspname = i.schemaname
          JOIN pg_index x ON x.indexrelid = ic.oid
         WHERE i.tablename = 'call_recording'
           AND NOT x.indisunique
           AND NOT x.indisprimary
         ORDER BY i.indexname
        """,
    )


def drop_indexes(conn, indexes):
    for name, _definition, _comment in indexes:
        sql_run(conn, f'DROP INDEX "{name}"')


def create_indexes(conn, indexes):
    """Recreate indexes from pg_indexes.indexdef; return {name: seconds}."""
    took = {}
    for name, definition, comment in indexes:
        started = time.perf_counter()
        sql_run(conn, definition)
        took[name] = time.perf_counter() - started
        if comment is not None:
            sql_run(conn, f'COMMENT ON INDEX "{name}" IS %s', (comment,))
    return took


def index_sizes(conn):
    return sql_rows(
        conn,
        """
        SELECT c.relname, pg_relation_size(c.oid)
          FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
         WHERE x.indrelid = 'call_recording'::regclass
         ORDER BY c.relname
        """,
    )


# ----------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------


class Recorder:
    """Record the statements a cursor executes and how long each took."""

    def __init__(self, cr):
        self.cr = cr
        self.statements = []
        self.active = False
        self._execute = cr.execute

    def __enter__(self):
        def execute(query, params=None, log_exceptions=True):
            if not self.active:
                return self._execute(query, params, log_exceptions)
            started = time.perf_counter()
            try:
                return self._execute(query, params, log_exceptions)
            finally:
                took = (time.perf_counter() - started) * 1000
                self.statements.append((str(getattr(query, "code", query)), took))

        self.cr.execute = execute
        return self

    def __exit__(self, *exc):
        del self.cr.execute

    def capture(self, func):
        self.statements = []
        self.active = True
        try:
            return func()
        finally:
            self.active = False


def queries(envs):
    """[(key, label, user, function)] of every query of the analysis and the dashboard."""
    # the dashboard's own KPIs
    from odoo.addons.call_recording.report.call_recording_report import (  # noqa: PLC0415
        KPI_AGGREGATES as kpis,
    )

    report = envs["manager"]["call.recording.report"]
    month = report._period_bounds("month", 1)
    quarter = report._period_bounds("quarter", 1)

    def days(bounds):
        return [("date", ">=", bounds[0].isoformat()), ("date", "<", bounds[1].isoformat())]

    month_label = f"{month[0]:%Y-%m}"
    quarter_label = f"{quarter[0]:%Y-%m}..{quarter[1] - timedelta(days=1):%Y-%m}"
    by_month_agent = (["date:month", "user_id"], ["__count", "duration_minutes:sum"])
    heat = (["weekday", "hour"], ["__count"])
    graph = (["date:day", "direction"], ["__count"])
    coverage = (
        ["line_id", "legal_basis"],
        ["__count", "recorded_count:sum", "consent_refused_count:sum"],
    )
    pivot_sets = [["date:month", "direction"], ["date:month"], ["direction"], []]
    pivot_measures = ["__count", "call_count:sum", "duration_minutes:sum"]

    def read_group(user, domain, spec):
        return lambda: envs[user]["call.recording.report"]._read_group(domain, *spec)

    def pivot(domain):
        return lambda: report._read_grouping_sets(domain, pivot_sets, pivot_measures)

    def listing():
        return report.web_search_read(
            [],
            {"start_datetime": {}, "user_id": {"fields": {"display_name": {}}}, "state": {}},
            limit=80,
            count_limit=10001,
        )

    return [
        ("a", "month x agent, all data", "manager", read_group("manager", [], by_month_agent)),
        (
            "a-tl",
            "the same, as the team leader",
            "leader",
            read_group("leader", [], by_month_agent),
        ),
        ("a-ag", "the same, as an agent", "agent", read_group("agent", [], by_month_agent)),
        (
            "b",
            f"month x agent, {month_label}",
            "manager",
            read_group("manager", days(month), by_month_agent),
        ),
        (
            "c",
            f"weekday x hour, {quarter_label}",
            "manager",
            read_group("manager", days(quarter), heat),
        ),
        ("d", "weekday x hour, all data", "manager", read_group("manager", [], heat)),
        ("f", "day x direction, all data (graph)", "manager", read_group("manager", [], graph)),
        (
            "f-p",
            f"day x direction, {month_label}",
            "manager",
            read_group("manager", days(month), graph),
        ),
        ("g", "pivot month x direction, all data", "manager", pivot([])),
        ("g-p", f"pivot month x direction, {quarter_label}", "manager", pivot(days(quarter))),
        ("h", "line x legal basis, all data", "manager", read_group("manager", [], coverage)),
        (
            "h-p",
            f"line x legal basis, {month_label}",
            "manager",
            read_group("manager", days(month), coverage),
        ),
        ("i", "7 KPIs, all data", "manager", read_group("manager", [], ([], kpis))),
        ("j", "list, first 80 calls and count", "manager", listing),
        ("e-w", "dashboard, this week", "manager", lambda: report.get_dashboard_data("week", 0)),
        ("e-m", "dashboard, this month", "manager", lambda: report.get_dashboard_data("month", 0)),
        (
            "e-q",
            "dashboard, this quarter",
            "manager",
            lambda: report.get_dashboard_data("quarter", 0),
        ),
        ("e-y", "dashboard, this year", "manager", lambda: report.get_dashboard_data("year", 0)),
        ("e-y1", "dashboard, last year", "manager", lambda: report.get_dashboard_data("year", 1)),
    ]


def comparable(value):
    """Results of both phases, comparable (floats rounded, records as ids)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [comparable(v) for v in value]
        # groups of equal counts come in either order (ORDER BY __count DESC)
        return sorted(items, key=repr) if items and isinstance(items[0], dict) else items
    if hasattr(value, "_name") and hasattr(value, "ids"):
        return (value._name, tuple(value.ids))
    return value


def measure(registry, people_ids, company_ids, runs, phase):
    """Time every query; return {key: result dict}."""
    from odoo import api  # noqa: PLC0415

    from odoo.addons.call_recording.report.call_recording_report import (  # noqa: PLC0415
        calls_only,
    )

    results = {}
    with registry.cursor() as cr, Recorder(cr) as recorder:
        context = {"tz": TZ, "lang": "en_US"}
        envs = {
            key: api.Environment(cr, uid, dict(context, allowed_company_ids=company_ids[key]))
            for key, uid in people_ids.items()
        }
        for key, label, user, func in queries(envs):
            env = envs[user]

            def run(func=func):
                if phase == "calls":
                    with calls_only():
                        return func()
                return func()

            env.invalidate_all()
            rows = recorder.capture(run)  # warm-up, and the SQL it runs
            statements = recorder.statements
            times = []
            for _ in range(runs):
                env.invalidate_all()
                started = time.perf_counter()
                run()
                times.append((time.perf_counter() - started) * 1000)
            slowest = max(statements, key=lambda s: s[1]) if statements else ("", 0)
            tables = sorted(
                {t for sql, _ms in statements for t in TABLES_RE.findall(sql)}
                - {"call_recording_rollup_delta"}
            )
            results[key] = {
                "label": label,
                "user": user,
                "ms": statistics.median(times),
                "min": min(times),
                "statements": len(statements),
                "slowest": slowest,
                "tables": tables,
                "all": statements,
                "result": comparable(rows),
                "groups": len(rows) if isinstance(rows, list) else None,
            }
            print(f"  ({key}) {label}: {results[key]['ms']:.1f} ms", flush=True)
        cr.rollback()
    return results


def write_costs(registry, people, uid):
    """What keeping the totals current costs: the same writes with and without triggers."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, uid, {"tracking_disable": True, "tz": TZ})
        Rollup = env["call.recording.report.rollup"]
        cr.execute("SELECT max(id) FROM call_recording")
        last = cr.fetchone()[0]

        def timed(statement):
            started = time.perf_counter()
            cr.execute(statement)
            return (time.perf_counter() - started) * 1000

        def triggers(enabled):
            cr.execute(
                f"ALTER TABLE call_recording {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER"
            )

        copy = f"""
            INSERT INTO call_recording ({INSERT_COLUMNS})
            SELECT 'CR/B/W/' || id, {INSERT_COLUMNS.replace("name, ", "", 1)}
              FROM call_recording WHERE id > {last - 10000}
        """
        steps = [
            ("INSERT 10,000 calls (SQL)", copy),
            (
                "UPDATE 10,000 calls: recording purged",
                f"UPDATE call_recording SET recording_status = 'purged' WHERE id > {last}",
            ),
            (
                "UPDATE 10,000 calls: a note (no figure)",
                f"UPDATE call_recording SET notes = 'x' WHERE id > {last}",
            ),
            ("DELETE 10,000 calls", f"DELETE FROM call_recording WHERE id > {last}"),
        ]
        # the ORM's own create, as an import stores calls
        vals = [
            {
                "direction": "inbound",
                "caller_number": f"+3630{9000000 + i}",
                "callee_number": LINES[0][0],
                "duration": 60 + i % 300,
                "user_id": people["agents"][i % MAIN_AGENTS].id,
                "company_id": people["companies"][0].id,
                "start_datetime": datetime.now() - timedelta(minutes=i),
            }
            for i in range(1000)
        ]
        orm = "create() 1,000 calls (ORM)"
        took = {}
        fold = []
        # alternately with and without, medians: the machine's load varies
        for _round in range(WRITE_ROUNDS):
            for enabled in (True, False) if _round % 2 else (False, True):
                cr.execute("SAVEPOINT bench_write")
                if not enabled:
                    triggers(False)
                for label, statement in steps:
                    took.setdefault((label, enabled), []).append(timed(statement))
                started = time.perf_counter()
                # copies: create() adds the reference to the values it is given
                env["call.recording"].create([dict(v) for v in vals])
                env.flush_all()
                took.setdefault((orm, enabled), []).append((time.perf_counter() - started) * 1000)
                if enabled:
                    started = time.perf_counter()
                    moved = Rollup._fold()
                    fold.append((moved, (time.perf_counter() - started) * 1000))
                env.invalidate_all()
                cr.execute("ROLLBACK TO SAVEPOINT bench_write")
        rows = [
            (label, statistics.median(took[label, True]), statistics.median(took[label, False]))
            for label in [label for label, _s in steps] + [orm]
        ]
        folded, fold_ms = fold[0][0], statistics.median(ms for _m, ms in fold)
        cr.rollback()
    return rows, (folded, fold_ms)


# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------


def table(headers, rows):
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=True)]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [line, "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"]
    out.append(line.replace("-", "="))
    for row in rows:
        cells = [
            str(c).rjust(w) if i and str(c)[:1].isdigit() else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append(line)
    return "\n".join(out)


def print_results(results, runs, calls):
    keys = list(results["totals"])
    rows = []
    for key in keys:
        totals, per_call = results["totals"][key], results["calls"][key]
        same = "yes" if totals["result"] == per_call["result"] else "NO"
        rows.append(
            [
                f"({key}) {totals['label']}",
                f"{totals['ms']:.1f}",
                f"{per_call['ms']:.1f}",
                f"{per_call['ms'] / totals['ms']:.0f}x",
                same,
            ]
        )
    print(f"\nMedian of {runs} runs after one warm-up, milliseconds, {calls:,} calls:\n")
    print(table(["query", "totals (ms)", "calls (ms)", "calls/totals", "same figures"], rows))
    for key in keys:
        totals, per_call = results["totals"][key]["result"], results["calls"][key]["result"]
        if totals != per_call:
            if isinstance(totals, dict):
                parts = [k for k in totals if totals[k] != per_call.get(k)]
                totals = {k: totals[k] for k in parts}
                per_call = {k: per_call.get(k) for k in parts}
            print(f"\n({key}) differs: from the totals {str(totals)[:600]}")
            print(f"({key})          from the calls  {str(per_call)[:600]}")
    over = [k for k in keys if results["totals"][k]["ms"] >= AIM_MS]
    print(
        f"\nFrom the totals, {len(keys) - len(over)} of {len(keys)} queries under {AIM_MS} ms"
        + (f"; over: {', '.join(over)}." if over else ".")
    )
    rows = [
        [
            f"({key})",
            f"{results['totals'][key]['min']:.1f}",
            f"{results['calls'][key]['min']:.1f}",
            str(results["totals"][key]["statements"]),
            f"{results['totals'][key]['slowest'][1]:.1f}",
            " ".join(
                t.replace("call_recording_rollup_", "") for t in results["totals"][key]["tables"]
            ),
        ]
        for key in keys
    ]
    print(
        f"\nFastest of the {runs} runs (ms); from the totals: statements, the slowest, "
        "tables read:\n"
    )
    print(
        table(
            ["query", "totals min", "calls min", "statements", "slowest (ms)", "tables (totals)"],
            rows,
        )
    )
    for key in ("e-y", "e-m"):
        print(f"\nStatements of ({key}) from the totals, slowest first:")
        for sql, took in sorted(results["totals"][key]["all"], key=lambda s: -s[1])[:12]:
            print(f"  {took:7.1f} ms  {' '.join(sql.split())[:110]}")


# ----------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------


def populate(registry, conn, args):
    """People, lines and calls, then the indexes and the totals."""
    import odoo  # noqa: PLC0415
    from odoo import api  # noqa: PLC0415

    indexes = droppable_indexes(conn)
    # A faster insert: no index to maintain, no foreign key checked row by
    # row, no trigger; all back right after, and the totals rebuilt.
    foreign_keys = sql_rows(
        conn,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'call_recording'::regclass AND contype = 'f' ORDER BY conname",
    )
    drop_indexes(conn, indexes)
    for name, _definition in foreign_keys:
        sql_run(conn, f'ALTER TABLE call_recording DROP CONSTRAINT "{name}"')
    sql_run(conn, "ALTER TABLE call_recording DISABLE TRIGGER USER")
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        people = create_people(env)
        cr.execute("SET LOCAL work_mem = '256MB'")  # sort the rows in memory
        took = insert_calls(
            cr,
            args.calls,
            people,
            uid=odoo.SUPERUSER_ID,
            outcomes=args.outcomes,
            chronological=args.heap_order == "time",
        )
        ids = {
            "people": {key: user.id for key, user in people["users"].items()},
            "companies": {key: user.company_ids.ids for key, user in people["users"].items()},
        }
    print(
        f"Inserted {args.calls:,} calls in {took:.1f} s "
        f"(heap in {'start time' if args.heap_order == 'time' else 'random'} order, "
        f"outcome on {args.outcomes:.0%} of the answered)."
    )
    started = time.perf_counter()
    for name, definition in foreign_keys:
        sql_run(conn, f'ALTER TABLE call_recording ADD CONSTRAINT "{name}" {definition}')
    built = create_indexes(conn, indexes)
    sql_run(conn, "ALTER TABLE call_recording ENABLE TRIGGER USER")
    print(
        f"Added {len(foreign_keys)} foreign keys and built {len(built)} indexes "
        f"in {time.perf_counter() - started:.1f} s."
    )
    started = time.perf_counter()
    sql_run(conn, "VACUUM (ANALYZE) call_recording")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s.")
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        started = time.perf_counter()
        env["call.recording.report.rollup"]._rebuild(TZ)
        cr.commit()
        rebuilt = time.perf_counter() - started
    print(f"Totals rebuilt from the calls in {rebuilt:.1f} s (one transaction).")
    for table_name in (
        "call_recording_rollup_day",
        "call_recording_rollup_month",
        "call_recording_rollup_hour",
    ):
        sql_run(conn, f"VACUUM (ANALYZE) {table_name}")
    print_setup(conn, people["companies"].ids)
    return people, ids, rebuilt


def print_setup(conn, company_ids):
    version = sql_value(conn, "SHOW server_version")
    settings = ", ".join(
        f"{name}={sql_value(conn, f'SHOW {name}')}"
        for name in (
            "shared_buffers",
            "work_mem",
            "effective_cache_size",
            "random_page_cost",
            "max_parallel_workers_per_gather",
            "jit",
        )
    )
    print(f"PostgreSQL {version} ({settings}); {os.cpu_count()} CPUs.")
    span = sql_rows(
        conn,
        "SELECT count(*), min(start_datetime), max(start_datetime), "
        "count(DISTINCT user_id), pg_total_relation_size('call_recording') FROM call_recording",
    )[0]
    print(
        f"call_recording: {span[0]:,} rows from {span[1]:%Y-%m-%d} to {span[2]:%Y-%m-%d}, "
        f"{span[3]} agents, {len(company_ids)} companies, {span[4] / 2**20:,.0f} MiB "
        "with its indexes."
    )
    for name in ("day", "month", "hour"):
        table_name = f"call_recording_rollup_{name}"
        count, size = sql_rows(
            conn, f"SELECT count(*), pg_total_relation_size('{table_name}') FROM {table_name}"
        )[0]
        print(f"{table_name}: {count:,} rows, {size / 2**20:,.1f} MiB with its indexes.")


def run(args, data_dir):
    import odoo  # noqa: PLC0415

    with odoo_registry(DB, data_dir) as registry, contextlib.closing(admin_connection()) as conn:
        people, ids, rebuilt = populate(registry, conn, args)
        results = {}
        print(f"\nLoad average before measuring: {os.getloadavg()[0]:.2f}.")
        for phase in PHASES:
            print(f"Measuring {PHASE_TITLES[phase]}...", flush=True)
            results[phase] = measure(registry, ids["people"], ids["companies"], args.runs, phase)
        print("Measuring what keeping the totals current costs...", flush=True)
        writes, (folded, fold_ms) = write_costs(registry, people, odoo.SUPERUSER_ID)
        print(f"Load average after measuring: {os.getloadavg()[0]:.2f}.")
        print_results(results, args.runs, args.calls)
        print(f"\nRebuilding the totals from {args.calls:,} calls: {rebuilt:.1f} s.")
        print(
            f"\nWrites with the triggers and without, ms (median of {WRITE_ROUNDS}, alternately, "
            "in a transaction rolled back):\n"
        )
        print(
            table(
                ["write", "with (ms)", "without (ms)", "with/without"],
                [[label, f"{w:.1f}", f"{wo:.1f}", f"{w / wo:.2f}"] for label, w, wo in writes],
            )
        )
        print(
            f"\nFolding in the deltas of those writes (the SQL ones cancel out, then the "
            f"1,000 created calls): {folded:,} rows, {fold_ms:.1f} ms."
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="calls to insert")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query")
    parser.add_argument(
        "--outcomes",
        type=float,
        default=0.5,
        metavar="FRACTION",
        help="share of the answered calls with an outcome (default 0.5)",
    )
    parser.add_argument(
        "--heap-order",
        choices=("time", "random"),
        default="time",
        help="physical order of the calls: by start time, as imported (default), or random",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    if args.calls < 10_000 or args.runs < 1 or not 0 <= args.outcomes <= 1:
        parser.error("--calls at least 10000, --runs positive, --outcomes between 0 and 1")

    ensure_odoo_python(__file__)
    started = time.perf_counter()
    print(f"Creating {DB} with call_recording (no demo)...", flush=True)
    with throwaway_database(DB, "crbench_reports_", keep=args.keep) as data_dir:
        run(args, data_dir)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
