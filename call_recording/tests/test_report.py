from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, tagged

from odoo.addons.call_recording.models import evidence

from .common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestCallReport(CallRecordingCommon):
    """Report figures against values computed by hand on a seeded data set."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager.tz = "UTC"
        a, b = cls.agent_a, cls.agent_b
        seed = [
            # agent, direction, state, seconds, start (UTC)
            (a, "inbound", "answered", 120, "2026-03-02 09:15:00"),  # Monday
            (a, "outbound", "answered", 300, "2026-03-02 09:40:00"),
            (a, "inbound", "missed", 0, "2026-03-03 14:05:00"),  # Tuesday
            (b, "inbound", "answered", 60, "2026-03-04 09:05:00"),  # Wednesday
            (b, "inbound", "voicemail", 30, "2026-03-04 16:00:00"),
            (b, "internal", "answered", 600, "2026-03-06 11:30:00"),  # Friday
            (a, "inbound", "answered", 180, "2026-02-10 10:00:00"),  # previous month
            (b, "inbound", "missed", 0, "2026-02-11 10:00:00"),
        ]
        calls = cls.env["call.recording"]
        for row in seed:
            calls |= cls._seeded_call(row)
        cls.seeded = calls
        cls.Report = cls.env["call.recording.report"].with_user(cls.manager).with_context(tz="UTC")

    def test_month_by_agent(self):
        groups = self.Report._read_group(
            [("call_id", "in", self.seeded.ids)],
            ["start_datetime:month", "user_id"],
            ["__count", "duration_minutes:sum", "answered_count:sum", "missed_count:sum"],
        )
        figures = {(d.strftime("%Y-%m"), u.login): rest for d, u, *rest in groups}
        self.assertEqual(
            figures,
            {
                ("2026-03", "cr_agent_a"): [3, 7.0, 2, 1],
                ("2026-03", "cr_agent_b"): [3, 11.5, 2, 1],
                ("2026-02", "cr_agent_a"): [1, 3.0, 1, 0],
                ("2026-02", "cr_agent_b"): [1, 0.0, 0, 1],
            },
        )

    def test_average_and_longest(self):
        [(count, avg, longest)] = self.Report._read_group(
            [("call_id", "in", self.seeded.ids), ("start_datetime", ">=", "2026-03-01")],
            [],
            ["__count", "duration_avg:avg", "duration_max:max"],
        )
        self.assertEqual(count, 6)
        self.assertAlmostEqual(avg, 1110 / 60 / 6, places=4)
        self.assertAlmostEqual(longest, 10.0)

    def test_hour_by_weekday(self):
        groups = self.Report._read_group(
            [("call_id", "in", self.seeded.ids), ("start_datetime", ">=", "2026-03-01")],
            ["start_datetime:day_of_week", "start_datetime:hour_number"],
            ["__count"],
        )
        self.assertEqual(
            {(int(d), int(h)): c for d, h, c in groups},
            {(1, 9): 2, (2, 14): 1, (3, 9): 1, (3, 16): 1, (5, 11): 1},
        )

    @freeze_time("2026-04-15 12:00:00")
    def test_dashboard_against_previous_period(self):
        data = self.Report.get_dashboard_data("month", 1)
        self.assertEqual((data["start"], data["end"]), ("2026-03-01", "2026-03-31"))
        self.assertEqual(data["previous_start"], "2026-02-01")
        self.assertEqual(
            data["current"],
            {
                "calls": 6,
                "answered": 4,
                "missed": 2,
                "recorded": 0,
                "minutes": 18.5,
                "avg_minutes": 3.08,
                "max_minutes": 10.0,
                "seconds": 1110,
                "avg_seconds": 185,
                "max_seconds": 600,
                "answer_rate": 66.7,
            },
        )
        self.assertFalse(data["so_far"], "a past month is compared whole")
        self.assertEqual(data["previous"]["calls"], 2)
        self.assertEqual(data["previous"]["minutes"], 3.0)
        self.assertEqual(data["previous"]["answer_rate"], 50.0)
        agents = {row["name"]: (row["calls"], row["minutes"]) for row in data["by_agent"]}
        self.assertEqual(agents, {self.agent_a.name: (3, 7.0), self.agent_b.name: (3, 11.5)})
        directions = {row["key"]: row["calls"] for row in data["by_direction"]}
        self.assertEqual(directions, {"inbound": 4, "outbound": 1, "internal": 1})
        self.assertEqual(data["heatmap"]["cells"]["1"], {"9": 2})
        self.assertEqual(data["heatmap"]["max"], 2)
        self.assertEqual(len(data["heatmap"]["weekdays"]), 7)
        # The current month (April) has none of the seeded calls.
        self.assertEqual(self.Report.get_dashboard_data("month", 0)["current"]["calls"], 0)

    @freeze_time("2026-03-04 12:00:00")
    def test_month_so_far_against_same_days(self):
        """On the 4th, March's first 4 days are compared with February's first 4."""
        bounds = self.Report._comparable_bounds("month", 0)
        self.assertEqual(
            [str(d) for d in bounds[:4]], ["2026-03-01", "2026-03-05", "2026-02-01", "2026-02-05"]
        )
        self.assertTrue(bounds[4])
        data = self.Report.get_dashboard_data("month", 0)
        self.assertTrue(data["so_far"])
        self.assertEqual(data["days"], 4)
        self.assertEqual((data["start"], data["end"]), ("2026-03-01", "2026-03-04"))
        self.assertEqual(
            (data["previous_start"], data["previous_end"]), ("2026-02-01", "2026-02-04")
        )
        # 3 seeded calls on 2 and 3 March, and the 2 of today (4 March)
        self.assertEqual(data["current"]["calls"], 5)
        # February's calls are on the 10th and 11th: not within its first 4 days
        self.assertEqual(data["previous"]["calls"], 0)
        # a past month is whole, and compared with the whole month before
        self.assertFalse(self.Report._comparable_bounds("month", 1)[4])

    @freeze_time("2026-03-31 12:00:00")
    def test_so_far_never_beyond_the_previous_period(self):
        """March 31 against February: all of February (28 days), not into March."""
        _start, _end, previous_start, previous_end, so_far = self.Report._comparable_bounds(
            "month", 0
        )
        self.assertTrue(so_far)
        self.assertEqual((str(previous_start), str(previous_end)), ("2026-02-01", "2026-03-01"))
        week = self.Report._comparable_bounds("week", 0)
        self.assertEqual(
            [str(d) for d in week[:4]], ["2026-03-30", "2026-04-01", "2026-03-23", "2026-03-25"]
        )

    @freeze_time("2026-04-15 12:00:00")
    def test_lines_by_name(self):
        self.env["call.recording.line"].create(
            {"name": "Ügyfélszolgálat", "number": "+3615550100", "company_id": self.company.id}
        )
        data = self.Report.get_dashboard_data("month", 1)
        # our line by its name, an unlisted number as people write it, none: "Unknown line"
        self.assertEqual(
            [row["name"] for row in data["by_line"]],
            ["Ügyfélszolgálat", "+36 30 111 2222", "Unknown line"],
        )
        outbound = [row for row in data["by_direction"] if row["key"] == "outbound"]
        self.assertEqual(outbound[0]["seconds"], 300)
        self.env["call.recording.line"].search([("number_e164", "=", "+3615550100")]).unlink()
        names = self.Report._line_names(["+3615550100", "+3615550200"])
        self.assertEqual(names, {"+3615550100": "+36 1 555 0100", "+3615550200": "+36 1 555 0200"})

    def test_weekday_names_in_local_time(self):
        """Busiest Hours groups by weekday names, in the user's time zone."""
        late = self._call(
            self.agent_a, "+36301112222", start_datetime="2026-03-08 23:30:00"
        )  # Sunday 23:30 UTC = Monday 00:30 in Budapest
        for tz, day in (("UTC", "7"), ("Europe/Budapest", "1")):
            self.env.invalidate_all()  # one time zone per request, as for a user
            report = self.Report.with_context(tz=tz)
            [row] = report.search_read([("call_id", "=", late.id)], ["weekday"])
            self.assertEqual(row["weekday"], day, tz)
        labels = dict(self.Report._fields["weekday"]._description_selection(self.env))
        self.assertEqual(labels["1"], "Monday")
        groups = self.Report._read_group(
            [("call_id", "in", self.seeded.ids), ("start_datetime", ">=", "2026-03-01")],
            ["weekday"],
            ["__count"],
        )
        self.assertEqual(groups, [("1", 2), ("2", 1), ("3", 2), ("5", 1)])

    @freeze_time("2026-03-04 12:00:00")
    def test_period_bounds(self):
        bounds = {p: self.Report._period_bounds(p) for p in ("week", "month", "quarter", "year")}
        self.assertEqual(str(bounds["week"][0]), "2026-03-02")
        self.assertEqual(str(bounds["week"][1]), "2026-03-09")
        self.assertEqual(str(bounds["month"][0]), "2026-03-01")
        self.assertEqual(str(bounds["quarter"][0]), "2026-01-01")
        self.assertEqual(str(bounds["quarter"][1]), "2026-04-01")
        self.assertEqual(str(bounds["year"][1]), "2027-01-01")

    def test_time_zone_of_the_user(self):
        """Hours and days are the manager's local ones."""
        report = self.Report.with_context(tz="Europe/Budapest")
        groups = report._read_group(
            [("call_id", "in", self.seeded.ids), ("start_datetime", ">=", "2026-03-01")],
            ["start_datetime:hour_number"],
            ["__count"],
        )
        self.assertIn((10, 3), [(int(h), c) for h, c in groups])  # 09:xx UTC = 10:xx CET

    def test_report_is_their_calls(self):
        """Managers count their companies' calls, an agent only their own calls,
        other users nothing (the menus are the managers')."""
        mine = self.env["call.recording.report"].with_user(self.agent_a).search([])
        self.assertEqual(
            mine.call_id, self.env["call.recording"].with_user(self.agent_a).search([])
        )
        self.assertEqual(mine.user_id, self.agent_a)
        for user in (self.internal, self.portal):
            with self.assertRaises(AccessError):
                self.env["call.recording.report"].with_user(user).search([])
        other = self.env["call.recording.report"].with_user(self.manager_b)
        self.assertFalse(other.search([("call_id", "in", self.seeded.ids)]))


