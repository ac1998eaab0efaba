import csv
import hashlib
import io
import json
import os
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models import evidence

from .common import FtpExportCommon, OpenSSHServer


@tagged("post_install", "-at_install")
class TestRemoteAudio(FtpExportCommon):
    def _export_and_remove(self, target):
        target.remove_local_audio = True
        run = target._run()
        self.assertEqual(run.removed_local_count, 2, run.log)
        return run

    def test_local_audio_removed_after_verified_transfer_and_fetched_back(self):
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                call = self.call_a
                sha = call.audio_sha256
                self._export_and_remove(target)
                self.assertEqual(call.recording_status, "remote")
                self.assertTrue(call.has_audio)
                self.assertEqual(call.audio_url, f"/call_recording/{call.id}/audio")
                self.assertFalse(call._get_audio_attachment())
                self.assertEqual(call.audio_sha256, sha, "the checksum stays for the fetch-back")
                # playing it brings it back, verified
                attachment = call.with_user(self.agent_a)._get_playable_audio_attachment()
                self.assertTrue(attachment)
                self.assertEqual(attachment.sudo().raw, self.audio_bytes)
                self.assertEqual(call.recording_status, "available")
                export = call.export_ids.filtered(lambda e, t=target: e.target_id == t)
                self.assertTrue(export.fetched_date)
                # the next run removes it again, without sending it twice
                run = target._run()
                self.assertEqual(run.file_count, 0)
                self.assertEqual(run.removed_local_count, 1)
                self.assertEqual(call.recording_status, "remote")
                # next protocol starts from local audio again
                for back in self.call_a | self.call_b:
                    back._fetch_back_audio()
                target.remove_local_audio = False
                target.export_ids.unlink()

    def test_local_file_goes_once_committed_and_comes_back(self):
        call = self._call(self.agent_a, "+36301112244")
        call._set_audio_bytes(synth_call_wav(2, seed=4242))  # a file of its own
        attachment = call._get_audio_attachment()
        path = attachment._full_path(attachment.store_fname)
        self.target_sftp.remove_local_audio = True
        self.target_sftp._run()
        self.assertEqual(call.recording_status, "remote")
        self.assertTrue(os.path.exists(path), "kept until the removal is committed")
        with self.enter_registry_test_mode():  # its cursors see this transaction's work
            self.env.cr.postcommit.run()  # what happens when the removal is committed
        self.assertFalse(os.path.exists(path))
        fetched = call._get_playable_audio_attachment().sudo()
        self.assertEqual(fetched._full_path(fetched.store_fname), path)
        with open(path, "rb") as fp:
            self.assertEqual(hashlib.sha256(fp.read()).hexdigest(), call.audio_sha256)

    def test_unverified_upload_keeps_local_audio(self):
        self.ftp.faults.wrong_hash = True
        self.fake_ftp.remove_local_audio = True
        run = self.fake_ftp._run()
        self.assertEqual(run.file_count, 0)
        self.assertIn("differs from the recording", run.log)
        self.assertEqual(self.call_a.recording_status, "available")
        self.assertTrue(self.call_a._get_audio_attachment())

    def test_fetch_back_refuses_a_changed_file(self):
        self._export_and_remove(self.target_sftp)
        export = self.call_a.export_ids
        self.on_server(self.target_sftp, export.remote_path).write_bytes(synth_call_wav(2, seed=9))
        self.assertFalse(self.call_a._get_playable_audio_attachment())
        self.assertEqual(self.call_a.recording_status, "remote")
        self.assertIn("not the recording", export.last_error)

    def _consent_call(self):
        """A call with audio on a line recorded with the caller's consent."""
        self.env["call.recording.line"].create(
            {
                "name": "Newsroom",
                "number": "+3615550199",
                "company_id": self.company.id,
                "policy": "consent",
            }
        )
        return self._call(self.agent_a, "+36301112233", callee_number="+3615550199", audio=True)

    def test_refusal_deletes_remote_copy(self):
        call = self._consent_call()
        self.assertEqual(call.legal_basis, "consent")
        self.target_ftp._run()
        export = self.assertExported(call, self.target_ftp)
        path = self.on_server(self.target_ftp, export.remote_path)
        call.with_user(self.agent_a).action_consent_refused()
        self.assertEqual(call.recording_status, "refused")
        self.assertEqual(export.state, "to_delete")
        self.assertEqual(export.delete_reason, "refused")
        run = self.target_ftp._run()
        self.assertFalse(path.exists())
        self.assertEqual(export.state, "deleted")
        self.assertEqual(run.deleted_count, 1)
        self.assertIn(call.name, run.log)

    def test_refusal_of_remote_only_audio_deletes_remote_copy(self):
        call = self._consent_call()
        self.target_sftp.remove_local_audio = True
        self.target_sftp._run()
        self.assertEqual(call.recording_status, "remote")
        call.with_user(self.agent_a).action_consent_refused()
        self.assertEqual(call.recording_status, "refused")
        self.assertFalse(call.has_audio)
        self.assertPurged(call, "consent")
        self.target_sftp._run()
        self.assertFalse(self.on_server(self.target_sftp, call.export_ids.remote_path).exists())

    def test_retention_purge_deletes_remote_copy_but_not_held(self):
        self._export_and_remove(self.target_ftp)
        held = self.call_b
        self.env["call.recording.hold"].create(
            {"name": "Dispute", "company_id": self.company.id, "call_ids": [(6, 0, held.ids)]}
        )
        past = fields.Date.today() - timedelta(days=1)
        evidence.writer(self.call_a | held).write({"retention_date": past})
        self.env["call.recording"]._cron_purge()
        self.assertEqual(self.call_a.recording_status, "purged", "remote audio expires too")
        self.assertEqual(held.recording_status, "remote")
        run = self.target_ftp._run()
        self.assertEqual(run.deleted_count, 1)
        self.assertFalse(
            self.on_server(self.target_ftp, self.call_a.export_ids.remote_path).exists()
        )
        self.assertTrue(self.on_server(self.target_ftp, held.export_ids.remote_path).exists())
        # the call's data outlives its audio only while the audio is somewhere
        self.assertNotIn(
            held,
            self.env["call.recording"].search(self.env["call.recording"]._metadata_due_domain()),
        )

    def test_manifests_and_our_records_follow_the_purge(self):
        """What we wrote of a purged call stops naming the other party: the
        batch's manifests on the server, the export's path, the run's log."""
        target = self.target_ftp
        target.path_template = "{year}/{reference}_{number}.{ext}"  # the number in the path
        target._run()
        export_a, export_b = self.call_a.export_ids, self.call_b.export_ids
        self.assertTrue(export_a.manifest_path)
        self.assertEqual(export_a.manifest_path, export_b.manifest_path, "one batch")
        listing = self.on_server(target, export_a.manifest_path)
        sheet = self.on_server(target, export_a.manifest_path.removesuffix(".json") + ".csv")
        number = self.call_a.external_number_e164.lstrip("+")
        old_path = export_a.remote_path
        self.assertIn(number, old_path)
        reference = self.call_a.name
        past = fields.Date.today() - timedelta(days=1)
        evidence.writer(self.call_a).write(
            {"retention_date": past, "metadata_retention_date": past}
        )
        self.env["call.recording"]._cron_purge()
        self.assertFalse(self.call_a.exists(), "audio and call data both past their date")
        self.assertEqual(export_a.state, "to_delete", "the server copy is still to delete")
        run = target._run()
        self.assertEqual(export_a.state, "deleted")
        self.assertFalse(self.on_server(target, old_path).exists())
        rows = {row["reference"]: row for row in json.loads(listing.read_text())["files"]}
        self.assertEqual((rows[reference]["number"], rows[reference]["remote_path"]), ("", ""))
        self.assertEqual(rows[reference]["removed"], "Retention period over")
        self.assertEqual(rows[reference]["sha256"], export_a.sha256, "its facts stay")
        kept = rows[self.call_b.name]
        self.assertEqual(kept["number"], self.call_b.external_number_e164)
        self.assertEqual(kept["remote_path"], export_b.remote_path)
        self.assertEqual(kept["removed"], None)
        csv_rows = {row["reference"]: row for row in csv.DictReader(io.StringIO(sheet.read_text()))}
        self.assertEqual(csv_rows[reference]["number"], "")
        self.assertNotIn(old_path, sheet.read_text())
        # our own records: no path, and a log that names the reference only
        self.assertFalse(export_a.remote_path)
        self.assertNotIn(old_path, run.log or "")
        self.assertIn(reference, run.log)

    def test_queued_deletion_waits_for_legal_hold(self):
        self.target_ftp._run()
        call = self.call_a
        export = call.export_ids
        export.write({"state": "to_delete", "delete_reason": "purged"})
        hold = self.env["call.recording.hold"].create(
            {"name": "Authority", "company_id": self.company.id, "call_ids": [(6, 0, call.ids)]}
        )
        self.target_ftp._run()
        self.assertEqual(export.state, "to_delete")
        self.assertTrue(self.on_server(self.target_ftp, export.remote_path).exists())
        hold.action_release(reason="Closed")
        self.target_ftp._run()
        self.assertEqual(export.state, "deleted")

    def test_hand_over_includes_and_fetches_back_remote_recordings(self):
        self._export_and_remove(self.target_ftp)
        request = self.env["call.recording.request"].create(
            {"partner_id": self.customer.id, "company_id": self.company.id}
        )
        request.action_add_all_calls()
        self.assertEqual(request.call_ids, self.call_a | self.call_b)
        package = request._build_package()
        self.assertTrue(package)
        self.assertEqual(self.call_a.recording_status, "available", "fetched back for the ZIP")

    def test_hand_over_says_so_when_a_server_copy_cannot_be_read(self):
        self._export_and_remove(self.target_sftp)
        export = self.call_a.export_ids
        self.on_server(self.target_sftp, export.remote_path).write_bytes(synth_call_wav(2, seed=9))
        request = self.env["call.recording.request"].create(
            {"partner_id": self.customer.id, "company_id": self.company.id}
        )
        request.action_add_all_calls()
        with self.assertRaisesRegex(UserError, "cannot be read now"):
            request._build_package()

    def test_cron_deletes_between_scheduled_runs(self):
        self.target_ftp._run()
        later = fields.Datetime.now() + timedelta(days=1)
        self.target_ftp.next_run_date = later
        exports = self.target_ftp.export_ids
        exports.write({"state": "to_delete", "delete_reason": "purged"})
        self.env["call.recording.hold"].create(
            {
                "name": "Dispute",
                "company_id": self.company.id,
                "call_ids": [(6, 0, self.call_b.ids)],
            }
        )
        self.cron_export()
        self.assertEqual(len(self.target_ftp.run_ids), 2)
        run = self.target_ftp.run_ids.sorted("id")[-1]
        self.assertEqual(run.deleted_count, 1)
        self.assertEqual(run.file_count, 0)
        self.assertEqual(self.target_ftp.next_run_date, later, "the schedule is kept")
        # only the held copy is left: no more empty runs
        self.cron_export()
        self.assertEqual(len(self.target_ftp.run_ids), 2)
        held = exports.filtered(lambda e: e.call_id == self.call_b)
        self.assertEqual(held.state, "to_delete")
        self.assertTrue(self.on_server(self.target_ftp, held.remote_path).exists())

    def test_legal_obligation_remote_recording_cannot_be_removed_early(self):
        self._export_and_remove(self.target_ftp)
        call = self.call_a
        evidence.writer(call).write(
            {"legal_basis": "legal", "retention_date": fields.Date.today() + timedelta(days=30)}
        )
        with self.assertRaisesRegex(Exception, "legal obligation"):
            call._remove_audio()


