"""Call figures rolled up per day, month and hour, kept current by triggers.

Every write to ``call_recording`` (the ORM, the import, the Push API, the
purges, raw SQL) fires a statement trigger that appends signed *deltas*
(+1 for a new or changed call's new version, -1 for a deleted or changed
call's old version) to ``call_recording_rollup_delta``, summed per quarter
of an hour in UTC and per dimension.  Appending never conflicts: two
imports storing calls of the same agent on the same day at once would,
under Odoo's REPEATABLE READ, fail with a serialization error if they both
updated one row of totals.

A cron job folds the deltas into three tables of totals, in the reporting
time zone:

- ``call_recording_rollup_day``: local day x company x agent x sales team
  x line x line number x legal basis x direction x call status;
- ``call_recording_rollup_month``: the same per local month, and per
  outcome;
- ``call_recording_rollup_hour``: local day x hour x company x agent, for
  the busiest hours.

The report (``call.recording.report``) reads a table *and* the deltas not
folded in yet, so its figures are always those of the calls.  ``_rebuild()`` recomputes all of
it from the calls.  The tables, functions and triggers are created by
``init()`` (install and every update) and dropped by the add-on's
uninstall hook.

One file, over 400 lines, on purpose: the SQL of the triggers, of the fold
and of the rebuild describes the same tables and must change together; a
split would put one schema in several places.
"""

# ruff: noqa: S608 - the SQL is built from this module's constant table and
# column names; every value is a query parameter.

import hashlib
import logging
from datetime import datetime

import pytz  # only for a country's time zones (zoneinfo has no such table)

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.base.models.res_partner import _tz_get

from ..lib import zones

_logger = logging.getLogger(__name__)

#: Advisory lock (two keys) held by whoever writes the tables of totals:
#: the cron's folding and a rebuild never run at once.
LOCK_KEY = (0x43525250, 1)  # "CRRP"
#: Delta rows folded per batch (and per commit, in the cron).
FOLD_BATCH = 100_000

DELTA = "call_recording_rollup_delta"
DAY = "call_recording_rollup_day"
MONTH = "call_recording_rollup_month"
HOUR = "call_recording_rollup_hour"
STATE = "call_recording_rollup_state"
FUNCTIONS = {
    "INSERT": "call_recording_rollup_insert",
    "UPDATE": "call_recording_rollup_update",
    "DELETE": "call_recording_rollup_delete",
}

#: Dimensions of the month table (and of the deltas): column, SQL type, and
#: the value that stands for NULL in their unique key (None: the column is
#: NOT NULL on the calls).  Every call rule of the add-on uses only company_id and
#: user_id, which are dimensions: the report copies those rules.
DIMENSIONS = (
    ("company_id", "int4", None),
    ("user_id", "int4", "0"),
    ("team_id", "int4", "0"),
    ("line_id", "int4", "0"),
    ("line_number_e164", "varchar", "''"),
    ("legal_basis", "varchar", "''"),
    ("direction", "varchar", None),
    ("state", "varchar", None),
    ("outcome_id", "int4", "0"),
)
#: Dimensions of the day table: not the outcome, which would double its
#: rows where agents set outcomes (the month table has it).
DAY_DIMENSIONS = tuple(d for d in DIMENSIONS if d[0] != "outcome_id")
#: Dimensions of the hour table.
HOUR_DIMENSIONS = DIMENSIONS[:2]
#: How a call's column is read into a dimension: an empty line number is no
#: line number, as everywhere in the reports.
CALL_COLUMN = {"line_number_e164": "NULLIF({alias}.line_number_e164, '')"}


def _columns(dimensions, alias=None):
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"{prefix}{name}" for name, _type, _null in dimensions)


def _call_columns(dimensions, alias):
    return ", ".join(
        CALL_COLUMN.get(name, f"{{alias}}.{name}").format(alias=alias) + f" AS {name}"
        for name, _type, _null in dimensions
    )


def _key(dimensions, first):
    """The unique key's columns, NULLs replaced (ON CONFLICT needs equal keys)."""
    parts = [first]
    for name, _type, null in dimensions:
        parts.append(name if null is None else f"(COALESCE({name}, {null}))")
    return ", ".join(parts)


