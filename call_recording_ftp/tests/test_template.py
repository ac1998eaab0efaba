from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import FtpExportCommon


@tagged("post_install", "-at_install")
class TestTemplate(FtpExportCommon):
    def test_bad_templates_refused(self):
        for bad in (
            "../{reference}.wav",
            "{year}/../../{reference}.wav",
            "/etc/{reference}",
            "{reference}/",
            "{year}/{month}.wav",
            "{secret}/{reference}.wav",
            "{reference.__class__}.wav",
            "{reference!r}",
            "{reference",
        ):
            with self.subTest(template=bad), self.assertRaises(ValidationError):
                self.target_ftp.path_template = bad
        with self.assertRaises(ValidationError):
            self.target_ftp.base_folder = "archive/../../etc"

    def test_values_cannot_leave_base_folder(self):
        call = self._call(self.agent_a, "../../etc/passwd", audio=True)
        self.target_ftp.path_template = "{number}/{reference}.{ext}"
        self.target_ftp._run()
        export = self.assertExported(call, self.target_ftp)
        self.assertTrue(export.remote_path.startswith("archive/"))
        self.assertNotIn("..", export.remote_path.split("/"))

    def test_local_time_and_readable_names(self):
        """Dates in the target's time zone; the customer, provider call id and line, readable."""
        line = self.env["call.recording.line"].create(
            {
                "name": "Ügyfélszolgálat / Hotline",
                "number": "+3615550100",
                "company_id": self.company.id,
            }
        )
        # a call that ended a year, in UTC, and started the next one in Budapest
        self.env.cr.execute(
            "UPDATE call_recording SET start_datetime = '2026-12-31 23:30:05', "
            "external_id = 'CA12/ab:9', line_id = %s WHERE id = %s",
            [line.id, self.call_a.id],
        )
        self.call_a.invalidate_recordset()
        self.assertEqual(self.call_a.commercial_partner_id, self.customer)
        for target in self.target_ftp | self.target_sftp:
            with self.subTest(protocol=target.protocol):
                target.write(
                    {
                        "tz": "Europe/Budapest",
                        "path_template": "{year}/{date}/{customer}/{time}_{line_name}_"
                        "{provider_call_id}_{reference}.{ext}",
                    }
                )
                target._run()
                export = target.export_ids.filtered(lambda e: e.call_id == self.call_a)
                reference = self.call_a.name.replace("/", "-")
                self.assertEqual(
                    export.remote_path,
                    "archive/2027/2027-01-01/Tóth_Gábor/00-30-05_Ügyfélszolgálat-Hotline_"
                    f"CA12-ab-9_{reference}.wav",
                )
                self.assertTrue(self.on_server(target, export.remote_path).is_file())
