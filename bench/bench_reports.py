#!/usr/bin/env python3
"""Time the dashboard's grouped queries on 1,000,000 calls, with and without indexes.

Creates a throw-away database ``crbench_reports`` with ``call_recording``
(no demo data), two companies with their recorded lines, 20 agents and a
manager, and inserts the calls in one ``INSERT ... SELECT FROM
generate_series`` (indexes and foreign keys dropped meanwhile, rebuilt
after): three years of calls in start time order, as an import writes
them, with random direction, outcome, duration, agent and line.  Then, as
the manager (record rules applied, time zone Europe/Budapest, both
companies enabled), it times through the ORM:

(a) ``call.recording.report._read_group`` by month x agent, all data;
(b) the same over one month;
(c) by weekday x hour over one quarter;
(d) the same over all data;
(e) ``get_dashboard_data('month', 0)`` and ``get_dashboard_data('year', 0)``;

each warmed up once then run 5 times (median, ORM cache invalidated before
each run), and EXPLAINs the SQL the ORM generated.  It does so three times
in the same run: with the add-on's indexes, without them (every non-unique
index of ``call_recording`` dropped), and with them plus a covering index
on the start time that allows index-only scans; for the latter it also
times single statements as the planner chose and as planned with only the
covering index left.  The database and its data directory are dropped at
the end, also on failure.

Whether the planner uses the covering index depends on how well the rows'
physical order follows their start time: ``--heap-order random`` inserts
them in random order, ``--moved 0.3`` updates 30 % of them at random after
the insert (as later downloads, consents and purges do), which moves them
to the end of the table.

Usage: bench/bench_reports.py [--calls N] [--runs N] [--heap-order time|random]
                              [--moved FRACTION] [--keep]
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, install, odoo_args  # noqa: E402

DB = "crbench_reports"
TZ = "Europe/Budapest"
DAYS = 3 * 365 + 1
AGENTS = 20
MAIN_AGENTS = 12  # of the 20 in the main company, the others in the second one
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
#: The covering index measured as the third variant, named as Odoo names a
#: ``models.Index`` declared as ``_start_report_idx`` on ``call.recording``.
COVERING_NAME = "call_recording_start_report_idx"
COVERING_DEF = (
    "(start_datetime) INCLUDE (company_id, user_id, duration, state, direction, "
    "recording_status, line_number_e164, line_id, consent_state)"
)
#: work_mem tried on (a), whose 1,000,000-row sort spills to disk at 4MB.
WORK_MEM = "64MB"
PHASES = ("with", "without", "covering")
PHASE_TITLES = {
    "with": "with indexes",
    "without": "without",
    "covering": "+ covering",
}
#: Statements that read call_recording (not call_recording_request, ...).
TABLE_RE = re.compile(r"\bcall_recording\b")
SCAN_RE = re.compile(
    r"(?P<node>(?:Parallel )?(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan"
    r"|Bitmap Index Scan))(?: Backward)?(?: using (?P<index>\S+))? on (?P<rel>\S+)"
)


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
    """Two companies, their recorded lines, 20 agents split 12/8, and the manager."""
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
    env.flush_all()
    return main | second, lines, agents, manager


#: Columns the INSERT below fills; every NOT NULL column must be among them.
INSERT_COLUMNS = (
    "name, company_id, user_id, direction, state, start_datetime, duration, duration_minutes, "
    "caller_number, callee_number, caller_number_e164, callee_number_e164, "
    "external_number, external_number_e164, line_number, line_number_e164, "
    "recording_status, partner_match, partner_match_count, audio_size, "
    "line_id, legal_basis, retention_date, metadata_retention_date, "
    "consent_state, consent_user_id, consent_date, consent_source, "
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


def insert_calls(cr, calls, companies, lines, agents, *, uid, chronological=True):
    """Insert the calls in one statement; return the seconds it took."""
    from odoo.tools import SQL  # noqa: PLC0415

    check_required_columns(cr)
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
    """Record the statements a cursor executes, to EXPLAIN them afterwards."""

    def __init__(self, cr):
        self.cr = cr
        self.statements = []
        self.active = False
        self._execute = cr.execute

    def __enter__(self):
        def execute(query, params=None, log_exceptions=True):
            if self.active:
                self.statements.append((query, params))
            return self._execute(query, params, log_exceptions)

        self.cr.execute = execute
        return self

    def __exit__(self, *exc):
        del self.cr.execute

    def capture(self, func):
        self.statements = []
        self.active = True
        try:
            func()
        finally:
            self.active = False
        return [
            (query, params)
            for query, params in self.statements
            if TABLE_RE.search(str(getattr(query, "code", query)))
        ]


def explain(cr, query, params, analyze):
    from odoo.tools import SQL  # noqa: PLC0415

    options = "ANALYZE, BUFFERS" if analyze else "COSTS OFF"
    if isinstance(query, SQL):
        cr.execute(SQL(f"EXPLAIN ({options}) %s", query))
    else:
        cr.execute(f"EXPLAIN ({options}) {query}", params)
    return [row[0] for row in cr.fetchall()]


def scans(plan):
    """Scan nodes on call_recording: [(node, index or None)]."""
    found = []
    for line in plan:
        match = SCAN_RE.search(line)
        if not match:
            continue
        node, index, rel = match["node"], match["index"], match["rel"]
        if node.endswith("Bitmap Index Scan"):
            index = rel  # "Bitmap Index Scan on <index>"
        if rel.startswith("call_recording") or (index or "").startswith("call_recording"):
            found.append((node, index))
    return found


def scan_summary(plan):
    parts = []
    for node, index in scans(plan):
        text = f"{node} {index}" if index else node
        if text not in parts:
            parts.append(text)
    return "; ".join(parts) or "?"


def uses_index(plan):
    return any("Index" in node for node, _index in scans(plan))


def execution_ms(plan):
    for line in plan:
        match = re.search(r"Execution Time: ([\d.]+) ms", line)
        if match:
            return float(match[1])
    return None


def time_statement(cr, query, repeat=5):
    """Median milliseconds of executing and fetching one statement."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        cr.execute(query)
        cr.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def forced_index_only(cr, query, hide):
    """The statement as planned, and as planned when the indexes ``hide`` are
    dropped (in a savepoint rolled back), which leaves it the covering index:
    median milliseconds and scan nodes of each."""
    chosen_ms = time_statement(cr, query)
    chosen = explain(cr, query, None, analyze=False)
    cr.execute("SAVEPOINT bench_forced")
    try:
        for name in hide:
            cr.execute(f'DROP INDEX "{name}"')
        forced_ms = time_statement(cr, query)
        forced = explain(cr, query, None, analyze=False)
    finally:
        cr.execute("ROLLBACK TO SAVEPOINT bench_forced")
        cr.execute("RELEASE SAVEPOINT bench_forced")
    return {
        "chosen_ms": chosen_ms,
        "chosen": scan_summary(chosen),
        "forced_ms": forced_ms,
        "forced": scan_summary(forced),
    }


