"""The suite's test kit for Odoo tests: companies, users and calls, the
repository's fakes, cron commits switched off, and domain assertions
(``assertCallImported``, ``assertPurged``) in the manner of ``sms``'s ``MockSMS``.
"""

import hashlib
import importlib
import sys
from pathlib import Path
from unittest.mock import patch

from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase, get_db_name

from odoo.addons.call_recording.lib.audio import synth_call_wav

#: the repository's ``tests`` folder, home of the ``fakes`` package: pytest has
#: it on its ``pythonpath`` (pytest.ini); Odoo's test runner knows only the
#: add-ons path, hence :func:`import_fake`
REPOSITORY_TESTS = Path(__file__).resolve().parents[2] / "tests"


def import_fake(name):
    """The module ``tests/fakes/<name>.py`` of the repository, for Odoo tests.

    The one place where an Odoo test puts the repository's ``tests`` folder on
    ``sys.path`` (the fakes are loopback servers, not add-on code).
    """
    if str(REPOSITORY_TESTS) not in sys.path:
        sys.path.append(str(REPOSITORY_TESTS))
    return importlib.import_module(f"fakes.{name}")


def cron_commits_off(env, progress=None):
    """A patch under which cron code's progress commits are not made (see
    :meth:`CallRecordingCommon.switch_off_cron_commits`, which uses it for a
    whole test); usable as a context manager, e.g. in ``setUpClass``."""
    reported = [] if progress is None else progress

    def commit_progress(cron, processed=0, *, remaining=None, deactivate=False):
        reported.append((processed, remaining, deactivate))
        return float("inf")

    return patch.object(type(env["ir.cron"]), "_commit_progress", commit_progress)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class CallRecordingCommon(TransactionCase):
    """Two companies, their agents and managers, a portal user, and calls.

    ``call_a`` is agent A's call and ``call_b`` agent B's (both in
    ``company``, both with audio); ``call_other`` is in ``company_b``.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        hu = cls.env.ref("base.hu")
        cls.company = cls.env["res.company"].create(
            {"name": "Ügyfélszolgálat Kft.", "country_id": hu.id}
        )
        cls.company_b = cls.env["res.company"].create(
            {"name": "Másik Cég Zrt.", "country_id": hu.id}
        )
        cls.agent_a = cls._user("cr_agent_a", "call_recording.group_call_recording_user")
        cls.agent_b = cls._user("cr_agent_b", "call_recording.group_call_recording_user")
        cls.manager = cls._user(
            "cr_manager", "call_recording.group_call_recording_manager,base.group_allow_export"
        )
        cls.manager_b = cls._user(
            "cr_manager_b", "call_recording.group_call_recording_manager", company=cls.company_b
        )
        cls.portal = cls._user("cr_portal", "base.group_portal")
        cls.internal = cls._user("cr_internal", "base.group_user")

        cls.customer = cls._customer("Tóth Gábor", "06 30 901 2345")
        cls.audio_bytes = synth_call_wav(2, seed=1)
        cls.call_a = cls._call(cls.agent_a, "+36309012345", audio=True)
        cls.call_b = cls._call(cls.agent_b, "+36309012345", audio=True)
        cls.call_other = cls._call(cls.manager_b, "+36309012345", company=cls.company_b, audio=True)

    def switch_off_cron_commits(self):
        """Cron code commits its progress (``ir.cron._commit_progress``); a test may not.

        Until the end of the test, progress is not committed and a cron never
        runs out of time (as outside a cron job); returns the list of the
        progress reported, ``(processed, remaining, deactivate)`` per report.
        """
        progress = []
        patcher = cron_commits_off(self.env, progress)
        patcher.start()
        self.addCleanup(patcher.stop)
        return progress

    def rpc(self, user, model, method, *args, **kwargs):
        """``execute_kw`` over XML-RPC as ``user`` (password = login), in an ``HttpCase``."""
        try:
            return self.xmlrpc_object.execute_kw(
                get_db_name(), user.id, user.login, model, method, list(args), kwargs
            )
        finally:
            self.env.invalidate_all()

    # -- domain assertions ---------------------------------------------------------

    def assertCallImported(self, call, provider=None, audio=None, **values):
        """``call`` is one call stored by the import (or a push) of ``provider``.

        ``audio``: the bytes the provider served, stored whole (status
        ``available``, the same SHA-256 and bytes in the filestore); ``False``:
        a call without a recording (status ``none``); ``None``: not checked.
        ``values``: other fields of the call, compared one by one.
        """
        self.assertEqual(len(call), 1, f"one call expected, got {call}")
        if provider is not None:
            self.assertEqual(call.provider_id, provider)
        if audio:
            self.assertEqual(call.recording_status, "available", call.import_error)
            self.assertEqual(call.audio_sha256, sha256(audio))
            self.assertEqual(call.sudo()._get_audio_attachment().raw, audio, "stored whole")
        elif audio is False:
            self.assertEqual(call.recording_status, "none")
            self.assertFalse(call.sudo()._get_audio_attachment())
        for name, value in values.items():
            self.assertEqual(call[name], value, f"{call.external_id or call.name}: {name}")

    def assertPurged(self, call, rule=None, what="audio", logged=None, **values):
        """The ``what`` of ``call`` (a call or its reference) was deleted and logged.

        One entry of the purge log for it, under ``rule`` (when given), with
        ``values``; ``logged``: every kind of deletion logged for the call,
        ``(what,)`` by default (nothing else was deleted). Deleted audio (not
        replaced by other audio) is gone from a call that remains; a deleted
        call is gone.
        """
        reference = getattr(call, "name", call)
        logs = self.env["call.recording.purge.log"].search([("call_reference", "=", reference)])
        self.assertEqual(sorted(logs.mapped("what")), sorted(logged or (what,)), reference)
        log = logs.filtered(lambda entry: entry.what == what)
        if rule is not None:
            self.assertEqual(log.rule, rule, reference)
        for name, value in values.items():
            self.assertEqual(log[name], value, f"{reference}: {name}")
        if not isinstance(call, str):
            if what == "call":
                self.assertFalse(call.exists(), f"{reference} is deleted")
            elif what == "audio" and log.rule != "replaced" and call.exists():
                self.assertFalse(call.sudo()._get_audio_attachment(), f"{reference}: audio")
        return log

    @classmethod
    def _user(cls, login, groups, company=None, **values):
        """A user of ``company`` only (``company`` by default), password = login."""
        company = company or cls.company
        return new_test_user(
            cls.env,
            login=login,
            password=login,
            groups=groups,
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
            **values,
        )

    @classmethod
    def _call(cls, agent, number, company=None, audio=False, **vals):
        company = company or cls.company
        call = cls.env["call.recording"].create(
            {
                "direction": "inbound",
                "caller_number": number,
                "callee_number": "+3615550100",
                "duration": 2,
                "user_id": agent.id,
                "company_id": company.id,
                **vals,
            }
        )
        if audio:
            call._set_audio_bytes(cls.audio_bytes)
        return call

    @classmethod
    def _seeded_call(cls, row, company=None):
        """A call of a report's seed ``row``: (agent, direction, state, seconds,
        start); from a customer's number, or from an extension if internal."""
        agent, direction, state, seconds, start = row
        return cls._call(
            agent,
            "+36301112222" if direction != "internal" else "101",
            company=company,
            direction=direction,
            state=state,
            duration=seconds,
            start_datetime=start,
        )

    @classmethod
    def _call_out(cls, agent, number, when, **vals):
        """``agent`` calls ``number`` from the service line at ``when``."""
        vals = {"caller_number": "+3615550100", "callee_number": number, **vals}
        return cls._call(agent, number, direction="outbound", start_datetime=when, **vals)

    @classmethod
    def _map_agent(cls, provider, external_user_id, user, name=None):
        """Link the provider's user ``external_user_id`` to ``user`` (as an administrator does)."""
        vals = {"provider_id": provider.id, "external_user_id": external_user_id}
        return cls.env["call.recording.provider.user"].create(
            {**vals, "user_id": user.id, **({"name": name} if name else {})}
        )

    @classmethod
    def _push_account(cls, name, users, company=None):
        """A Push API account of ``company`` (``company`` by default) that ``users`` deliver to."""
        return cls.env["call.recording.provider"].create(
            {
                "name": name,
                "provider_type": "push",
                "company_id": (company or cls.company).id,
                "push_user_ids": [(6, 0, users.ids)],
            }
        )

    @classmethod
    def _customer(cls, name, phone):
        """A Hungarian contact with a phone number."""
        return cls.env["res.partner"].create(
            {"name": name, "phone": phone, "country_id": cls.env.ref("base.hu").id}
        )
