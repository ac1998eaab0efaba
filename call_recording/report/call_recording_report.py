"""The call analysis and the managers' dashboard (``call.recording.report``).

One file, over 400 lines, on purpose: which source answers a query (the
calls or a table of totals), how a domain and a grouping are rewritten for
it, and the dashboard built on those queries are one algorithm; split, each
part would need the others' column tables to be read.
"""

# ruff: noqa: S608 - the views' SQL is built from this module's constant table and
# column names; every value is a query parameter.

import re
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.orm.domains import DomainAnd
from odoo.orm.models import parse_read_group_spec
from odoo.tools import SQL

from ..lib import phone as phone_lib
from ..lib import zones
from ..models.call_recording import CALL_STATES, DIRECTIONS
from ..models.call_recording_line import RECORDING_POLICIES
from . import call_recording_report_rollup as rollup

#: Call outcomes counted as "missed" in the reports.
MISSED_STATES = ("missed", "busy", "failed", "voicemail")
PERIODS = ("week", "month", "quarter", "year")
#: The dashboard's KPIs, in the order _kpi_figures reads them.
KPI_AGGREGATES = [
    "__count",
    "answered_count:sum",
    "missed_count:sum",
    "recorded_count:sum",
    "duration_minutes:sum",
    "duration_avg:avg",
    "duration_max:max",
]
#: ... and what its splits per agent, line and direction add.
DASHBOARD_AGGREGATES = [*KPI_AGGREGATES, "consent_refused_count:sum"]
#: ISO day of week (PostgreSQL ``isodow``) and its name.
WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("7", "Sunday"),
]

#: What the report reads while the server builds one grouped query: None
#: (one row per call), or a table of totals.  Set by the server around its
#: own call, never taken from the client (a context key would be).
_SOURCE = ContextVar("call_recording_report_source", default=None)
#: Set by ``calls_only()``: every query reads the calls (tests, benchmarks).
_CALLS_ONLY = ContextVar("call_recording_report_calls_only", default=False)


@contextmanager
def calls_only():
    """Within this block the report reads the calls one by one, never the totals."""
    token = _CALLS_ONLY.set(True)
    try:
        yield
    finally:
        _CALLS_ONLY.reset(token)


#: Fields a table of totals has: what a grouped query may group by, filter
#: on, and what a record rule may use.
DAY_FIELDS = frozenset(
    {
        "date",
        "weekday",
        "company_id",
        "user_id",
        "team_id",
        "line_id",
        "line_number_e164",
        "legal_basis",
        "direction",
        "state",
    }
)
#: The month table has the outcome too.
MONTH_FIELDS = DAY_FIELDS | {"outcome_id"}
HOUR_FIELDS = frozenset({"date", "hour", "weekday", "company_id", "user_id"})
#: The figures each table has.
DAY_AGGREGATES = frozenset(
    {
        "__count",
        "call_count:sum",
        "answered_count:sum",
        "missed_count:sum",
        "recorded_count:sum",
        "consent_refused_count:sum",
        "duration_minutes:sum",
        "duration_avg:avg",
        "duration_max:max",
    }
)
HOUR_AGGREGATES = frozenset(
    {"__count", "call_count:sum", "duration_minutes:sum", "duration_avg:avg"}
)
#: Groupings of the day that the month table answers.
MONTH_GRANULARITIES = frozenset(
    {"month", "quarter", "year", "month_number", "quarter_number", "year_number"}
)
#: Columns of every source, in this order (UNION ALL needs one order).
COLUMNS = (
    "id",
    "call_id",
    "start_datetime",
    "date",
    "hour",
    "weekday",
    "user_id",
    "company_id",
    "partner_id",
    "commercial_partner_id",
    "line_number_e164",
    "line_id",
    "legal_basis",
    "direction",
    "state",
    "outcome_id",
    "team_id",
    "call_count",
    "answered_count",
    "missed_count",
    "recorded_count",
    "consent_refused_count",
    "duration_minutes",
    "duration_avg",
    "duration_max",
)
#: What a table of totals does not have.
NO_VALUE = {
    "call_id": "NULL::int4",
    "start_datetime": "NULL::timestamp",
    "hour": "NULL::int4",
    "weekday": "NULL::varchar",
    "partner_id": "NULL::int4",
    "commercial_partner_id": "NULL::int4",
    "line_number_e164": "NULL::varchar",
    "line_id": "NULL::int4",
    "legal_basis": "NULL::varchar",
    "direction": "NULL::varchar",
    "state": "NULL::varchar",
    "outcome_id": "NULL::int4",
    "team_id": "NULL::int4",
    "answered_count": "NULL::int4",
    "missed_count": "NULL::int4",
    "recorded_count": "NULL::int4",
    "consent_refused_count": "NULL::int4",
    "duration_max": "NULL::numeric",
}
ORDER_TERM_RE = re.compile(r"^\s*(\S+)(\s+(asc|desc))?(\s+nulls\s+(first|last))?\s*$", re.I)