def with_work_mem(cr, query, work_mem):
    """Median milliseconds of the statement with another work_mem, and its plan."""
    cr.execute("SAVEPOINT bench_work_mem")
    try:
        cr.execute(f"SET LOCAL work_mem = '{work_mem}'")
        took = time_statement(cr, query, repeat=3)
        plan = explain(cr, query, None, analyze=False)
    finally:
        cr.execute("ROLLBACK TO SAVEPOINT bench_work_mem")
        cr.execute("RELEASE SAVEPOINT bench_work_mem")
    return took, plan


def measure(registry, manager_id, company_ids, runs, hide=()):
    """Time every query as the manager; return {key: result dict}.

    With ``hide``, also compare, for the statement of (b) and the KPIs of
    (e1) and (e2), the planner's plan with the one it makes without the
    indexes ``hide``.
    """
    from odoo import api  # noqa: PLC0415

    results = {}
    with registry.cursor() as cr, Recorder(cr) as recorder:
        context = {"tz": TZ, "lang": "en_US", "allowed_company_ids": company_ids}
        env = api.Environment(cr, manager_id, context)
        report = env["call.recording.report"]
        month = report._utc_bounds(*report._period_bounds("month", 1))
        quarter = report._period_bounds("quarter", 1)
        quarter_utc = report._utc_bounds(*quarter)

        def period(bounds):
            return [("start_datetime", ">=", bounds[0]), ("start_datetime", "<", bounds[1])]

        by_month_agent = (["start_datetime:month", "user_id"], ["__count", "duration_minutes:sum"])
        heat = (["start_datetime:day_of_week", "start_datetime:hour_number"], ["__count"])
        queries = [
            ("a", "month x agent, all data", lambda: report._read_group([], *by_month_agent)),
            (
                "b",
                f"month x agent, {month[0]:%Y-%m} (1 month)",
                lambda: report._read_group(period(month), *by_month_agent),
            ),
            (
                "c",
                f"weekday x hour, {quarter[0]:%Y-%m}..{quarter[1] - timedelta(days=1):%Y-%m} "
                "(1 quarter)",
                lambda: report._read_group(period(quarter_utc), *heat),
            ),
            ("d", "weekday x hour, all data", lambda: report._read_group([], *heat)),
            ("e1", "get_dashboard_data('month', 0)", lambda: report.get_dashboard_data("month", 0)),
            ("e2", "get_dashboard_data('year', 0)", lambda: report.get_dashboard_data("year", 0)),
        ]
        for key, label, func in queries:
            env.invalidate_all()
            statements = recorder.capture(func)  # warm-up, and the SQL it runs
            rows = func()
            times = []
            for _ in range(runs):
                env.invalidate_all()
                started = time.perf_counter()
                func()
                times.append((time.perf_counter() - started) * 1000)
            result = {
                "label": label,
                "ms": statistics.median(times),
                "times": times,
                "groups": len(rows) if isinstance(rows, list) else None,
                "statements": len(statements),
            }
            if len(statements) == 1:
                query, params = statements[0]
                plans = [explain(cr, query, params, analyze=True)]
                result["plan"] = plans[0]
                result["sql"] = str(getattr(query, "code", query))
            else:
                plans = [explain(cr, query, params, analyze=False) for query, params in statements]
            result["index_use"] = sum(uses_index(p) for p in plans), len(plans)
            result["scans"] = "; ".join(dict.fromkeys(scan_summary(p) for p in plans))
            if hide and key == "a":
                result["work_mem"] = with_work_mem(cr, statements[0][0], WORK_MEM)
            if hide and key in ("b", "e1", "e2"):
                # (b) itself; the KPIs of the period, first statement of (e)
                result["forced"] = forced_index_only(cr, statements[0][0], hide)
            results[key] = result
        cr.rollback()
    return results


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


