"""A real S3 server on loopback (SeaweedFS) holding the recordings of the tests."""

import datetime
import json
from unittest.mock import patch

import s3fs
from freezegun import api as freezegun_api

from odoo.addons.call_recording.tests.common import cron_commits_off, import_fake

real_servers = import_fake("real_servers")
SeaweedFSServer, free_port = real_servers.SeaweedFSServer, real_servers.free_port

CODE = "crtest_s3"


#: the real clock, kept in a dict: freeze_time swaps module attributes only
_REAL = {"datetime": freezegun_api.real_datetime}


def _real_now(remove_tzinfo=True):
    """botocore's clock, never frozen."""
    now = _REAL["datetime"].now(datetime.UTC)
    return now.replace(tzinfo=None) if remove_tzinfo else now


class ObjectStorageMixin:
    """Mixed into a test class of the suite: its recordings live in SeaweedFS.

    SeaweedFS (``weed mini``) is started for the class on free loopback
    ports, an ``fs.storage`` of protocol ``s3`` is configured for the
    recordings as README.rst says (the storage's own button), and the
    recordings the class made in the filestore are moved there by the
    migration command, so that every test of the class runs on object
    storage.  ``bucket_fs`` reads the bucket directly, as another S3
    client: what the tests check is what the store holds.
    """

    #: the suite's test methods run again here (Odoo's loader takes a
    #: class's own methods only, unless told)
    allow_inherited_tests_method = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # S3 requests are signed with the time: the client keeps the real
        # one under the tests' freeze_time (the store refuses another day's).
        for target in ("botocore.auth", "aiobotocore.signers"):
            cls.startClassPatcher(patch(f"{target}.get_current_datetime", _real_now))
        cls.s3 = SeaweedFSServer().start()
        cls.addClassCleanup(cls.s3.stop)
        cls.addClassCleanup(cls.registry.clear_all_caches)
        cls.storage = cls.env["fs.storage"].create(
            {
                "name": "Recordings (SeaweedFS)",
                "code": CODE,
                "protocol": "s3",
                "options": json.dumps(cls.s3.s3_options()),
                "directory_path": cls.s3.bucket,
            }
        )
        cls.storage.action_store_call_recordings()
        cls.bucket_fs = s3fs.S3FileSystem(skip_instance_cache=True, **cls.s3.s3_options())
        with cron_commits_off(cls.env):
            cls.env["call.recording.file"]._move_to_object_storage()

    def _after_commit(self):
        """Run what runs once the transaction is committed (the files' deletions)."""
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()

    def _key(self, attachment):
        fname = attachment.sudo().store_fname
        self.assertTrue(fname.startswith(f"{CODE}://"), f"{fname} is in the object storage")
        return fname.partition("://")[2]

    def _object(self, key):
        """The bytes the bucket holds under ``key`` (None when there is no such object)."""
        path = f"{self.s3.bucket}/{key}"
        self.bucket_fs.invalidate_cache()
        if not self.bucket_fs.exists(path):
            return None
        return self.bucket_fs.cat_file(path)

    def _store_down(self):
        """The storage's endpoint turned to a port where nothing answers."""
        options = self.s3.s3_options()
        options["endpoint_url"] = f"http://127.0.0.1:{free_port()}"
        self._set_options(options)

    def _store_up(self):
        self._set_options(self.s3.s3_options())

    def _set_options(self, options):
        self.storage.options = json.dumps(options)
        # the requests of HttpCase read the database: written now, and no
        # file system of the old options kept in a cache
        self.env.flush_all()
        self.registry.clear_cache()
