"""The suite's own tests again, with the recordings in object storage.

Each class below is a test class of ``call_recording`` (or
``call_recording_ftp``) run unchanged, except that its recordings live in
a real S3 bucket (SeaweedFS on loopback, see ``common.py``): what reads or
writes audio works the same on object storage.  Modules are imported, not
classes, so that the originals are not collected twice.
"""

from odoo.tests import tagged

from odoo.addons.call_recording.tests import (
    test_access,
    test_compliance,
    test_import,
    test_import_providers,
    test_push_api,
    test_upload,
)

from .common import ObjectStorageMixin


@tagged("post_install", "-at_install")
class TestAudioRouteOnObjectStorage(ObjectStorageMixin, test_access.TestAccessHttp):
    """The audio route: full answers, Range requests (206), refusals, the log."""


@tagged("post_install", "-at_install")
class TestPurgeAndHoldOnObjectStorage(ObjectStorageMixin, test_compliance.TestPurgeAndHold):
    pass


@tagged("post_install", "-at_install")
class TestHandOverOnObjectStorage(ObjectStorageMixin, test_compliance.TestHandOverRequest):
    pass


@tagged("post_install", "-at_install")
class TestHandOverLinkOnObjectStorage(ObjectStorageMixin, test_compliance.TestHandOverLink):
    pass


@tagged("post_install", "-at_install")
class TestUploadOnObjectStorage(ObjectStorageMixin, test_upload.TestUpload):
    pass


@tagged("post_install", "-at_install")
class TestPushApiOnObjectStorage(ObjectStorageMixin, test_push_api.TestPushApi):
    pass


@tagged("post_install", "-at_install")
class TestImportOnObjectStorage(ObjectStorageMixin, test_import.TestProviderImport):
    pass


@tagged("post_install", "-at_install")
class TestShortDownloadsOnObjectStorage(
    ObjectStorageMixin, test_import_providers.TestShortDownloads
):
    pass