@tagged("post_install", "-at_install")
class TestTeamVisibility(CallRecordingCommon):
    """A sales team leader sees their team members' calls, and only those."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.leader = cls._user(
            "cr_leader", "call_recording.group_call_recording_user,sales_team.group_sale_salesman"
        )
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Ügyfélszolgálat",
                "user_id": cls.leader.id,
                "company_id": cls.company.id,
                "member_ids": [(6, 0, cls.agent_a.ids)],
            }
        )
        cls.leader_call = cls._call(cls.leader, "+36301112222")

    def _visible(self, user):
        ours = self.call_a | self.call_b | self.call_other | self.leader_call
        return self.env["call.recording"].with_user(user).search([("id", "in", ours.ids)])

    def test_three_levels(self):
        self.assertEqual(self._visible(self.agent_a), self.call_a)
        self.assertEqual(self._visible(self.leader), self.leader_call | self.call_a)
        self.assertEqual(self._visible(self.manager), self.call_a | self.call_b | self.leader_call)

    def test_leaving_the_team(self):
        self.team.member_ids = [(3, self.agent_a.id)]
        self.assertEqual(self._visible(self.leader), self.leader_call)

    def test_member_does_not_see_leader_or_colleagues(self):
        self.team.member_ids = [(4, self.agent_b.id)]
        self.assertEqual(self._visible(self.agent_b), self.call_b)
        self.assertEqual(self._visible(self.leader), self.leader_call | self.call_a | self.call_b)


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase, CallRecordingCommon):
    def test_manager_dashboard(self):
        """In Chromium: a manager reads this month's figures on the dashboard."""
        self.agent_a.name = "Dashboard Agent A"
        now = fields.Datetime.now().replace(hour=10, minute=0, second=0)
        # call_a and call_b (2 s each) are this month's too: 3 calls in all.
        # (a call's start and length are facts: changed here as the system)
        evidence.writer(self.call_a | self.call_b).write({"start_datetime": now, "duration": 2})
        self._call(self.agent_a, "+36301112222", duration=356, start_datetime=now)
        self.manager.tz = "UTC"
        # the manager's time zone is the report's: the dashboard reads the totals
        self.env["call.recording.report.rollup"]._set_tz("UTC")
        self.start_tour(
            "/odoo/action-call_recording.call_recording_dashboard_action",
            "call_recording_manager_dashboard_tour",
            login=self.manager.login,
        )


@tagged("post_install", "-at_install")
class TestCallReportFromTotals(TestCallReport):
    """The same figures when the report's time zone is the manager's (UTC):
    grouped queries then read the totals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["call.recording.report.rollup"]._set_tz("UTC")

    def test_grouped_queries_read_the_totals(self):
        self.assertEqual(
            self.Report._rollup_source([], ["date:month"], ["__count"]),
            ("month", None, None, None, None),
        )
        self.assertEqual(
            self.Report._rollup_source([], ["weekday", "hour"], ["__count"]), ("hour",)
        )
