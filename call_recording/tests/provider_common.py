"""Provider accounts wired to the fake provider servers of the repository's ``tests/fakes``."""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from odoo.tests.common import _super_send

from odoo.addons.call_recording.lib.audio import synth_call_wav

from .common import CallRecordingCommon, import_fake

FAKES = {
    "twilio": import_fake("twilio").FakeTwilio,
    "aircall": import_fake("aircall").FakeAircall,
    "zadarma": import_fake("zadarma").FakeZadarma,
}
CREDENTIALS = {
    "twilio": {"login": "AC" + "0" * 31 + "1", "secret": "twilio-auth-token"},
    "aircall": {"login": "aircall-api-id", "secret": "aircall-api-token"},
    "zadarma": {"login": "zadarma-user-key", "secret": "zadarma-secret"},
}
AIRCALL_WEBHOOK_TOKEN = "aircall-webhook-token"
#: a call as :meth:`ProviderCommon.add_call` puts it in a fake: the customer
#: (``customer``, +36 30 901 2345) calls the service line
CALL_DEFAULTS = {
    "direction": "inbound",
    "caller": "+36309012345",
    "callee": "+3615550100",
    "duration": 30,
}


class ProviderCommon(CallRecordingCommon):
    """One account per provider in ``company``, each on its own fake server."""

    #: how :meth:`sync` runs the import
    sync_trigger = "cron"

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
        self.cron_progress = self.switch_off_cron_commits()
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

    def add_call(self, code, **values):
        """A call in provider ``code``'s fake (:data:`CALL_DEFAULTS`, an hour ago,
        with ``audio_1`` as its recording unless ``values`` say otherwise)."""
        values = {"start": self.ago(hours=1), **CALL_DEFAULTS, "audio": self.audio_1, **values}
        return self.fakes[code].add_call(**values)

    def _add_calls(self, code):
        """Two calls in provider ``code``'s fake: an answered one with a recording
        and an agent, then a missed one without; their ids at the provider."""
        with_audio = self.add_call(
            code,
            start=self.ago(hours=5),
            duration=61,
            agent_email="cr_agent_a@example.com",
            agent_id="501",
        )
        no_audio = self.add_call(
            code,
            start=self.ago(hours=4),
            direction="outbound",
            caller="+3615550100",
            callee="+36209997777",
            duration=0,
            state="missed",
            audio=None,
        )
        return with_audio, no_audio

    def sync(self, provider, trigger=None):
        """One import run of ``provider``; its log."""
        log = provider._sync(trigger=trigger or self.sync_trigger)
        self.assertTrue(log, "the sync did not run")
        return log

    def call_of(self, provider, ext):
        """The call of ``provider`` with the external id ``ext``."""
        return self.calls_of(provider).filtered(lambda call: call.external_id == ext)

    def calls_of(self, provider):
        return self.env["call.recording"].search([("provider_id", "=", provider.id)])

    @contextmanager
    def assert_no_new_calls(self, provider):
        before = self.calls_of(provider)
        yield
        self.assertEqual(self.calls_of(provider), before)