def _as_date(value):
    """A domain value as a date, or None when it is not plainly one."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return fields.Date.to_date(value)
        except ValueError:
            return None
    return None


def _select(values):
    """SELECT list of the report's columns from {column: SQL expression}."""
    return ",\n       ".join(f"{values.get(c, NO_VALUE.get(c))} AS {c}" for c in COLUMNS)


def _totals_columns(alias, date_expr, weekday=True, dimensions=rollup.DIMENSIONS):
    """Columns of the day or month table (or of the deltas, by day)."""
    missed = ", ".join(f"'{s}'" for s in MISSED_STATES)
    values = {
        "id": f"{alias}.id",
        "date": date_expr,
        "weekday": f"EXTRACT(ISODOW FROM {date_expr})::int::varchar",
        "call_count": f"{alias}.call_count",
        "answered_count": f"CASE WHEN {alias}.state = 'answered' THEN {alias}.call_count "
        "ELSE 0 END",
        "missed_count": f"CASE WHEN {alias}.state IN ({missed}) THEN {alias}.call_count ELSE 0 END",
        "recorded_count": f"{alias}.recorded_count",
        "consent_refused_count": f"{alias}.refused_count",
        "duration_minutes": f"{alias}.duration_sum / 60.0",
        "duration_avg": f"{alias}.duration_sum / 60.0",
        "duration_max": f"{alias}.duration_max / 60.0",
    }
    values.update((name, f"{alias}.{name}") for name, _t, _n in dimensions)
    if not weekday:
        del values["weekday"]  # a month has none
    return values


def _hour_columns(alias, date_expr, hour_expr):
    values = {
        "id": f"{alias}.id",
        "date": date_expr,
        "hour": hour_expr,
        "weekday": f"EXTRACT(ISODOW FROM {date_expr})::int::varchar",
        "call_count": f"{alias}.call_count",
        "duration_minutes": f"{alias}.duration_sum / 60.0",
        "duration_avg": f"{alias}.duration_sum / 60.0",
    }
    values.update((name, f"{alias}.{name}") for name, _t, _n in rollup.HOUR_DIMENSIONS)
    return values


