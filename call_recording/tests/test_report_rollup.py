"""The report's totals: the same figures as the calls, for every user, after every write."""

import base64
from datetime import date, datetime

from psycopg2 import errors

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models import evidence
from odoo.addons.call_recording.report import call_recording_report_rollup as rollup
from odoo.addons.call_recording.report.call_recording_report import calls_only

from .common import CallRecordingCommon
from .provider_common import ProviderCommon

TZ = "Europe/Budapest"
#: Grouped queries of the report and the same on the calls: report groupby,
#: call groupby.
QUERIES = [
    ([], []),
    (["date:month", "user_id"], ["start_datetime:month", "user_id"]),
    (["date:day", "direction"], ["start_datetime:day", "direction"]),
    (["date:week"], ["start_datetime:week"]),
    (["date:year", "company_id"], ["start_datetime:year", "company_id"]),
    (["line_id", "legal_basis"], ["line_id", "legal_basis"]),
    (["line_number_e164"], ["line_number_e164"]),
    (["state", "outcome_id"], ["state", "outcome_id"]),
    (["team_id", "user_id"], ["team_id", "user_id"]),
    (["weekday", "hour"], ["start_datetime:day_of_week", "start_datetime:hour_number"]),
    (["hour"], ["start_datetime:hour_number"]),
]
#: Every measure of the report.
MEASURES = [
    "__count",
    "call_count:sum",
    "answered_count:sum",
    "missed_count:sum",
    "recorded_count:sum",
    "consent_refused_count:sum",
    "duration_minutes:sum",
    "duration_avg:avg",
    "duration_max:max",
]


def _key(value):
    """A group value, comparable between the report and the calls."""
    if hasattr(value, "_name"):  # a record (or none)
        return value.id or False
    if isinstance(value, datetime):
        return value.date()
    return value