def _local(expr, tz_placeholder="%(tz)s"):
    """A UTC timestamp column as a local timestamp in the reporting time zone."""
    return f"(({expr} AT TIME ZONE 'UTC') AT TIME ZONE {tz_placeholder})"


def _utc(day_expr, tz_placeholder="%(tz)s"):
    """The UTC instant at which a local day (a date expression) starts."""
    return f"((({day_expr})::timestamp AT TIME ZONE {tz_placeholder}) AT TIME ZONE 'UTC')"


#: A call's UTC quarter of an hour: every time zone in use today is a whole
#: number of quarters of an hour from UTC, so it falls in one local hour.
BUCKET = (
    "date_trunc('hour', {alias}.start_datetime) "
    "+ floor(date_part('minute', {alias}.start_datetime) / 15) * interval '15 minutes'"
)


def _trigger_body(parts, having=False):
    """Append the signed deltas of transition tables ``parts`` [(table, sign, alias)]."""
    rows = " UNION ALL ".join(
        f"SELECT {sign} AS sign, {BUCKET.format(alias=alias)} AS bucket, "
        f"{_call_columns(DIMENSIONS, alias)}, "
        f"CASE WHEN {alias}.recording_status = 'available' THEN 1 ELSE 0 END AS recorded, "
        f"CASE WHEN {alias}.consent_state = 'refused' THEN 1 ELSE 0 END AS refused, "
        f"COALESCE({alias}.duration, 0) AS duration FROM {table} {alias}"
        for table, sign, alias in parts
    )
    dims = _columns(DIMENSIONS)
    # an UPDATE that changed nothing the figures use (a note, the write
    # date) gives -1 and +1 on the same key: they cancel out and nothing is
    # appended
    condition = (
        """
         HAVING SUM(sign) <> 0 OR SUM(sign * recorded) <> 0 OR SUM(sign * refused) <> 0
             OR SUM(sign * duration) <> 0
             OR MAX(duration) FILTER (WHERE sign > 0) IS DISTINCT FROM
                MAX(duration) FILTER (WHERE sign < 0)"""
        if having
        else ""
    )
    return f"""
BEGIN
    INSERT INTO {DELTA} (bucket, {dims}, call_count, recorded_count, refused_count,
                         duration_sum, duration_max, removed_max)
    SELECT bucket, {dims}, SUM(sign), SUM(sign * recorded), SUM(sign * refused),
           SUM(sign * duration), MAX(duration) FILTER (WHERE sign > 0),
           MAX(duration) FILTER (WHERE sign < 0)
      FROM ({rows}) AS r
     GROUP BY bucket, {dims}{condition};
    RETURN NULL;
END
"""


def _dimension_ddl(dimensions):
    return ", ".join(f"{name} {type_}" for name, type_, _null in dimensions)


def _schema_sql():
    dims = _dimension_ddl(DIMENSIONS)
    day_dims = _dimension_ddl(DAY_DIMENSIONS)
    totals = (
        "call_count int4 NOT NULL, recorded_count int4 NOT NULL, "
        "refused_count int4 NOT NULL, duration_sum int8 NOT NULL, "
        "duration_max int4 NOT NULL DEFAULT 0, max_stale boolean NOT NULL DEFAULT false, "
        # the longest call a fold removes, compared with the row's longest
        "removed_max int4"
    )
    return f"""
CREATE TABLE IF NOT EXISTS {STATE} (
    id int4 PRIMARY KEY CHECK (id = 1),
    tz varchar NOT NULL,
    rebuilt_at timestamp,
    version varchar
);
CREATE TABLE IF NOT EXISTS {DELTA} (
    id bigserial PRIMARY KEY,
    bucket timestamp NOT NULL,
    {dims},
    call_count int4 NOT NULL,
    recorded_count int4 NOT NULL,
    refused_count int4 NOT NULL,
    duration_sum int8 NOT NULL,
    duration_max int4,
    removed_max int4
);
CREATE TABLE IF NOT EXISTS {DAY} (
    id bigserial PRIMARY KEY, day date NOT NULL, {day_dims}, {totals}
);
CREATE UNIQUE INDEX IF NOT EXISTS {DAY}_key ON {DAY} ({_key(DAY_DIMENSIONS, "day")});
CREATE INDEX IF NOT EXISTS {DAY}_stale ON {DAY} (id) WHERE max_stale;
CREATE TABLE IF NOT EXISTS {MONTH} (
    id bigserial PRIMARY KEY, month date NOT NULL, {dims}, {totals}
);
CREATE UNIQUE INDEX IF NOT EXISTS {MONTH}_key ON {MONTH} ({_key(DIMENSIONS, "month")});
CREATE INDEX IF NOT EXISTS {MONTH}_stale ON {MONTH} (id) WHERE max_stale;
CREATE TABLE IF NOT EXISTS {HOUR} (
    id bigserial PRIMARY KEY,
    day date NOT NULL,
    hour int2 NOT NULL,
    {_dimension_ddl(HOUR_DIMENSIONS)},
    call_count int4 NOT NULL,
    duration_sum int8 NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS {HOUR}_key ON {HOUR} ({_key(HOUR_DIMENSIONS, "day, hour")});
"""