@tagged("post_install", "-at_install")
class TestPlaybackRoute(HttpCase):
    """The audio route fetches a removed recording back; access checks and the log apply."""

    def test_route_fetches_back(self):
        server = OpenSSHServer().start()
        self.addCleanup(server.stop)
        company = self.env.company
        agent = new_test_user(
            self.env,
            login="cr_ftp_agent",
            password="cr_ftp_agent",
            groups="call_recording.group_call_recording_user",
        )
        new_test_user(
            self.env,
            login="cr_ftp_other",
            password="cr_ftp_other",
            groups="call_recording.group_call_recording_user",
        )
        call = self.env["call.recording"].create(
            {
                "caller_number": "+36301234567",
                "callee_number": "+3615550100",
                "duration": 2,
                "user_id": agent.id,
                "company_id": company.id,
            }
        )
        audio = synth_call_wav(2, seed=3)
        call._set_audio_bytes(audio)
        target = self.env["call.recording.export.target"].create(
            {
                "name": "SFTP",
                "protocol": "sftp",
                "host": server.host,
                "port": server.port,
                "username": server.user,
                "auth_method": "key",
                "private_key": server.private_key,
                "host_key_fingerprint": server.keyscan(),
                "company_id": company.id,
                "remove_local_audio": True,
                "retry_delay": 0,
            }
        )
        target._run()
        self.assertEqual(call.recording_status, "remote")

        self.authenticate("cr_ftp_other", "cr_ftp_other")
        self.assertEqual(self.url_open(f"/call_recording/{call.id}/audio").status_code, 404)
        self.assertEqual(call.recording_status, "remote", "no fetch-back for the refused")

        self.authenticate("cr_ftp_agent", "cr_ftp_agent")
        response = self.url_open(f"/call_recording/{call.id}/audio")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, audio)
        log = self.env["call.recording.access.log"].search([("call_id", "=", call.id)])
        played = log.filtered(lambda entry: entry.access_type == "play")
        self.assertEqual(played.user_id, agent)
        self.assertEqual((log - played).access_type, "refused", "the other user's attempt")