def print_results(results, runs):
    keys = list(results["with"])
    rows = []
    for key in keys:
        ms = {phase: results[phase][key]["ms"] for phase in PHASES}
        rows.append(
            [
                f"({key}) {results['with'][key]['label']}",
                f"{ms['with']:.1f}",
                f"{ms['without']:.1f}",
                f"{ms['without'] / ms['with']:.2f}x",
                f"{ms['covering']:.1f}",
                f"{ms['with'] / ms['covering']:.2f}x",
            ]
        )
    print(f"\nMedian of {runs} runs after one warm-up, milliseconds, as the manager:\n")
    print(
        table(
            [
                "query",
                "with indexes (ms)",
                "without (ms)",
                "without/with",
                "+ covering (ms)",
                "with/covering",
            ],
            rows,
        )
    )
    rows = [
        [f"({key})", *(f"{min(results[phase][key]['times']):.1f}" for phase in PHASES)]
        for key in keys
    ]
    print(f"\nFastest of the {runs} runs, ms (less sensitive to other load on the machine):\n")
    print(table(["query", *(PHASE_TITLES[p] for p in PHASES)], rows))
    rows = []
    for key in keys:
        row = [f"({key})"]
        for phase in PHASES:
            used, total = results[phase][key]["index_use"]
            row.append(("yes" if used else "no") if total == 1 else f"{used}/{total} queries")
        rows.append(row)
    print("\nDid the plan use an index on call_recording?\n")
    print(table(["query", *(PHASE_TITLES[p] for p in PHASES)], rows))
    print("\nScan nodes on call_recording:\n")
    for key in keys:
        for phase in PHASES:
            print(f"  ({key}) {PHASE_TITLES[phase]:13} {results[phase][key]['scans']}")
    print(
        "\nGroups returned: "
        + ", ".join(
            f"({k}) {results['with'][k]['groups']}" for k in keys if results["with"][k]["groups"]
        )
    )
    print(
        "SQL statements on call_recording per call: "
        + ", ".join(f"({k}) {results['with'][k]['statements']}" for k in keys)
    )
    forced = [(k, r["forced"]) for k, r in results["covering"].items() if "forced" in r]
    if forced:
        print(
            "\nWith the covering index, single statements: as planned vs as planned when "
            "the covering index is the only non-unique index left (the others dropped in a "
            "savepoint rolled back); median of 5, ms:\n"
        )
        rows = [
            [
                f"({key})" + (" KPIs" if key.startswith("e") else ""),
                f"{f['chosen_ms']:.1f}",
                f["chosen"],
                f"{f['forced_ms']:.1f}",
                f["forced"],
            ]
            for key, f in forced
        ]
        print(table(["statement", "planner (ms)", "plan", "forced (ms)", "forced plan"], rows))
    if "work_mem" in results["covering"]["a"]:
        took, plan = results["covering"]["a"]["work_mem"]
        top = plan[0].strip().split("  ")[0]
        print(
            f"\n(a)'s statement with work_mem={WORK_MEM} instead of the server's: "
            f"{took:.1f} ms ({top}, {scan_summary(plan)})."
        )
    for key in ("a", "b", "c", "d"):
        print(f"\nSQL of ({key}) as generated by the ORM:\n  {results['with'][key]['sql']}")
        for phase in PHASES:
            print(f"\nEXPLAIN (ANALYZE, BUFFERS) of ({key}), {PHASE_TITLES[phase]}:")
            for line in results[phase][key]["plan"]:
                print("  " + line)