#: The tables' layout: init() recreates and refills them when it changed.
SCHEMA_VERSION = hashlib.sha256(_schema_sql().encode()).hexdigest()[:16]


def _triggers_sql():
    bodies = {
        "INSERT": (_trigger_body([("new_rows", 1, "n")]), "NEW TABLE AS new_rows"),
        "DELETE": (_trigger_body([("old_rows", -1, "o")]), "OLD TABLE AS old_rows"),
        "UPDATE": (
            _trigger_body([("old_rows", -1, "o"), ("new_rows", 1, "n")], having=True),
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
    }
    statements = []
    for event, (body, transition) in bodies.items():
        function = FUNCTIONS[event]
        # one function per event: a function naming a transition table the
        # event does not have fails
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $body${body}$body$;"
        )
        statements.append(f"DROP TRIGGER IF EXISTS {function} ON call_recording;")
        statements.append(
            f"CREATE TRIGGER {function} AFTER {event} ON call_recording "
            f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        )
    return "\n".join(statements)


def _upsert(table, date_expr, date_column, *, dimensions, source, totals, update):
    dims = _columns(dimensions)
    return f"""
    INSERT INTO {table} AS r ({date_column}, {dims}, {", ".join(name for name, _e in totals)})
    SELECT {date_expr}, {dims}, {", ".join(expr for _name, expr in totals)}
      FROM {source}
     GROUP BY {date_expr}, {dims}
    ON CONFLICT ({_key(dimensions, date_column)}) DO UPDATE SET {update}
    RETURNING r.id, r.call_count"""


_SUMS = ("call_count", "recorded_count", "refused_count", "duration_sum")
_FOLD_TOTALS = [
    *((name, f"SUM({name})") for name in _SUMS),
    ("duration_max", "COALESCE(MAX(duration_max), 0)"),
    # a call as long as the longest went (deleted, shortened, moved to
    # another key; perhaps added in the same batch): find the longest again
    # afterwards, from the calls
    (
        "max_stale",
        "COALESCE(MAX(removed_max) > 0 AND MAX(removed_max) >= COALESCE(MAX(duration_max), 0), "
        "false)",
    ),
    ("removed_max", "MAX(removed_max)"),
]
_FOLD_UPDATE = ", ".join(
    [
        *(f"{name} = r.{name} + EXCLUDED.{name}" for name in _SUMS),
        "duration_max = GREATEST(r.duration_max, EXCLUDED.duration_max)",
        "max_stale = r.max_stale OR COALESCE(EXCLUDED.removed_max > 0 AND "
        "EXCLUDED.removed_max >= GREATEST(r.duration_max, EXCLUDED.duration_max), false)",
        "removed_max = NULL",
    ]
)
_FOLD = {"source": "loc", "totals": _FOLD_TOTALS, "update": _FOLD_UPDATE}
_HOUR_UPDATE = "call_count = r.call_count + EXCLUDED.call_count, " + (
    "duration_sum = r.duration_sum + EXCLUDED.duration_sum"
)