class RollupCommon(CallRecordingCommon):
    """Calls of two companies, agents, a team leader, a manager of both."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Rollup = cls.env["call.recording.report.rollup"]
        cls.Rollup._set_tz(TZ)
        cls.leader = new_test_user(
            cls.env,
            login="cr_rollup_leader",
            groups="call_recording.group_call_recording_user,sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.env["crm.team"].create(
            {
                "name": "Rollup team",
                "user_id": cls.leader.id,
                "company_id": cls.company.id,
                "member_ids": [Command.set(cls.agent_a.ids)],
            }
        )
        cls.manager_ab = cls._user(
            "cr_rollup_manager_ab", "call_recording.group_call_recording_manager"
        )
        cls.manager_ab.company_ids = [Command.link(cls.company_b.id)]
        cls.users = cls.agent_a | cls.agent_b | cls.leader | cls.manager | cls.manager_b
        cls.users |= cls.manager_ab
        cls.users.tz = TZ
        cls.outcome = cls.env["call.recording.outcome"].create({"name": "Rollup outcome"})
        cls.line = cls.env["call.recording.line"].create(
            {"name": "Rollup line", "number": "+3615550199", "company_id": cls.company.id}
        )
        seed = [
            # agent, company, direction, state, seconds, start (UTC)
            (cls.agent_a, cls.company, "inbound", "answered", 120, "2026-01-31 23:30:00"),
            (cls.agent_a, cls.company, "outbound", "answered", 300, "2026-02-02 09:40:00"),
            (cls.agent_a, cls.company, "inbound", "missed", 0, "2026-02-15 14:05:00"),
            (cls.agent_b, cls.company, "inbound", "answered", 61, "2026-02-28 23:05:00"),
            (cls.agent_b, cls.company, "inbound", "voicemail", 30, "2026-03-04 16:00:00"),
            (cls.leader, cls.company, "internal", "answered", 600, "2026-03-06 11:30:00"),
            (cls.leader, cls.company, "outbound", "busy", 0, "2026-03-29 00:30:00"),
            (cls.manager_b, cls.company_b, "inbound", "answered", 45, "2026-03-10 08:00:00"),
            (cls.manager_b, cls.company_b, "inbound", "failed", 0, "2026-04-10 22:15:00"),
        ]
        calls = cls.env["call.recording"]
        for agent, company, *row in seed:
            calls |= cls._seeded_call((agent, *row), company=company)
        calls[1].outcome_id = cls.outcome
        # facts of a call are the system's to change (the evidence writer)
        evidence.writer(calls[3]).callee_number = "+3615550199"  # on the listed line
        unassigned = cls._call(cls.agent_a, "+36301113333", start_datetime="2026-03-15 10:00:00")
        unassigned.user_id = False
        cls.seeded = calls | unassigned

    def _as(self, user, model, companies=None):
        companies = companies or user.company_ids
        return (
            self.env[model].with_user(user).with_context(tz=TZ, allowed_company_ids=companies.ids)
        )

    def _report(
        self, user, domain, groupby, aggregates=("__count", "duration_minutes:sum"), totals=True
    ):
        report = self._as(user, "call.recording.report")
        source = report._rollup_source(domain, groupby, aggregates)
        self.assertEqual(bool(source), totals, f"read from the totals: {groupby} {domain}")
        rows = report._read_group(domain, groupby, aggregates)
        return {
            tuple(_key(v) for v in row[: len(groupby)]): tuple(
                round(v, 6) if isinstance(v, float) else v for v in row[len(groupby) :]
            )
            for row in rows
        }

    def _report_from_calls(self, user, domain, groupby, aggregates):
        report = self._as(user, "call.recording.report")
        with calls_only():
            rows = report._read_group(domain, groupby, aggregates)
        return {
            tuple(_key(v) for v in row[: len(groupby)]): tuple(
                round(v, 6) if isinstance(v, float) else v for v in row[len(groupby) :]
            )
            for row in rows
        }

    def _calls(self, user, domain, groupby):
        rows = self._as(user, "call.recording")._read_group(
            domain, groupby, ["__count", "duration:sum"]
        )
        figures = {}
        for row in rows:
            key = []
            for spec, raw in zip(groupby, row, strict=False):
                value = _key(raw)
                if spec == "start_datetime:day_of_week":
                    value = str(int(value) or 7)  # Sunday 0 -> ISO 7
                elif spec == "start_datetime:hour_number":
                    value = int(value)
                key.append(value)
            count, seconds = row[len(groupby) :]
            figures[tuple(key)] = (count, round((seconds or 0) / 60.0, 6))
        return figures

    def _period_domains(self, user, first, end):
        report = self._as(user, "call.recording.report")
        utc_first, utc_end = report._utc_bounds(first, end)
        return (
            [("date", ">=", first.isoformat()), ("date", "<", end.isoformat())],
            [("start_datetime", ">=", utc_first), ("start_datetime", "<", utc_end)],
        )

    def assert_same_as_calls(self, users=None, msg=""):
        """The totals give every user exactly the figures of the calls they may read."""
        periods = [
            ([], [], True),
            (*self._period_domains(self.manager, date(2026, 2, 1), date(2026, 4, 1)), True),
            (*self._period_domains(self.manager, date(2026, 2, 15), date(2026, 4, 11)), False),
        ]
        for user in users or self.users:
            for report_domain, call_domain, whole_months in periods:
                for report_groupby, call_groupby in QUERIES:
                    # by outcome: the month table, for whole months only
                    totals = whole_months or "outcome_id" not in report_groupby
                    with self.subTest(user=user.login, domain=report_domain, gb=report_groupby):
                        self.assertEqual(
                            self._report(user, report_domain, report_groupby, totals=totals),
                            self._calls(user, call_domain, call_groupby),
                            msg,
                        )

    def assert_measures_same(self, user=None, longest=True):
        """Every measure of the totals equals the one counted call by call.

        The longest call only once the deltas are folded in: until then, a
        deleted call can still be the longest of its group.
        """
        user = user or self.manager_ab
        measures = MEASURES if longest else MEASURES[:-1]
        for report_groupby, _call_groupby in QUERIES:
            if "hour" in report_groupby:
                continue
            with self.subTest(gb=report_groupby):
                self.assertEqual(
                    self._report(user, [], report_groupby, measures),
                    self._report_from_calls(user, [], report_groupby, measures),
                )

    def totals(self):
        """The tables of totals, without their ids."""
        self.env.flush_all()
        tables = {}
        for table in (rollup.DAY, rollup.MONTH, rollup.HOUR):
            self.env.cr.execute(f"SELECT * FROM {table}")  # noqa: S608 - a constant
            names = [d.name for d in self.env.cr.description]
            tables[table] = sorted(
                (
                    tuple(
                        v for n, v in zip(names, row, strict=True) if n not in ("id", "removed_max")
                    )
                    for row in self.env.cr.fetchall()
                ),
                key=repr,
            )
        return tables

    def pending(self):
        self.env.flush_all()
        self.env.cr.execute(f"SELECT count(*) FROM {rollup.DELTA}")  # noqa: S608
        return self.env.cr.fetchone()[0]


@tagged("post_install", "-at_install")
class TestReportTotals(RollupCommon):
    def test_every_user_gets_the_figures_of_their_calls(self):
        """Agent, team leader, managers of one and of two companies."""
        self.assert_same_as_calls()
        self.Rollup._fold()
        self.assertEqual(self.pending(), 0)
        self.assert_same_as_calls(msg="after folding")
        self.assert_measures_same()

    def test_rules_narrow_the_figures(self):
        """Checked by hand, not only against the calls: what each one counts."""
        count = {
            user: self._report(user, [], [])[()][0]
            for user in (self.agent_a, self.leader, self.manager, self.manager_b, self.manager_ab)
        }
        mine = self.seeded.filtered(lambda c: c.user_id == self.agent_a)
        self.assertEqual(count[self.agent_a], len(mine) + 1)  # and common.py's call_a
        team = self.seeded.filtered(lambda c: c.user_id in (self.agent_a | self.leader))
        self.assertEqual(count[self.leader], len(team) + 1)
        # manager: all of the main company (the seeded calls but manager_b's, the
        # unassigned one, call_a and call_b); manager_b: their company only
        self.assertEqual(count[self.manager], 10)
        self.assertEqual(count[self.manager_b], 3)
        self.assertEqual(count[self.manager_ab], 13)
        # with only one of their companies enabled, that one only
        report = self._as(self.manager_ab, "call.recording.report", self.company_b)
        self.assertEqual(report._read_group([], [], ["__count"])[0][0], 3)

    def test_every_write_keeps_the_totals(self):
        """The ORM, raw SQL, purges, consent refusal, deletion: figures stay exact."""
        Call = self.env["call.recording"]
        a = self.seeded[0]
        # ORM: create, then change what the figures use
        new = Call.create(
            [
                {
                    "direction": "outbound",
                    "callee_number": "+36305554444",
                    "duration": 77,
                    "user_id": self.agent_b.id,
                    "company_id": self.company.id,
                    "start_datetime": "2026-02-20 10:00:00",
                },
                {
                    "direction": "inbound",
                    "caller_number": "+36305554445",
                    "duration": 900,
                    "user_id": self.agent_a.id,
                    "company_id": self.company.id,
                    "start_datetime": "2026-03-01 07:00:00",
                },
            ]
        )
        self.assert_same_as_calls([self.manager, self.agent_a], "after create")
        evidence.writer(new[0]).write({"state": "missed", "duration": 0})
        new[0].user_id = self.agent_a
        evidence.writer(a).start_datetime = "2026-03-31 22:30:00"
        a.outcome_id = self.outcome
        new[1].partner_id = self.customer  # not a figure: nothing appended
        self.assert_same_as_calls([self.manager, self.agent_a, self.leader], "after write")
        # purges: the audio of one, the consent of another refused
        evidence.writer(self.call_a).retention_date = "2020-01-01"  # its term is over
        self.call_a._purge_audio()
        self.assertEqual(self.call_a.recording_status, "purged")
        evidence.writer(self.call_b).consent_state = "refused"
        # raw SQL: an insert copying a call, an update, a delete
        self.env.flush_all()
        self.env.cr.execute(
            """
            INSERT INTO call_recording (name, company_id, user_id, direction, state,
                                        start_datetime, duration, recording_status)
            SELECT name || '/copy', company_id, user_id, direction, 'answered',
                   start_datetime + interval '40 days', duration + 5, 'none'
              FROM call_recording WHERE id = ANY(%s)
            """,
            [self.seeded.ids],
        )
        self.env.cr.execute(
            "UPDATE call_recording SET duration = duration * 2 WHERE id = %s", [self.seeded[1].id]
        )
        self.env.cr.execute("DELETE FROM call_recording WHERE id = %s", [self.seeded[5].id])
        self.env.invalidate_all()
        self.assert_same_as_calls(msg="after raw SQL")
        self.assert_measures_same(longest=False)
        self.Rollup._fold()
        self.assert_same_as_calls(msg="after folding")
        self.assert_measures_same()

    def test_push_api_call_is_counted(self):
        integration = self._user("cr_rollup_pbx", "call_recording.group_call_recording_integration")
        account = self.env["call.recording.provider"].create(
            {
                "name": "Rollup PBX",
                "provider_type": "push",
                "company_id": self.company.id,
                "push_user_ids": [Command.set(integration.ids)],
            }
        )
        before = self._report(self.manager, [], [])[()]
        result = (
            self.env["call.recording"]
            .with_user(integration)
            .push_call(
                {
                    "provider": account.id,
                    "external_id": "rollup-1",
                    "direction": "inbound",
                    "start": "2026-03-20T09:30:00+01:00",
                    "duration": 95,
                    "state": "answered",
                    "caller_number": "+36 30 444 1122",
                    "callee_number": "+36 1 555 0100",
                    "audio": base64.b64encode(synth_call_wav(1, seed=3)).decode(),
                }
            )
        )
        self.assertTrue(result.get("id"), result)
        after = self._report(self.manager, [], [])[()]
        self.assertEqual(after[0], before[0] + 1)
        self.assertAlmostEqual(after[1], before[1] + 95 / 60.0, places=5)
        self.assert_same_as_calls([self.manager])

    def test_unlink_and_metadata_purge(self):
        """Deleting calls: the group goes, the longest call is found again."""
        longest = self.seeded.filtered(lambda c: c.duration == 600)
        # its term is over
        evidence.writer(longest).write(
            {"retention_date": "2020-01-01", "metadata_retention_date": "2020-01-01"}
        )
        self.env["call.recording"]._purge_metadata(longest)
        self.assertFalse(longest.exists())
        self.Rollup._fold()
        # leader had two calls: one left, and their longest is now 0 s
        self.assertEqual(
            self._report(self.manager, [], ["user_id"], ["__count", "duration_max:max"])[
                (self.leader.id,)
            ],
            (1, 0.0),
        )
        self.assert_measures_same(self.manager)
        self.env.cr.execute("DELETE FROM call_recording WHERE user_id = %s", [self.manager_b.id])
        self.Rollup._fold()
        groups = self._report(self.manager_ab, [], ["user_id"])
        self.assertNotIn((self.manager_b.id,), groups, "no group of 0 calls is left")
        self.assert_same_as_calls([self.manager_ab, self.manager_b])

    def test_rebuild_gives_the_folded_totals(self):
        """Incremental totals and totals recomputed from the calls are the same rows."""
        evidence.writer(self.seeded[:3]).write({"state": "missed"})
        self.env.cr.execute("DELETE FROM call_recording WHERE id = %s", [self.seeded[4].id])
        evidence.writer(self.seeded[6]).duration = 1
        self.Rollup._fold()
        folded = self.totals()
        self.Rollup._rebuild()
        self.assertEqual(self.totals(), folded)
        self.assertEqual(self.pending(), 0)

    def test_which_totals_answer(self):
        report = self._as(self.manager, "call.recording.report")
        source = report._rollup_source
        self.assertEqual(
            source([], ["date:month", "user_id"], ["__count"]), ("month", None, None, None, None)
        )
        # a period: its whole months from the month table, the other days by day
        self.assertEqual(
            source([("date", ">=", "2026-02-15"), ("date", "<", "2026-04-11")], [], ["__count"]),
            ("month", date(2026, 3, 1), date(2026, 4, 1), date(2026, 2, 15), date(2026, 4, 11)),
        )
        february = (date(2026, 2, 1), date(2026, 3, 1))
        self.assertEqual(
            source([("date", ">=", "2026-02-01"), ("date", "<=", "2026-02-28")], [], ["__count"]),
            ("month", *february, *february),
        )
        self.assertEqual(
            source([("date", ">", "2026-02-27")], [], []),
            ("month", date(2026, 3, 1), None, date(2026, 2, 28), None),
        )
        self.assertEqual(
            source([("date", ">=", "2026-02-02"), ("date", "<", "2026-02-09")], [], []), ("day",)
        )
        self.assertEqual(source([], ["date:day"], ["__count"]), ("day",))
        self.assertEqual(source([], ["weekday"], ["__count"]), ("day",))
        self.assertEqual(
            source(["|", ("date", "<", "2026-02-01"), ("state", "=", "missed")], [], []), ("day",)
        )
        self.assertEqual(source([], ["weekday", "hour"], ["__count"]), ("hour",))
        self.assertEqual(
            source([], ["hour"], ["__count", "duration_minutes:sum"], order="__count desc"),
            ("hour",),
        )
        # the outcome: in the month table only
        self.assertEqual(
            source([], ["outcome_id", "date:month"], ["__count"]), ("month", None, None, None, None)
        )
        self.assertEqual(
            source([("date", ">=", "2026-02-01"), ("date", "<", "2026-04-01")], ["outcome_id"], []),
            ("month", date(2026, 2, 1), date(2026, 4, 1), date(2026, 2, 1), date(2026, 4, 1)),
        )
        # what the totals do not have: the calls, one by one
        for domain, groupby, aggregates in [
            ([("date", ">=", "2026-02-15")], ["outcome_id"], ["__count"]),
            ([], ["outcome_id", "date:day"], ["__count"]),
            ([], ["commercial_partner_id"], ["__count"]),
            ([("call_id", "in", self.seeded.ids)], [], ["__count"]),
            ([], ["start_datetime:month"], ["__count"]),
            ([("missed_count", "=", 1)], [], ["__count"]),
            ([], ["hour", "state"], ["__count"]),
            ([], ["hour"], ["recorded_count:sum"]),
            ([], ["user_id"], ["duration_minutes:avg"]),
            ([], ["user_id"], ["call_count:count_distinct"]),
        ]:
            with self.subTest(domain=domain, groupby=groupby, aggregates=aggregates):
                self.assertIsNone(source(domain, groupby, aggregates))
        with calls_only():
            self.assertIsNone(source([], [], ["__count"]))

    def test_month_split_of_a_period(self):
        """A period with parts of months: month table + day table = the calls."""
        report_domain, _call_domain = self._period_domains(
            self.manager, date(2026, 2, 15), date(2026, 4, 11)
        )
        for groupby in ([], ["date:month", "user_id"], ["state"]):
            self.assertEqual(
                self._report(self.manager_ab, report_domain, groupby, MEASURES),
                self._report_from_calls(self.manager_ab, report_domain, groupby, MEASURES),
            )

    def test_other_time_zone_reads_the_calls(self):
        """A user in another time zone gets their own days, counted from the calls."""
        report = self.env["call.recording.report"].with_user(self.manager).with_context(tz="UTC")
        self.assertIsNone(report._rollup_source([], ["date:day"], ["__count"]))
        # 2026-01-31 23:30 UTC is 1 February in Budapest, 31 January in UTC
        day = report._read_group([("date", "=", "2026-01-31")], ["user_id"], ["__count"])
        self.assertEqual(day, [(self.agent_a, 1)])
        budapest = self._report(self.manager, [("date", "=", "2026-01-31")], ["user_id"])
        self.assertEqual(budapest, {})
        # conditions on the day find the calls through their start's index
        query = report._search([("date", ">=", "2026-02-01"), ("date", "<", "2026-03-01")])
        self.assertIn("start_datetime", query.where_clause.code)
        self.assertNotIn('"date"', query.where_clause.code)

    def test_changing_the_time_zone_rebuilds(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.call_recording_report_tz, TZ)
        settings.call_recording_report_tz = "UTC"
        settings.execute()
        self.assertEqual(self.Rollup._tz(), "UTC")
        self.env["res.users"].browse(self.users.ids).tz = "UTC"
        as_utc = self._as(self.manager, "call.recording.report").with_context(tz="UTC")
        self.assertTrue(as_utc._rollup_source([], ["date:day"], ["__count"]))
        groups = as_utc._read_group([("date", "=", "2026-01-31")], ["user_id"], ["__count"])
        self.assertEqual(groups, [(self.agent_a, 1)])
        with self.assertRaises(UserError):
            self.Rollup._set_tz("Mars/Olympus_Mons")

    def test_schema_is_recreated_and_dropped(self):
        """init() runs on every update: the same triggers, once; the uninstall hook drops all."""
        self.Rollup.init()
        self.Rollup.init()
        self.env.cr.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'call_recording'::regclass "
            "AND NOT tgisinternal AND tgname LIKE 'call_recording_rollup%%' ORDER BY 1"
        )
        self.assertEqual([r[0] for r in self.env.cr.fetchall()], sorted(rollup.FUNCTIONS.values()))
        self.assert_same_as_calls([self.manager])
        # tables of another layout (an older version): recreated and refilled
        self.env.cr.execute(f"UPDATE {rollup.STATE} SET version = 'old'")  # noqa: S608
        self.Rollup.init()
        self.assertEqual(self.Rollup._state()["version"], rollup.SCHEMA_VERSION)
        self.assertEqual(self.Rollup._tz(), TZ)
        self.assertEqual(self.pending(), 0)
        self.assert_same_as_calls([self.manager])
        with self.env.cr.savepoint(flush=False) as savepoint:
            self.Rollup._drop()
            self.env.cr.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE 'call_recording_rollup%%'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_proc WHERE proname LIKE 'call_recording_rollup%%'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            savepoint.rollback()

    def test_report_rules_are_the_call_rules(self):
        """The report's rules for each group are the calls' (but the integration one)."""

        def rules(model):
            found = self.env["ir.rule"].search([("model_id.model", "=", model)])
            return sorted(
                (tuple(sorted(rule.groups.ids)), " ".join(rule.domain_force.split()))
                for rule in found
                if rule.groups != self.env.ref("call_recording.group_call_recording_integration")
            )

        self.assertEqual(rules("call.recording.report"), rules("call.recording"))

    def test_writers_never_conflict(self):
        """Two transactions storing calls of one agent and day both commit.

        Under REPEATABLE READ, adding to one row of totals from both would
        fail with a serialization error; the deltas are only appended.
        """
        # a call committed by both connections' own, separate transactions
        first = db_connect(self.env.cr.dbname).cursor()
        second = db_connect(self.env.cr.dbname).cursor()
        main = self.env.ref("base.main_company").id
        admin = self.env.ref("base.user_admin").id
        statement = f"""
            INSERT INTO call_recording (name, company_id, user_id, direction, state,
                                        start_datetime, duration, recording_status)
            VALUES (%s, {main}, {admin}, 'inbound', 'answered', '2020-01-01 10:00', 7, 'none')
            RETURNING id
        """  # noqa: S608 - ids
        created = []
        try:
            # Odoo's cursors are REPEATABLE READ; both take their snapshot here
            first.execute(f"SELECT count(*) FROM {rollup.DELTA}")  # noqa: S608
            second.execute(f"SELECT count(*) FROM {rollup.DELTA}")  # noqa: S608
            first.execute(statement, ["CR/ROLLUP/TEST/1"])
            created += first.fetchone()
            second.execute(statement, ["CR/ROLLUP/TEST/2"])
            created += second.fetchone()
            first.commit()
            try:
                second.commit()
            except errors.SerializationFailure:  # pragma: no cover - the failure tested for
                self.fail("a writer failed on the totals")
        finally:
            for cr in (first, second):
                cr.rollback()
            # clean up what was committed (and its deltas, folded away by a rebuild)
            first.execute("DELETE FROM call_recording WHERE id = ANY(%s)", [created])
            first.execute(
                f"DELETE FROM {rollup.DELTA} WHERE bucket = '2020-01-01 10:00'"  # noqa: S608
            )
            first.commit()
            first.close()
            second.close()
        self.assertEqual(len(created), 2)


@tagged("post_install", "-at_install")
class TestReportTotalsImport(ProviderCommon):
    """Calls imported from a provider are counted at once."""

    def test_imported_calls_are_counted(self):
        self.env["call.recording.report.rollup"]._set_tz(TZ)
        self.manager.tz = TZ
        report = self.env["call.recording.report"].with_user(self.manager).with_context(tz=TZ)
        before = report._read_group([], [], ["__count"])[0][0]
        self._add_calls("twilio")
        log = self.providers["twilio"]._sync(trigger="manual")
        self.assertEqual(log.state, "done", log.error)
        self.assertTrue(report._rollup_source([], ["state"], ["__count"]))
        groups = dict(report._read_group([], ["state"], ["__count"]))
        with calls_only():
            self.assertEqual(dict(report._read_group([], ["state"], ["__count"])), groups)
        self.assertEqual(sum(groups.values()), before + 2)


@tagged("post_install", "-at_install")
class TestReportTotalsRpc(HttpCase, RollupCommon):
    """Attacked through JSON-RPC: figures of one's own calls only, no rebuild."""

    def _call_kw(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def test_agent_counts_only_their_calls(self):
        self.authenticate(self.agent_a.login, self.agent_a.login)
        groups = self._call_kw(
            "call.recording.report",
            "formatted_read_group",
            [[]],
            {"groupby": ["user_id"], "aggregates": ["__count"], "context": {"tz": TZ}},
        )
        self.assertEqual([g["user_id"][0] for g in groups], [self.agent_a.id])
        mine = self.env["call.recording"].search_count([("user_id", "=", self.agent_a.id)])
        self.assertEqual(groups[0]["__count"], mine)
        # asking for another agent's figures gives nothing more
        groups = self._call_kw(
            "call.recording.report",
            "formatted_read_group",
            [[("user_id", "=", self.agent_b.id)]],
            {"groupby": ["date:month"], "aggregates": ["__count"], "context": {"tz": TZ}},
        )
        self.assertEqual(groups, [])
        # nor does the dashboard
        data = self._call_kw("call.recording.report", "get_dashboard_data", ["year", 0])
        self.assertLessEqual({row["key"] for row in data["by_agent"]}, {self.agent_a.id})

    def test_only_administrators_rebuild(self):
        for user in (self.agent_a, self.manager):
            self.authenticate(user.login, user.login)
            with mute_logger("odoo.http"), self.assertRaisesRegex(Exception, "AccessError"):
                self._call_kw("call.recording.report.rollup", "action_rebuild", [])
        with self.assertRaises(AccessError):
            self.Rollup.with_user(self.manager).action_rebuild()
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.Rollup.with_user(admin).action_rebuild()["params"]["type"], "success")

    def test_integration_user_reads_no_figures(self):
        integration = self._user(
            "cr_rollup_pbx2", "call_recording.group_call_recording_integration"
        )
        with self.assertRaises(AccessError):
            self.env["call.recording.report"].with_user(integration)._read_group(
                [], [], ["__count"]
            )