# ----------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------


def populate(registry, conn, args):
    """People, lines and calls, then the indexes; return (company ids, manager id)."""
    import odoo  # noqa: PLC0415
    from odoo import api  # noqa: PLC0415

    indexes = droppable_indexes(conn)
    # A faster insert: no index to maintain and no foreign key checked row
    # by row; both are rebuilt right after, as they were.
    foreign_keys = sql_rows(
        conn,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'call_recording'::regclass AND contype = 'f' ORDER BY conname",
    )
    drop_indexes(conn, indexes)
    for name, _definition in foreign_keys:
        sql_run(conn, f'ALTER TABLE call_recording DROP CONSTRAINT "{name}"')
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        companies, lines, agents, manager = create_people(env)
        cr.execute("SET LOCAL work_mem = '256MB'")  # sort the rows in memory
        took = insert_calls(
            cr,
            args.calls,
            companies,
            lines,
            agents,
            uid=odoo.SUPERUSER_ID,
            chronological=args.heap_order == "time",
        )
        company_ids, manager_id = companies.ids, manager.id
    print(
        f"Inserted {args.calls:,} calls in {took:.1f} s "
        f"(heap in {'start time' if args.heap_order == 'time' else 'random'} order)."
    )
    if args.moved:
        # Later writes (download, consent, purge) on random calls: their new
        # versions go to the end of the table, out of start time order.  Done
        # before the indexes are built, so that they are as compact in every
        # phase of the measurements.
        started = time.perf_counter()
        sql_run(
            conn,
            "UPDATE call_recording SET write_date = write_date + interval '1 second' "
            "WHERE random() < %s",
            (args.moved,),
        )
        print(
            f"Updated {args.moved:.0%} of the calls at random in "
            f"{time.perf_counter() - started:.1f} s."
        )
    started = time.perf_counter()
    for name, definition in foreign_keys:
        sql_run(conn, f'ALTER TABLE call_recording ADD CONSTRAINT "{name}" {definition}')
    built = create_indexes(conn, indexes)
    print(
        f"Added {len(foreign_keys)} foreign keys and built {len(built)} indexes "
        f"in {time.perf_counter() - started:.1f} s."
    )
    started = time.perf_counter()
    sql_run(conn, "VACUUM (ANALYZE) call_recording")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s.")
    print_setup(conn, company_ids)
    return company_ids, manager_id