FOLD_SQL = f"""
WITH moved AS (
    -- the oldest deltas, up to a bound computed once (the table's statistics
    -- are rarely current: an IN (subquery) can turn into a quadratic join)
    DELETE FROM {DELTA}
     WHERE id <= (SELECT COALESCE(MAX(id), 0)
                    FROM (SELECT id FROM {DELTA} ORDER BY id LIMIT %(limit)s) AS batch)
 RETURNING *
), loc AS (
    SELECT {_local("bucket")} AS t, {_columns(DIMENSIONS)},
           call_count, recorded_count, refused_count, duration_sum, duration_max, removed_max
      FROM moved
), days AS ({_upsert(DAY, "t::date", "day", dimensions=DAY_DIMENSIONS, **_FOLD)}
), months AS ({
    _upsert(MONTH, "date_trunc('month', t)::date", "month", dimensions=DIMENSIONS, **_FOLD)
}
), hours AS (
    INSERT INTO {HOUR} AS r (day, hour, {_columns(HOUR_DIMENSIONS)}, call_count, duration_sum)
    SELECT t::date, date_part('hour', t)::int2, {_columns(HOUR_DIMENSIONS)},
           SUM(call_count), SUM(duration_sum)
      FROM loc
     GROUP BY t::date, date_part('hour', t)::int2, {_columns(HOUR_DIMENSIONS)}
    ON CONFLICT ({_key(HOUR_DIMENSIONS, "day, hour")}) DO UPDATE SET {_HOUR_UPDATE}
    RETURNING r.id, r.call_count
)
SELECT (SELECT count(*) FROM moved),
       ARRAY(SELECT id FROM days WHERE call_count = 0),
       ARRAY(SELECT id FROM months WHERE call_count = 0),
       ARRAY(SELECT id FROM hours WHERE call_count = 0)
"""


def _longest_sql(table, column, dimensions, period, following):
    """Find again the longest call of the rows of ``table`` marked stale.

    From the calls of their periods only (through the index on the start):
    ``period`` is a call's period from its local start ``{l}``, ``following``
    the start of the period after ``s.<column>``.  The rows and what was
    found are matched by grouping, not joined: the planner cannot know how
    many rows are stale, and a nested loop over both is quadratic.
    """
    dims = _columns(dimensions)
    positions = ", ".join(str(i + 2) for i in range(len(dimensions)))
    return f"""
WITH stale AS (
    SELECT id, {column}, {dims} FROM {table} WHERE max_stale
), found AS (
    SELECT {period.format(l=_local("c.start_datetime"))} AS {column},
           {_call_columns(dimensions, "c")},
           MAX(COALESCE(c.duration, 0)) AS longest, NULL::int8 AS id
      FROM (SELECT DISTINCT {column} FROM stale) AS s
      JOIN call_recording c
        ON c.start_datetime >= {_utc(f"s.{column}")}
       AND c.start_datetime < {_utc(following)}
     GROUP BY 1, {positions}
    UNION ALL
    SELECT {column}, {dims}, NULL, id FROM stale
), merged AS (
    SELECT MAX(id) AS id, MAX(longest) AS longest
      FROM found
     GROUP BY {column}, {dims}
    HAVING MAX(id) IS NOT NULL
)
UPDATE {table} AS r
   SET duration_max = COALESCE(merged.longest, 0), max_stale = false, removed_max = NULL
  FROM merged
 WHERE r.id = merged.id
"""


DAY_LONGEST_SQL = _longest_sql(DAY, "day", DAY_DIMENSIONS, "{l}::date", "s.day + 1")
MONTH_LONGEST_SQL = _longest_sql(
    MONTH,
    "month",
    DIMENSIONS,
    "date_trunc('month', {l})::date",
    "(s.month + interval '1 month')::date",
)


