from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..lib import phone as phone_lib
from ..models.call_recording import CALL_STATES, DIRECTIONS
from ..models.call_recording_line import RECORDING_POLICIES

#: Call outcomes counted as "missed" in the reports.
MISSED_STATES = ("missed", "busy", "failed", "voicemail")
PERIODS = ("week", "month", "quarter", "year")
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


def _zone(name):
    """The time zone called ``name`` (an IANA name), or None if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class CallRecordingReport(models.Model):
    """Call analysis: one row per call, with measures the views aggregate in SQL.

    A database view, so that grouped views and the dashboard add up in
    PostgreSQL (sums, averages and maxima) and never compute per record in
    Python.
    """

    _name = "call.recording.report"
    _description = "Call Analysis"
    _auto = False
    _order = "start_datetime desc"
    _rec_name = "call_id"

    call_id = fields.Many2one("call.recording", readonly=True)
    start_datetime = fields.Datetime(string="Start", readonly=True)
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
        WEEKDAYS, readonly=True, help="Day of the week of the call, in your time zone."
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
        return name if _zone(name) is not None else "UTC"

    @property
    def _table_query(self):
        missed = SQL(", ").join(SQL("%s", s) for s in MISSED_STATES)
        return SQL(
            """
            SELECT c.id AS id,
                   c.id AS call_id,
                   c.start_datetime,
                   c.user_id,
                   c.company_id,
                   c.partner_id,
                   c.commercial_partner_id,
                   c.line_number_e164,
                   c.line_id,
                   c.legal_basis,
                   (c.consent_state = 'refused')::int AS consent_refused_count,
                   c.direction,
                   c.state,
                   EXTRACT(ISODOW FROM (c.start_datetime AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s)
                       ::int::varchar AS weekday,
                   c.outcome_id,
                   c.team_id,
                   1 AS call_count,
                   (c.state = 'answered')::int AS answered_count,
                   (c.state IN (%(missed)s))::int AS missed_count,
                   (c.recording_status = 'available')::int AS recorded_count,
                   c.duration / 60.0 AS duration_minutes,
                   c.duration / 60.0 AS duration_avg,
                   c.duration / 60.0 AS duration_max
              FROM call_recording c
            """,
            missed=missed,
            tz=self._report_tz(),
        )

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
        tz = _zone(self.env.context.get("tz") or self.env.user.tz or "UTC") or UTC

        def to_utc(day):
            local = datetime.combine(day, time.min, tzinfo=tz)
            return local.astimezone(UTC).replace(tzinfo=None)

        return to_utc(start), to_utc(end)

    @api.model
    def _kpis(self, domain):
        groups = self._read_group(
            domain,
            aggregates=[
                "__count",
                "answered_count:sum",
                "missed_count:sum",
                "recorded_count:sum",
                "duration_minutes:sum",
                "duration_avg:avg",
                "duration_max:max",
            ],
        )
        count, answered, missed, recorded, minutes, avg, longest = groups[0]
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
        this view, under the user's record rules and time zone.  A period
        still running is compared with the same number of days of the
        previous one (``so_far``).
        """
        offset = max(int(offset or 0), 0)
        start, end, previous_start, previous_end, so_far = self._comparable_bounds(period, offset)
        utc_start, utc_end = self._utc_bounds(start, end)
        prev_utc_start, prev_utc_end = self._utc_bounds(previous_start, previous_end)
        domain = [("start_datetime", ">=", utc_start), ("start_datetime", "<", utc_end)]
        previous_domain = [
            ("start_datetime", ">=", prev_utc_start),
            ("start_datetime", "<", prev_utc_end),
        ]
        current = self._kpis(domain)
        previous = self._kpis(previous_domain)

        def breakdown(groupby, label):
            rows = self._read_group(
                domain,
                [groupby],
                ["__count", "answered_count:sum", "missed_count:sum", "duration_minutes:sum"],
                order="__count desc",
            )
            names = label([key for key, *_rest in rows])
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
                for index, (key, count, answered, missed, minutes) in enumerate(rows)
            ]

        def agent_names(users):
            return [u.display_name or self.env._("No agent") for u in users]

        def line_names(numbers):
            names = self._line_names(numbers)
            return [names.get(n) or self.env._("Unknown line") for n in numbers]

        def direction_names(keys):
            directions = dict(self._fields["direction"]._description_selection(self.env))
            return [directions.get(d, d) for d in keys]

        compliance = self._compliance_figures(domain, utc_start, utc_end)
        heat = self._read_group(
            domain, ["start_datetime:day_of_week", "start_datetime:hour_number"], ["__count"]
        )
        cells = {}
        for weekday, hour, count in heat:
            cells.setdefault(str(int(weekday)), {})[str(int(hour))] = count
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
            "domain": domain,
            "current": current,
            "previous": previous,
            "by_agent": breakdown("user_id", agent_names),
            "by_line": breakdown("line_number_e164", line_names),
            "by_direction": breakdown("direction", direction_names),
            "compliance": compliance,
            "heatmap": {
                "weekdays": [{"dow": d, "name": self._weekday_name(d)} for d in weekdays],
                "cells": cells,
                "max": max((c for _w, _h, c in heat), default=0),
            },
        }

    @api.model
    def _compliance_figures(self, domain, utc_start, utc_end):
        """What the law asks managers to watch, for the same period."""
        coverage = self._read_group(
            domain, ["line_id"], ["__count", "recorded_count:sum", "consent_refused_count:sum"]
        )
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
