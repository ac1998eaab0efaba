from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import FtpExportCommon


@tagged("post_install", "-at_install")
class TestExportSecurity(FtpExportCommon):
    """Attacks by an administrator of the suite who is not an Odoo administrator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Administrator of the suite in company A only: configures targets,
        # may not read the stored passwords and keys.
        cls.suite_admin = cls._user("cr_suite_admin", "call_recording.group_call_recording_admin")
        # The same, in companies A and B.
        cls.suite_admin_ab = new_test_user(
            cls.env,
            login="cr_suite_admin_ab",
            groups="call_recording.group_call_recording_admin",
            company_id=cls.company.id,
            company_ids=[(6, 0, (cls.company | cls.company_b).ids)],
        )
        cls.line_b = cls.env["call.recording.line"].create(
            {"name": "B's hotline", "number": "+3615550177", "company_id": cls.company_b.id}
        )

    # -- hole 8: exports stay inside the target's company --------------------------

    def test_no_scope_sends_another_company_s_calls(self):
        """A target of company A never queues company B's calls, whatever its scope."""
        target = self.target_ftp.with_user(self.suite_admin)
        with self.assertRaises(ValueError):
            target.call_scope = "all"  # the scope that crossed companies is gone
        run = target._run()
        self.assertEqual(run.file_count, 2)
        self.assertNotIn(self.call_other, self.target_ftp.export_ids.call_id)
        manifest = self.on_server(self.target_ftp, run.manifest_paths.split()[0]).read_text()
        self.assertNotIn(self.call_other.name, manifest)
        # B's call on a line of A's target is not A's either
        line_a = self.env["call.recording.line"].create(
            {"name": "A's line", "number": "+3615550100", "company_id": self.company.id}
        )
        # (set in the database: no code path of the suite would do it)
        self.env.cr.execute(
            "UPDATE call_recording SET line_id = %s WHERE id = %s", [line_a.id, self.call_other.id]
        )
        self.call_other.invalidate_recordset(["line_id"])
        self.target_ftp.write({"call_scope": "lines", "line_ids": [(6, 0, line_a.ids)]})
        self.target_ftp._run()
        self.assertNotIn(self.call_other, self.target_ftp.export_ids.call_id)

    def test_admin_of_two_companies_cannot_put_b_lines_on_a_target(self):
        target = self.target_ftp.with_user(self.suite_admin_ab)
        with self.assertRaises(UserError):
            target.write({"call_scope": "lines", "line_ids": [(6, 0, self.line_b.ids)]})
        with self.assertRaises(UserError):
            self.env["call.recording.export.target"].with_user(self.suite_admin_ab).create(
                {
                    "name": "Mixed",
                    "company_id": self.company.id,
                    "protocol": "ftp",
                    "host": "127.0.0.1",
                    "call_scope": "lines",
                    "line_ids": [(6, 0, self.line_b.ids)],
                }
            )

    def test_an_export_record_cannot_cross_companies(self):
        with self.assertRaises(ValidationError):
            self.env["call.recording.export"].create(
                {
                    "call_id": self.call_other.id,
                    "call_reference": self.call_other.name,
                    "target_id": self.target_ftp.id,
                    "company_id": self.company.id,
                }
            )

    # -- hole 9: the secrets follow the server they were entered for ------------------

    def test_moving_a_target_clears_the_secrets_for_who_cannot_read_them(self):
        moves = {
            "host": "127.0.0.2",
            "port": 2222,
            "protocol": "ftps",
            "host_key_fingerprint": f"SHA256:{'E' * 43}",
            "tls_verify": False,
            "tls_ca_cert": "-----BEGIN CERTIFICATE-----\nevil\n-----END CERTIFICATE-----",
            "tls_fingerprint": "AB:" * 31 + "AB",
        }
        for field_name, value in moves.items():
            with self.subTest(field=field_name):
                target = self.target_sftp
                target.write({"password": "s3cret", "private_key": self.openssh.private_key})
                attacker = target.with_user(self.suite_admin)
                with self.assertRaises(AccessError):
                    attacker.read(["password"])
                attacker.write({field_name: value})
                self.assertFalse(target.sudo().password, field_name)
                self.assertFalse(target.sudo().private_key, field_name)
                self.assertIn("password and private key were removed", target.message_ids[0].body)
                self.target_sftp.invalidate_recordset()

    def test_other_changes_keep_the_secrets(self):
        target = self.target_ftp
        attacker = target.with_user(self.suite_admin)
        attacker.write({"name": "Renamed", "schedule": "hourly", "base_folder": "other"})
        attacker.write({"host": target.host, "port": target.port})  # the same server
        self.assertEqual(target.sudo().password, self.proftpd.password)
        # an Odoo administrator may move it with its secrets
        target.with_user(self.admin).write({"host": "localhost"})
        self.assertEqual(target.sudo().password, self.proftpd.password)
        self.assertEqual(target._run().file_count, 2)

    def test_no_client_context_keeps_the_secrets(self):
        attacker = self.target_ftp.with_user(self.suite_admin).with_context(
            install_mode=True, tracking_disable=True, active_test=False
        )
        attacker.write({"host": "127.0.0.2"})
        self.assertFalse(self.target_ftp.sudo().password)
