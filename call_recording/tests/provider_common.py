"""Provider accounts wired to the fake provider servers of the repository's ``tests/fakes``."""

import hashlib
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo.tests.common import _super_send

from odoo.addons.call_recording.lib.audio import synth_call_wav

from .common import CallRecordingCommon

_FAKES = Path(__file__).resolve().parents[2] / "tests"
if str(_FAKES) not in sys.path:
    sys.path.insert(0, str(_FAKES))

from fakes.aircall import FakeAircall  # noqa: E402
from fakes.twilio import FakeTwilio  # noqa: E402
from fakes.zadarma import FakeZadarma  # noqa: E402

FAKES = {"twilio": FakeTwilio, "aircall": FakeAircall, "zadarma": FakeZadarma}
CREDENTIALS = {
    "twilio": {"login": "AC" + "0" * 31 + "1", "secret": "twilio-auth-token"},
    "aircall": {"login": "aircall-api-id", "secret": "aircall-api-token"},
    "zadarma": {"login": "zadarma-user-key", "secret": "zadarma-secret"},
}
AIRCALL_WEBHOOK_TOKEN = "aircall-webhook-token"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class ProviderCommon(CallRecordingCommon):
    """One account per provider in ``company``, each on its own fake server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The demo's accounts point to servers that tests do not start.
        cls.env["call.recording.provider"].search([]).active = False
        cls.fakes = {}
        cls.providers = {}
        for code, fake_class in FAKES.items():
            kwargs = dict(CREDENTIALS[code])
            if code == "aircall":
                kwargs["webhook_token"] = AIRCALL_WEBHOOK_TOKEN
                kwargs["rate_limit_per_minute"] = 10000  # the quota's own tests set theirs
            if code == "zadarma":
                kwargs["timezone"] = "Europe/Budapest"
                kwargs["rate_limit_per_minute"] = 10000
            fake = fake_class(**kwargs).start()
            cls.addClassCleanup(fake.stop)
            cls.fakes[code] = fake
            cls.providers[code] = cls.env["call.recording.provider"].create(
                {
                    "name": f"Test {code}",
                    "provider_type": code,
                    "company_id": cls.company.id,
                    "base_url": fake.base_url,
                    "webhook_secret": AIRCALL_WEBHOOK_TOKEN if code == "aircall" else False,
                    "timezone": "Europe/Budapest",
                    "sync_start": datetime.now() - timedelta(days=3),
                    "max_retries": 2,
                    "timeout": 5,
                    "rate_limit_per_minute": 10000 if code == "zadarma" else False,
                    **CREDENTIALS[code],
                }
            )
        cls.audio_1 = synth_call_wav(1, seed=11)
        cls.audio_2 = synth_call_wav(1, seed=12)

    def setUp(self):
        super().setUp()
        for fake in self.fakes.values():
            fake.reset()
        # Tests may not commit; the import's progress commits become no-ops.
        patcher = patch.object(
            type(self.env["ir.cron"]),
            "_commit_progress",
            lambda self_, processed=0, **kw: float("inf"),
        )
        patcher.start()
        self.addCleanup(patcher.stop)
        # Fast retries against the fakes: a test setting, patched in (no
        # context key can change an adapter's settings).
        Provider = type(self.env["call.recording.provider"])
        adapter_config = Provider._adapter_config
        self.patch(
            Provider,
            "_adapter_config",
            lambda provider: dict(adapter_config(provider), backoff_factor=0.01),
        )

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        """Requests to the fakes keep their own timeouts (Odoo's tests raise them to 10 s)."""
        if urlsplit(r.url).hostname == "127.0.0.1":
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    @staticmethod
    def ago(**kwargs):
        return datetime.now(UTC).replace(microsecond=0) - timedelta(**kwargs)

    def calls_of(self, provider):
        return self.env["call.recording"].search([("provider_id", "=", provider.id)])

    @contextmanager
    def assert_no_new_calls(self, provider):
        before = self.calls_of(provider)
        yield
        self.assertEqual(self.calls_of(provider), before)