def run(args, data_dir):
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-d", DB, *odoo_args(data_dir)], setup_logging=True)
    registry = Registry(DB)
    conn = admin_connection()
    try:
        company_ids, manager_id = populate(registry, conn, args)
        indexes = droppable_indexes(conn)

        results = {}
        print(f"\nLoad average before measuring: {os.getloadavg()[0]:.2f}.")
        print("Measuring with the add-on's indexes...", flush=True)
        results["with"] = measure(registry, manager_id, company_ids, args.runs)

        names = ", ".join(name for name, _d, _c in indexes)
        print(f"Dropping {len(indexes)} indexes: {names}; measuring without...", flush=True)
        drop_indexes(conn, indexes)
        sql_run(conn, "ANALYZE call_recording")
        results["without"] = measure(registry, manager_id, company_ids, args.runs)

        print("Recreating them, adding the covering index; measuring...", flush=True)
        create_indexes(conn, indexes)
        started = time.perf_counter()
        sql_run(conn, f"CREATE INDEX {COVERING_NAME} ON call_recording {COVERING_DEF}")
        covering_s = time.perf_counter() - started
        sql_run(conn, "ANALYZE call_recording")
        results["covering"] = measure(
            registry, manager_id, company_ids, args.runs, hide=[name for name, _d, _c in indexes]
        )
        sizes = dict(index_sizes(conn))
        print(
            f"Covering index {COVERING_NAME} {COVERING_DEF}: built in {covering_s:.1f} s, "
            f"{sizes[COVERING_NAME] / 2**20:.0f} MiB."
        )
        sql_run(conn, f"DROP INDEX {COVERING_NAME}")
        print(f"Load average after measuring: {os.getloadavg()[0]:.2f}.")
        print_results(results, args.runs)
    finally:
        conn.close()
        odoo.sql_db.close_db(DB)
        Registry.delete(DB)


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
        "count(DISTINCT user_id), pg_relation_size('call_recording') FROM call_recording",
    )[0]
    print(
        f"call_recording: {span[0]:,} rows from {span[1]:%Y-%m-%d} to {span[2]:%Y-%m-%d}, "
        f"{span[3]} agents, {len(company_ids)} companies, heap {span[4] / 2**20:.0f} MiB."
    )
    correlation = sql_value(
        conn,
        "SELECT correlation FROM pg_stats "
        "WHERE tablename = 'call_recording' AND attname = 'start_datetime'",
    )
    print(f"Correlation of start_datetime with the physical order (pg_stats): {correlation:.3f}")
    print(
        "Indexes: "
        + ", ".join(f"{name} {size / 2**20:.0f} MiB" for name, size in index_sizes(conn))
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls to insert")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query")
    parser.add_argument(
        "--heap-order",
        choices=("time", "random"),
        default="time",
        help="physical order of the calls: by start time, as imported (default), or random",
    )
    parser.add_argument(
        "--moved",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="update this fraction of the calls at random after the insert, which moves "
        "them out of start time order (default 0)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    if args.calls < 1 or args.runs < 1 or not 0 <= args.moved <= 1:
        parser.error("--calls and --runs must be positive, --moved between 0 and 1")

    ensure_odoo_python(__file__)
    devenv.ensure_postgres()
    data_dir = tempfile.mkdtemp(prefix="crbench_reports_")
    started = time.perf_counter()
    try:
        print(f"Creating {DB} with call_recording (no demo)...", flush=True)
        install(DB, data_dir)
        print(f"Installed in {time.perf_counter() - started:.0f} s.", flush=True)
        run(args, data_dir)
    finally:
        if not args.keep:
            devenv.drop_database(DB)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