#: Every total from the calls: one pass per local day and every dimension
#: (outcome included), summed up into the day and the month tables; one pass
#: per hour.
REBUILD_SQL = f"""
DELETE FROM {DELTA};
DELETE FROM {DAY};
DELETE FROM {MONTH};
DELETE FROM {HOUR};
WITH base AS MATERIALIZED (
    SELECT {_local("c.start_datetime")}::date AS day, {_call_columns(DIMENSIONS, "c")},
           count(*) AS call_count,
           count(*) FILTER (WHERE c.recording_status = 'available') AS recorded_count,
           count(*) FILTER (WHERE c.consent_state = 'refused') AS refused_count,
           COALESCE(SUM(c.duration), 0) AS duration_sum,
           COALESCE(MAX(c.duration), 0) AS duration_max
      FROM call_recording c
     GROUP BY 1, {", ".join(str(i + 2) for i in range(len(DIMENSIONS)))}
), days AS (
    INSERT INTO {DAY} (day, {_columns(DAY_DIMENSIONS)}, {", ".join(_SUMS)}, duration_max)
    SELECT day, {_columns(DAY_DIMENSIONS)}, {", ".join(f"SUM({n})" for n in _SUMS)},
           MAX(duration_max)
      FROM base
     GROUP BY day, {_columns(DAY_DIMENSIONS)}
)
INSERT INTO {MONTH} (month, {_columns(DIMENSIONS)}, {", ".join(_SUMS)}, duration_max)
SELECT date_trunc('month', day)::date, {_columns(DIMENSIONS)},
       {", ".join(f"SUM({n})" for n in _SUMS)}, MAX(duration_max)
  FROM base
 GROUP BY 1, {_columns(DIMENSIONS)};
INSERT INTO {HOUR} (day, hour, {_columns(HOUR_DIMENSIONS)}, call_count, duration_sum)
SELECT l::date, date_part('hour', l)::int2, {_columns(HOUR_DIMENSIONS)}, count(*),
       COALESCE(SUM(duration), 0)
  FROM (SELECT {_local("start_datetime")} AS l, {_columns(HOUR_DIMENSIONS)}, duration
          FROM call_recording) AS c
 GROUP BY 1, 2, {_columns(HOUR_DIMENSIONS)};
"""


