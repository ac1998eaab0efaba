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
        export = self.target_ftp.export_ids.filtered(lambda e: e.call_id == call)
        self.assertEqual(export.state, "done")
        self.assertTrue(export.remote_path.startswith("archive/"))
        self.assertNotIn("..", export.remote_path.split("/"))
        self.assertTrue(self.on_server(self.target_ftp, export.remote_path).is_file())