class CallRecordingReport(models.Model):
    """Call analysis: the calls' figures, aggregated in SQL.

    One row per call (a database view), except in grouped queries
    (``_read_group``, the pivot, the graph, the dashboard): those read the
    totals per day, month or hour (``call.recording.report.rollup``) plus
    the changes not folded in yet, whenever the query only uses what the
    totals have and the user's time zone is the reporting time zone.
    """

    _name = "call.recording.report"
    _description = "Call Analysis"
    _auto = False
    _order = "start_datetime desc"
    _rec_name = "call_id"
    _depends = {
        "call.recording": [
            "start_datetime",
            "user_id",
            "company_id",
            "partner_id",
            "commercial_partner_id",
            "line_number_e164",
            "line_id",
            "legal_basis",
            "consent_state",
            "direction",
            "state",
            "outcome_id",
            "team_id",
            "recording_status",
            "duration",
        ],
    }

    call_id = fields.Many2one("call.recording", readonly=True)
    start_datetime = fields.Datetime(string="Start", readonly=True)
    date = fields.Date(
        string="Day",
        readonly=True,
        help="Day of the call, in the reporting time zone (in yours if it is another).",
    )
    hour = fields.Integer(
        string="Hour of Day",
        readonly=True,
        aggregator=None,
        help="Hour of the call (0-23), in the reporting time zone (in yours if it is another).",
    )
    user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Contact", readonly=True)
    commercial_partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    line_number_e164 = fields.Char(string="Line Number", readonly=True)
    line_id = fields.Many2one("call.recording.line", readonly=True)
    legal_basis = fields.Selection(RECORDING_POLICIES, readonly=True)
    consent_refused_count = fields.Integer(
        string="Consent Refused", readonly=True, aggregator="sum"
    )
    direction = fields.Selection(DIRECTIONS, readonly=True)
    state = fields.Selection(CALL_STATES, string="Call Status", readonly=True)
    weekday = fields.Selection(
        WEEKDAYS,
        readonly=True,
        help="Day of the week of the call, in the reporting time zone (in yours if it is another).",
    )
    outcome_id = fields.Many2one("call.recording.outcome", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    call_count = fields.Integer(string="Calls", readonly=True, aggregator="sum")
    answered_count = fields.Integer(string="Answered", readonly=True, aggregator="sum")
    missed_count = fields.Integer(string="Missed", readonly=True, aggregator="sum")
    recorded_count = fields.Integer(string="Recorded", readonly=True, aggregator="sum")
    duration_minutes = fields.Float(string="Minutes", readonly=True, aggregator="sum")
    duration_avg = fields.Float(string="Average Minutes", readonly=True, aggregator="avg")
    duration_max = fields.Float(string="Longest (min)", readonly=True, aggregator="max")

    def _report_tz(self):
        """The user's time zone name, checked (it is put into the view's SQL)."""
        name = self.env.context.get("tz") or self.env.user.tz or "UTC"
        return name if zones.zone(name) is not None else "UTC"

    # ------------------------------------------------------------------
    # Sources: the calls, or the totals
    # ------------------------------------------------------------------

    @property
    def _table_query(self):
        source = _SOURCE.get()
        if source is None:
            return self._calls_query()
        return self._totals_query(*source)

    def _calls_query(self):
        """One row per call, days and hours in the user's time zone."""
        missed = ", ".join(f"'{s}'" for s in MISSED_STATES)
        local = rollup._local("c.start_datetime", "%(tz)s")
        values = {
            "id": "c.id",
            "call_id": "c.id",
            "start_datetime": "c.start_datetime",
            "date": f"{local}::date",
            "hour": f"date_part('hour', {local})::int4",
            "weekday": f"EXTRACT(ISODOW FROM {local})::int::varchar",
            "line_number_e164": "NULLIF(c.line_number_e164, '')",
            "call_count": "1",
            "answered_count": "CASE WHEN c.state = 'answered' THEN 1 ELSE 0 END",
            "missed_count": f"CASE WHEN c.state IN ({missed}) THEN 1 ELSE 0 END",
            "recorded_count": "CASE WHEN c.recording_status = 'available' THEN 1 ELSE 0 END",
            "consent_refused_count": "CASE WHEN c.consent_state = 'refused' THEN 1 ELSE 0 END",
            "duration_minutes": "COALESCE(c.duration, 0) / 60.0",
            "duration_avg": "COALESCE(c.duration, 0) / 60.0",
            "duration_max": "COALESCE(c.duration, 0) / 60.0",
        }
        for name in (
            "user_id",
            "company_id",
            "partner_id",
            "commercial_partner_id",
            "line_id",
            "legal_basis",
            "direction",
            "state",
            "outcome_id",
            "team_id",
        ):
            values[name] = f"c.{name}"
        return SQL(f"SELECT {_select(values)}\n  FROM call_recording c", tz=self._report_tz())

    def _totals_query(self, kind, first_month=None, end_month=None, lower=None, upper=None):
        """The totals of ``kind`` (day, month, hour) and the deltas not folded yet.

        ``month``: the month table for the months from ``first_month`` to
        ``end_month`` (excluded; None: unbounded), the day table for the
        days of the period (from ``lower`` to ``upper``, excluded) around
        them; the domain's own conditions on the day then keep what the
        query asked for.  The deltas are always by day.
        """
        local = rollup._local("d.bucket", "%(tz)s")
        params = {"tz": self.env["call.recording.report.rollup"]._tz()}
        if kind == "hour":
            tables = [_hour_columns("t", "t.day", "t.hour::int4")]
            froms = [f"{rollup.HOUR} t"]
            delta = _hour_columns("d", f"{local}::date", f"date_part('hour', {local})::int4")
        else:
            tables, froms = [], []
            if kind == "month":
                within = []
                if first_month:
                    within.append("t.month >= %(first_month)s")
                    params["first_month"] = first_month
                if end_month:
                    within.append("t.month < %(end_month)s")
                    params["end_month"] = end_month
                tables.append(_totals_columns("t", "t.month", weekday=False))
                froms.append(
                    f"{rollup.MONTH} t" + (f" WHERE {' AND '.join(within)}" if within else "")
                )
                # the days before and after the whole months, each a range of
                # the day table's index (the period's bounds, as the domain's)
                if first_month and lower < first_month:
                    params["lower"] = lower
                    tables.append(_totals_columns("t", "t.day", dimensions=rollup.DAY_DIMENSIONS))
                    froms.append(
                        f"{rollup.DAY} t WHERE t.day >= %(lower)s AND t.day < %(first_month)s"
                    )
                if end_month and end_month < upper:
                    params["upper"] = upper
                    tables.append(_totals_columns("t", "t.day", dimensions=rollup.DAY_DIMENSIONS))
                    froms.append(
                        f"{rollup.DAY} t WHERE t.day >= %(end_month)s AND t.day < %(upper)s"
                    )
            else:
                tables.append(_totals_columns("t", "t.day", dimensions=rollup.DAY_DIMENSIONS))
                froms.append(f"{rollup.DAY} t")
            delta = _totals_columns("d", f"{local}::date")
        delta["id"] = "-d.id"
        tables.append(delta)
        froms.append(f"{rollup.DELTA} d")
        return SQL(
            "\nUNION ALL\n".join(
                f"SELECT {_select(values)}\n  FROM {source}"
                for values, source in zip(tables, froms, strict=True)
            ),
            **params,
        )

    def _rollup_source(self, domain, groupby=(), aggregates=(), having=(), order=None):
        """The totals that answer this grouped query exactly, or None (the calls).

        They do when the user's time zone is the reporting time zone, and the
        query, with the user's record rules, groups, filters and aggregates
        only by what the totals have.  The month table answers when
        nothing is finer than a month: for a period, the whole months in it
        (and the day table for the days around them).
        """
        if _CALLS_ONLY.get() or self._report_tz() != self.env["call.recording.report.rollup"]._tz():
            return None
        user_domain = Domain(domain)
        rules = self.env["ir.rule"]._compute_domain(self._name, "read")
        used = {
            cond.field_expr.split(".", 1)[0]
            for part in (user_domain, rules)
            for cond in part.iter_conditions()
        }
        groupings = [parse_read_group_spec(spec) for spec in groupby]
        used.update(fname for fname, _path, _granularity in groupings)
        wanted = set(aggregates)
        wanted.update(self._having_aggregates(having))
        for term in (order or "").split(","):
            match = ORDER_TERM_RE.match(term)
            if term.strip() and not match:
                return None
            if match and match.group(1) not in groupby:
                wanted.add(match.group(1))
        if used <= MONTH_FIELDS and wanted <= DAY_AGGREGATES:
            months = self._whole_months(user_domain, groupings)
            if used <= DAY_FIELDS:
                return ("month", *months) if months else ("day",)
            # by outcome: whole months only (the day table has no outcome)
            if months and months[2:] == months[:2]:
                return ("month", *months)
        if used <= HOUR_FIELDS and wanted <= HOUR_AGGREGATES:
            return ("hour",)
        return None

    @staticmethod
    def _having_aggregates(having):
        specs = set()
        for item in having or ():
            if isinstance(item, (list, tuple)) and len(item) == 3:
                specs.add(item[0])
        return specs

    @staticmethod
    def _whole_months(domain, groupings):
        """(first month, end month, first day, end day) of the months the query
        may read whole, and of its period.

        None when a grouping or a condition needs days: a grouping finer
        than a month, the weekday, a condition on the day that is not a
        bound of the whole query (under an OR or a NOT), or a period
        without a whole month.
        """
        for fname, _path, granularity in groupings:
            if fname == "weekday" or (fname == "date" and granularity not in MONTH_GRANULARITIES):
                return None
        children = domain.children if isinstance(domain, DomainAnd) else (domain,)
        top = [c for c in children if getattr(c, "field_expr", None) in ("date", "weekday")]
        if sum(1 for c in domain.iter_conditions() if c.field_expr in ("date", "weekday")) != len(
            top
        ):
            return None
        lower = upper = None
        for cond in top:
            day = _as_date(cond.value) if cond.field_expr == "date" else None
            if day is None or cond.operator not in (">=", ">", "<", "<="):
                return None
            if cond.operator in (">", "<="):
                day += timedelta(days=1)
            if cond.operator in (">=", ">"):
                lower = max(lower, day) if lower else day
            else:
                upper = min(upper, day) if upper else day
        first = None
        if lower:
            first = lower if lower.day == 1 else lower.replace(day=1) + relativedelta(months=1)
        end = upper.replace(day=1) if upper else None
        if first and end and first >= end:
            return None
        return first, end, lower, upper

    def _in_source(self, source, method, *args, **kwargs):
        token = _SOURCE.set(source)
        try:
            return method(*args, **kwargs)
        finally:
            _SOURCE.reset(token)

    def _read_group(  # noqa: PLR0917 - BaseModel._read_group's signature
        self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None
    ):
        source = self._rollup_source(domain, groupby, aggregates, having, order)
        if source and groupby:
            # totals and deltas that cancel out (a call deleted or moved to
            # another group, not folded in yet) leave no group of 0 calls
            having = [*(having or ()), ("__count", "!=", 0)]
        return self._in_source(
            source,
            super()._read_group,
            domain,
            groupby,
            aggregates,
            having=having,
            offset=offset,
            limit=limit,
            order=order,
        )

    def _read_grouping_sets(self, domain, grouping_sets, aggregates=(), order=None):
        groupby = list(dict.fromkeys(spec for groupby in grouping_sets for spec in groupby))
        source = self._rollup_source(domain, groupby, aggregates, order=order)
        if not source:
            return super()._read_grouping_sets(domain, grouping_sets, aggregates, order=order)
        counted = "__count" in aggregates
        wanted = tuple(aggregates) if counted else (*aggregates, "__count")
        results = self._in_source(
            source, super()._read_grouping_sets, domain, grouping_sets, wanted, order=order
        )
        # as in _read_group: no group of 0 calls (the total stays)
        count_at = wanted.index("__count")
        return [
            [
                row if counted else row[:-1]
                for row in rows
                if not groups or row[len(groups) + count_at] != 0
            ]
            for groups, rows in zip(grouping_sets, results, strict=True)
        ]

    def _read_group_groupby(self, alias, groupby_spec, query):
        # The day is a date already: group by it as it is, not by
        # date_trunc('day', day::timestamp)::date, the same value computed
        # for each of a million rows.
        if groupby_spec == "date:day":
            return self._field_to_sql(alias, "date", query)
        return super()._read_group_groupby(alias, groupby_spec, query)

    def _read_group_select(self, aggregate_spec, query):
        # One row may be many calls (totals): count and average by the calls.
        if aggregate_spec == "__count":
            return SQL("COALESCE(SUM(%s), 0)", self._field_to_sql(self._table, "call_count", query))
        if aggregate_spec == "duration_avg:avg":
            return SQL(
                "SUM(%s) / NULLIF(SUM(%s), 0)",
                self._field_to_sql(self._table, "duration_minutes", query),
                self._field_to_sql(self._table, "call_count", query),
            )
        return super()._read_group_select(aggregate_spec, query)

    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        if _SOURCE.get() is None:
            domain = self._days_as_starts(domain)
        return super()._search(domain, offset, limit, order, **kwargs)

    def _days_as_starts(self, domain):
        """Conditions on the day as conditions on the start (its index).

        On the calls, the day is computed from the start in the user's time
        zone; the same bounds on the start find the same calls by index.
        """
        tz = zones.zone(self._report_tz()) or UTC

        def start_of(day):
            local = datetime.combine(day, time.min, tzinfo=tz)
            return local.astimezone(UTC).replace(tzinfo=None)

        def rewrite(cond):
            day = _as_date(cond.value) if cond.field_expr == "date" else None
            if day is None or cond.operator not in (">=", ">", "<", "<=", "="):
                return cond
            start, end = start_of(day), start_of(day + timedelta(days=1))
            if cond.operator == "=":
                return Domain("start_datetime", ">=", start) & Domain("start_datetime", "<", end)
            operator, instant = {
                ">=": (">=", start),
                ">": (">=", end),
                "<": ("<", start),
                "<=": ("<", end),
            }[cond.operator]
            return Domain("start_datetime", operator, instant)

        return Domain(domain).map_conditions(rewrite)

    # ------------------------------------------------------------------
    # Dashboard
    # ------------------------------------------------------------------

    @api.model
    def _period_bounds(self, period, offset=0, today=None):
        """Start and end (exclusive) dates of the period ``offset`` steps back."""
        if period not in PERIODS:
            period = "month"
        today = today or fields.Date.context_today(self)
        if period == "week":
            start = today - timedelta(days=today.weekday())
            step = relativedelta(weeks=1)
        elif period == "month":
            start = today.replace(day=1)
            step = relativedelta(months=1)
        elif period == "quarter":
            start = today.replace(day=1, month=3 * ((today.month - 1) // 3) + 1)
            step = relativedelta(months=3)
        else:
            start = today.replace(day=1, month=1)
            step = relativedelta(years=1)
        start -= step * offset
        return start, start + step

    @api.model
    def _utc_bounds(self, start, end):
        tz = zones.zone(self.env.context.get("tz") or self.env.user.tz or "UTC") or UTC

        def to_utc(day):
            local = datetime.combine(day, time.min, tzinfo=tz)
            return local.astimezone(UTC).replace(tzinfo=None)

        return to_utc(start), to_utc(end)

    @api.model
    def _kpis(self, domain):
        [row] = self._read_group(domain, aggregates=KPI_AGGREGATES)
        return self._kpi_figures(row)

    @api.model
    def _kpi_figures(self, row):
        """The KPIs from the values of KPI_AGGREGATES (first in ``row``)."""
        count, answered, missed, recorded, minutes, avg, longest = row[: len(KPI_AGGREGATES)]
        count = count or 0
        return {
            "calls": count,
            "answered": answered or 0,
            "missed": missed or 0,
            "recorded": recorded or 0,
            "minutes": round(minutes or 0.0, 2),
            "avg_minutes": round(avg or 0.0, 2),
            "max_minutes": round(longest or 0.0, 2),
            # the same durations in whole seconds, shown as m:ss like the calls
            "seconds": round((minutes or 0.0) * 60),
            "avg_seconds": round((avg or 0.0) * 60),
            "max_seconds": round((longest or 0.0) * 60),
            "answer_rate": round(100.0 * (answered or 0) / count, 1) if count else 0.0,
        }

    @api.model
    def _comparable_bounds(self, period, offset, today=None):
        """The period's dates and the previous period's, compared like with like.

        A period still running is counted up to today ("so far") and the
        previous period over the same number of days (at most its own
        length): the 3rd of a month compares three days with three days,
        not with the whole of last month.
        """
        today = today or fields.Date.context_today(self)
        start, end = self._period_bounds(period, offset, today=today)
        previous_start, previous_end = self._period_bounds(period, offset + 1, today=today)
        so_far = start <= today < end
        if so_far:
            end = today + timedelta(days=1)
            previous_end = min(previous_start + (end - start), previous_end)
        return start, end, previous_start, previous_end, so_far

    @api.model
    def _line_names(self, numbers):
        """Lines by name: a recorded line's name, else the number as people write it."""
        names = {}
        numbers = [n for n in numbers if n]
        if numbers:
            for line in self.env["call.recording.line"].search_fetch(
                [("number_e164", "in", numbers)], ["number_e164", "name"]
            ):
                names.setdefault(line.number_e164, line.name)
        return {
            number: names.get(number) or phone_lib.format_international(number) or number
            for number in numbers
        }

    @api.model
    def get_dashboard_data(self, period="month", offset=0):
        """Figures of one period and of the one before it, for the dashboard.

        Everything is aggregated by PostgreSQL through ``_read_group`` on
        this model (the totals per day, month and hour whenever they answer,
        see ``_rollup_source``), under the user's record rules.  A period
        still running is compared with the same number of days of the
        previous one (``so_far``).
        """
        offset = max(int(offset or 0), 0)
        start, end, previous_start, previous_end, so_far = self._comparable_bounds(period, offset)
        utc_start, utc_end = self._utc_bounds(start, end)
        # the calls of the period, for the call list the dashboard opens
        call_domain = [("start_datetime", ">=", utc_start), ("start_datetime", "<", utc_end)]
        # the same days for the figures: whole days, read from the totals
        domain = [("date", ">=", start), ("date", "<", end)]
        previous_domain = [("date", ">=", previous_start), ("date", "<", previous_end)]
        # the period's KPIs and splits in one pass over the totals
        total, by_agent, by_line, by_direction, by_line_id = self._read_grouping_sets(
            domain,
            [[], ["user_id"], ["line_number_e164"], ["direction"], ["line_id"]],
            DASHBOARD_AGGREGATES,
            order="__count desc",
        )
        current = self._kpi_figures(total[0] if total else (0,) * len(KPI_AGGREGATES))
        previous = self._kpis(previous_domain)

        def breakdown(rows, label):
            names = label([key for key, *_rest in rows])
            # most calls first; among equals, the known before "Unknown", then by name
            order = sorted(range(len(rows)), key=lambda i: (-rows[i][1], not rows[i][0], names[i]))
            rows, names = [rows[i] for i in order], [names[i] for i in order]
            return [
                {
                    "key": key.id if isinstance(key, models.BaseModel) else key,
                    "name": names[index],
                    "calls": count,
                    "answered": answered,
                    "missed": missed,
                    "minutes": round(minutes or 0.0, 2),
                    "seconds": round((minutes or 0.0) * 60),
                }
                for index, (key, count, answered, missed, _recorded, minutes, *_rest) in enumerate(
                    rows
                )
            ]

        def agent_names(users):
            return [u.display_name or self.env._("No agent") for u in users]

        def line_names(numbers):
            names = self._line_names(numbers)
            return [names.get(n) or self.env._("Unknown line") for n in numbers]

        def direction_names(keys):
            directions = dict(self._fields["direction"]._description_selection(self.env))
            return [directions.get(d, d) for d in keys]

        compliance = self._compliance_figures(by_line_id, utc_start, utc_end)
        heat = self._read_group(domain, ["weekday", "hour"], ["__count"])
        cells = {}
        for weekday, hour, count in heat:
            # ISO weekday (Monday 1 ... Sunday 7) as PostgreSQL's dow (Sunday 0)
            cells.setdefault(str(int(weekday) % 7), {})[str(hour)] = count
        lang = self.env["res.lang"]._get_data(code=self.env.lang or "en_US")
        first_day = int(lang.week_start or 1) % 7  # ISO 1=Monday -> SQL dow 1
        weekdays = [(first_day + i) % 7 for i in range(7)]
        return {
            "period": period,
            "offset": offset,
            "so_far": so_far,
            "days": (end - start).days,
            "start": fields.Date.to_string(start),
            "end": fields.Date.to_string(end - timedelta(days=1)),
            "previous_start": fields.Date.to_string(previous_start),
            "previous_end": fields.Date.to_string(previous_end - timedelta(days=1)),
            "domain": call_domain,
            "report_domain": [
                ("date", ">=", fields.Date.to_string(start)),
                ("date", "<", fields.Date.to_string(end)),
            ],
            "current": current,
            "previous": previous,
            "by_agent": breakdown(by_agent, agent_names),
            "by_line": breakdown(by_line, line_names),
            "by_direction": breakdown(by_direction, direction_names),
            "compliance": compliance,
            "heatmap": {
                "weekdays": [{"dow": d, "name": self._weekday_name(d)} for d in weekdays],
                "cells": cells,
                "max": max((c for _w, _h, c in heat), default=0),
            },
        }

    @api.model
    def _compliance_figures(self, by_line, utc_start, utc_end):
        """What the law asks managers to watch, for the same period.

        ``by_line``: the period's DASHBOARD_AGGREGATES per recorded line.
        """
        coverage = [
            (line, count, recorded, refused)
            for line, count, _answered, _missed, recorded, *_rest, refused in by_line
        ]
        today = fields.Date.context_today(self)
        Call = self.env["call.recording"]
        Request = self.env["call.recording.request"]
        Purge = self.env["call.recording.purge.log"]
        figures = {
            "coverage": [
                {
                    "key": line.id,
                    "name": line.display_name or self.env._("Unlisted lines"),
                    "calls": count,
                    "recorded": recorded,
                    "refused": refused,
                    "rate": round(100.0 * recorded / count, 1) if count else 0.0,
                }
                for line, count, recorded, refused in coverage
            ],
            "consent_refused": sum(row[3] for row in coverage),
            "purged": Purge.search_count(
                [("create_date", ">=", utc_start), ("create_date", "<", utc_end)]
            )
            if Purge.has_access("read")
            else 0,
            "due_30_days": Call.search_count(
                [
                    ("recording_status", "=", "available"),
                    ("retention_date", "<=", today + timedelta(days=30)),
                ]
            ),
            "requests_open": 0,
            "requests_overdue": 0,
            "unconfigured_lines": Call._unconfigured_lines(),
        }
        if Request.has_access("read"):
            figures["requests_open"] = Request.search_count(
                [("state", "in", ("new", "identity_checked"))]
            )
            figures["requests_overdue"] = Request.search_count([("is_overdue", "=", True)])
        return figures

    def _weekday_name(self, dow):
        # PostgreSQL's day of week: 0 = Sunday ... 6 = Saturday.
        names = [
            self.env._("Sunday"),
            self.env._("Monday"),
            self.env._("Tuesday"),
            self.env._("Wednesday"),
            self.env._("Thursday"),
            self.env._("Friday"),
            self.env._("Saturday"),
        ]
        return names[dow]
