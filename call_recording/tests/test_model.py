import re
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.call_recording.models import evidence

from .common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestCallModel(CallRecordingCommon):
    def test_reference(self):
        """A unique reference the caller can be told: CR/<year>/<6 digits>."""
        year = fields.Date.today().year
        for call in (self.call_a, self.call_b, self.call_other):
            self.assertRegex(call.name, rf"^CR/{year}/\d{{6}}$")
        self.assertEqual(len({self.call_a.name, self.call_b.name, self.call_other.name}), 3)
        numbers = [int(re.search(r"(\d+)$", c.name).group(1)) for c in (self.call_a, self.call_b)]
        self.assertEqual(numbers[1], numbers[0] + 1)
        copy = self.call_a.copy()
        self.assertNotEqual(copy.name, self.call_a.name)
        self.assertEqual(copy.recording_status, "none")

    def test_references_of_a_batch_with_the_sequence_not_yet_read(self):
        """The first page of a transaction: the sequence's fields are read after its
        numbers (they once took the numbers' place: two calls named "New")."""
        sequence = self.env["ir.sequence"].search([("code", "=", "call.recording")], limit=1)
        sequence.invalidate_recordset()
        names = self.env["call.recording"]._next_references(sequence, 3)
        self.assertEqual(len(names), 3)
        self.assertEqual(len(set(names)), 3)
        sequence.invalidate_recordset()
        vals = [{"direction": "inbound", "caller_number": f"+3630123460{i}"} for i in range(2)]
        calls = self.env["call.recording"].create(vals)
        self.assertNotIn(self.env._("New"), calls.mapped("name"))

    def test_references_of_a_batch(self):
        """Calls created together (an import's page) get their numbers in one query,
        in order, formatted as one by one."""
        year = fields.Date.today().year
        vals = [{"direction": "inbound", "caller_number": f"+3630123450{i}"} for i in range(5)]
        sequence = self.env["ir.sequence"].search([("code", "=", "call.recording")], limit=1)
        Call = self.env["call.recording"]
        Call._next_references(sequence, 2)  # the sequence's fields are read
        counts = []
        for count in (2, 40):
            before = self.env.cr.sql_log_count
            Call._next_references(sequence, count)
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[0], counts[1], "the queries do not grow with the calls")
        # Formatting the numbers may query the database (the user's time zone,
        # not cached in a cron's first page): that once replaced the numbers'
        # result, and a page of calls was created as "New".
        format_numbers = type(sequence)._get_prefix_suffix

        def querying_format(seq, *args, **kwargs):
            seq.env.cr.execute("SELECT 1")
            return format_numbers(seq, *args, **kwargs)

        with patch.object(type(sequence), "_get_prefix_suffix", querying_format):
            self.assertEqual(len(Call._next_references(sequence, 3)), 3)
        names = Call._next_references(sequence, 5)
        numbers = [int(name.rsplit("/", 1)[1]) for name in names]
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 5)))
        calls = self.env["call.recording"].create(vals)
        alone = self._call(self.agent_a, "+36301234599")
        for name in [*names, *calls.mapped("name"), alone.name]:
            self.assertRegex(name, rf"^CR/{year}/\d{{6}}$")
        after = [int(name.rsplit("/", 1)[1]) for name in [*calls.mapped("name"), alone.name]]
        self.assertEqual(after, list(range(numbers[-1] + 1, numbers[-1] + 7)))

    def test_references_of_a_batch_with_nothing_cached(self):
        """The numbers of a batch are kept even when reading the sequence's prefix
        queries the database (a new transaction: every call was named "New" and the
        import's batch refused as duplicates)."""
        year = fields.Date.today().year
        sequence = self.env["ir.sequence"].search([("code", "=", "call.recording")], limit=1)
        self.env.invalidate_all()
        names = self.env["call.recording"]._next_references(sequence, 3)
        self.assertEqual(len(names), 3)
        for name in names:
            self.assertRegex(name, rf"^CR/{year}/\d{{6}}$")
        self.env.invalidate_all()
        calls = self.env["call.recording"].create(
            [{"direction": "inbound", "caller_number": f"+3630123460{i}"} for i in range(2)]
        )
        self.assertEqual(len(set(calls.mapped("name"))), 2)
        self.assertNotIn(self.env._("New"), calls.mapped("name"))

    def test_reference_unique(self):
        call = self._call(self.agent_a, "+36301234567")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            # only the system writes references (evidence): as the system
            evidence.writer(call).name = self.call_a.name
            self.env.flush_all()

    def test_duration(self):
        call = self._call(self.agent_a, "+36301234567", duration=3725)
        self.assertEqual(call.duration_display, "1:02:05")
        self.assertAlmostEqual(call.duration_minutes, 62.08, places=2)
        self.assertEqual(self._call(self.agent_a, "1", duration=65).duration_display, "1:05")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self._call(self.agent_a, "1", duration=-1)
            self.env.flush_all()

    def test_zero_length_filter(self):
        """The default filter hides answered calls of no length, not missed ones."""
        empty = self._call(self.agent_a, "+36301234567", duration=0)
        missed = self._call(self.agent_a, "+36301234567", duration=0, state="missed")
        domain = ["|", ("duration", ">", 0), ("state", "!=", "answered")]
        found = self.env["call.recording"].search(domain)
        self.assertNotIn(empty, found)
        self.assertIn(missed, found)
        self.assertIn(self.call_a, found)

    def test_audio_url(self):
        self.assertEqual(self.call_a.audio_url, f"/call_recording/{self.call_a.id}/audio")
        self.assertFalse(self._call(self.agent_a, "1").audio_url)
        action = self.call_a.action_download_audio()
        self.assertEqual(action["url"], f"/call_recording/{self.call_a.id}/audio?download=1")

    def test_company_country_decides_region(self):
        """National numbers are read in the country of the call's company."""
        self.company_b.country_id = self.env.ref("base.de")
        call = self._call(self.manager_b, "030 901820", company=self.company_b)
        self.assertEqual(call.external_number_e164, "+4930901820")

    def test_demo_generator(self):
        """The demo data builder makes calls with playable audio."""
        calls = self.env["call.recording"]._demo_generate_calls(count=6, seed=1)
        self.assertEqual(len(calls), 6)
        with_audio = calls.filtered("has_audio")
        self.assertTrue(with_audio)
        for call in with_audio:
            self.assertEqual(call._get_audio_attachment().mimetype, "audio/wav")

    def test_hungarian_interface(self):
        """The Hungarian translation loads and reaches labels and messages."""
        self.env["res.lang"]._activate_lang("hu_HU")
        self.env["ir.module.module"]._load_module_terms(
            ["call_recording"], ["hu_HU"], overwrite=True
        )
        Call = self.env["call.recording"].with_context(lang="hu_HU")
        selection = dict(Call._fields["direction"]._description_selection(Call.env))
        self.assertEqual(selection["inbound"], "Bejövő")
        self.assertEqual(
            Call.fields_get(["partner_match"])["partner_match"]["string"], "Kapcsolat-azonosítás"
        )
        menu = self.env.ref("call_recording.menu_call_recording_root").with_context(lang="hu_HU")
        self.assertEqual(menu.name, "Hívások")