class CallRecordingReportRollup(models.AbstractModel):
    """The tables of totals behind the call analysis and the dashboard."""

    _name = "call.recording.report.rollup"
    _description = "Call Report Totals"

    # ------------------------------------------------------------------
    # Schema: created on install and every update, dropped on uninstall
    # ------------------------------------------------------------------

    def init(self):
        cr = self.env.cr
        state = self._state()
        if state and state.get("version") == SCHEMA_VERSION:
            cr.execute(SQL(_triggers_sql()))  # the same tables: the latest triggers
            return
        # first install, an update from a version without the totals or with
        # other tables: (re)create them and count the calls already there
        self._drop()
        cr.execute(SQL(_schema_sql()))
        cr.execute(SQL(_triggers_sql()))
        self._rebuild((state or {}).get("tz") or self._default_tz())

    def _state(self):
        """The totals' state row (time zone, version), or None before they exist."""
        cr = self.env.cr
        cr.execute("SELECT to_regclass(%s)", [STATE])
        if cr.fetchone()[0] is None:
            return None
        cr.execute(SQL("SELECT * FROM %s WHERE id = 1", SQL.identifier(STATE)))
        return cr.dictfetchone()

    @api.model
    def _default_tz(self):
        """The reporting time zone on install: the administrator's, else the
        main company's country's only one, else UTC."""
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        if admin and zones.is_zone(admin.tz):
            return admin.tz
        country = self.env.ref("base.main_company").country_id
        country_zones = pytz.country_timezones.get(country.code, []) if country else []
        return country_zones[0] if len(country_zones) == 1 else "UTC"

    @api.model
    def _drop(self):
        """Remove the triggers, functions and tables (the uninstall hook)."""
        cr = self.env.cr
        for function in FUNCTIONS.values():
            name = SQL.identifier(function)
            cr.execute(SQL("DROP TRIGGER IF EXISTS %s ON call_recording", name))
            cr.execute(SQL("DROP FUNCTION IF EXISTS %s()", name))
        for table in (DELTA, DAY, MONTH, HOUR, STATE):
            cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(table)))

    # ------------------------------------------------------------------
    # Time zone
    # ------------------------------------------------------------------

    @api.model
    def _tz(self):
        """The time zone the totals are counted in (days, months, hours)."""
        self.env.cr.execute(SQL("SELECT tz FROM %s WHERE id = 1", SQL.identifier(STATE)))
        row = self.env.cr.fetchone()
        return row[0] if row else "UTC"

    @api.model
    def _set_tz(self, tz):
        """Count the totals in another time zone: rebuilds them."""
        if not zones.is_zone(tz):
            raise UserError(self.env._("Unknown time zone: %(tz)s", tz=tz))
        if tz != self._tz():
            self._rebuild(tz)

    # ------------------------------------------------------------------
    # Folding the deltas in, rebuilding
    # ------------------------------------------------------------------

    def _lock(self, wait):
        function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        self.env.cr.execute(SQL(f"SELECT {function}(%s, %s)", *LOCK_KEY))
        return wait or self.env.cr.fetchone()[0]

    @api.model
    def _fold(self, limit=FOLD_BATCH):
        """Fold up to ``limit`` deltas into the totals; return how many.

        Nothing if a rebuild or another fold holds the lock.  Totals that
        reach zero calls are removed, and the longest call is found again
        where it went.
        """
        self.env.flush_all()  # this transaction's own writes first
        if not self._lock(wait=False):
            return 0
        cr = self.env.cr
        tz = self._tz()
        cr.execute(SQL(FOLD_SQL, tz=tz, limit=limit))
        moved, *empty = cr.fetchone()
        for table, ids in zip((DAY, MONTH, HOUR), empty, strict=True):
            if ids:
                cr.execute(
                    SQL(
                        "DELETE FROM %s WHERE id = ANY(%s) AND call_count = 0",
                        SQL.identifier(table),
                        ids,
                    )
                )
        cr.execute(SQL(DAY_LONGEST_SQL, tz=tz))
        cr.execute(SQL(MONTH_LONGEST_SQL, tz=tz))
        return moved

    @api.model
    def _cron_fold(self):
        """Cron: fold every delta in, a batch per commit."""
        Cron = self.env["ir.cron"]
        self.env.cr.execute(SQL("SELECT count(*) FROM %s", SQL.identifier(DELTA)))
        Cron._commit_progress(remaining=self.env.cr.fetchone()[0])
        while moved := self._fold():
            if Cron._commit_progress(moved) <= 0:
                return

    @api.model
    def _rebuild(self, tz=None):
        """Recompute every total from the calls, in ``tz`` (default: as now).

        Waits for a fold in progress.  MVCC-safe: the deltas deleted are the
        ones this transaction sees, whose calls the totals are computed
        from; calls written meanwhile by others keep their deltas.
        """
        tz = tz or self._tz()
        if not zones.is_zone(tz):
            raise UserError(self.env._("Unknown time zone: %(tz)s", tz=tz))
        self.env.flush_all()
        self._lock(wait=True)
        cr = self.env.cr
        started = datetime.now()
        cr.execute(SQL(REBUILD_SQL, tz=tz))
        cr.execute(
            SQL(
                "INSERT INTO %s (id, tz, rebuilt_at, version) VALUES (1, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET tz = EXCLUDED.tz, "
                "rebuilt_at = EXCLUDED.rebuilt_at, version = EXCLUDED.version",
                SQL.identifier(STATE),
                tz,
                fields.Datetime.now(),
                SCHEMA_VERSION,
            )
        )
        for table in (DAY, MONTH, HOUR):
            cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))
        _logger.info(
            "Call report totals rebuilt in %s (%.1f s)",
            tz,
            (datetime.now() - started).total_seconds(),
        )

    @api.model
    def action_rebuild(self):
        """Rebuild the report's totals from the calls (call recording administrators)."""
        if not (
            self.env.is_system()
            or self.env.user.has_group("call_recording.group_call_recording_admin")
        ):
            raise AccessError(
                self.env._("Only call recording administrators may rebuild the report figures.")
            )
        self._rebuild()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("The report figures were recomputed from the calls."),
            },
        }


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    call_recording_report_tz = fields.Selection(
        _tz_get,
        string="Reporting Time Zone",
        help="The dashboard and the call analysis count days, months and hours in "
        "this time zone, from totals kept per day. A user whose own time zone is "
        "another gets figures counted from the calls in theirs, which is slower on "
        "large databases. Changing it recomputes the totals.",
    )

    @api.model
    def get_values(self):
        res = super().get_values()
        res["call_recording_report_tz"] = self.env["call.recording.report.rollup"]._tz()
        return res

    def set_values(self):
        res = super().set_values()
        if self.call_recording_report_tz:
            self.env["call.recording.report.rollup"]._set_tz(self.call_recording_report_tz)
        return res

    def action_call_recording_rebuild_reports(self):
        return self.env["call.recording.report.rollup"].action_rebuild()
