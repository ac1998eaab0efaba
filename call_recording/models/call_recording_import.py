from datetime import UTC, timedelta

from odoo import api, fields, models

from . import evidence

#: How many failed download attempts before the recording is marked failed.
MAX_DOWNLOAD_ATTEMPTS = 8
#: How long after its end a call whose recording the provider may still be
#: processing is read again (Aircall adds recordings after the call).
RECHECK_HOURS = 24


class CallRecording(models.Model):
    """Where an imported call came from, and the state of its download."""

    _inherit = "call.recording"

    provider_id = fields.Many2one(
        "call.recording.provider",
        string="Provider Account",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="The telephony provider account the call was imported from.",
    )
    external_id = fields.Char(
        string="Provider Call ID",
        readonly=True,
        copy=False,
        help="The call's identifier at the provider; unique per provider account.",
    )
    provider_recording_ref = fields.Char(
        string="Provider Recording ID",
        readonly=True,
        copy=False,
        groups="call_recording.group_call_recording_manager",
    )
    import_error = fields.Text(
        string="Download Error",
        readonly=True,
        copy=False,
        help="Why the last download of the recording failed; it is tried again.",
    )
    import_attempts = fields.Integer(string="Download Attempts", readonly=True, copy=False)
    import_next_try = fields.Datetime(string="Next Download Attempt", readonly=True, copy=False)
    provider_recording_duration = fields.Integer(
        string="Recording Length at Provider (s)",
        readonly=True,
        copy=False,
        help="The recording's length as the provider reported it; a download "
        "shorter than that is not stored.",
    )
    import_verify = fields.Boolean(
        string="Check Against Provider",
        readonly=True,
        copy=False,
        help="The stored recording is downloaded again and compared with the "
        "provider's copy; a stored copy that was cut short is completed.",
    )
    import_recheck_until = fields.Datetime(
        string="Recording Awaited Until",
        readonly=True,
        copy=False,
        help="The provider may still add a recording to this call: it is read again until then.",
    )

    _provider_external_unique = models.Constraint(
        "UNIQUE(provider_id, external_id)",
        "A call can be imported only once from a provider account.",
    )
    _pending_download_idx = models.Index(
        "(provider_id, import_next_try) WHERE recording_status = 'pending'"
    )
    _recheck_idx = models.Index(
        "(provider_id, import_next_try) WHERE import_recheck_until IS NOT NULL"
    )

    def action_retry_download(self):
        """Try the download of failed recordings again on the next run.

        A recording already stored is downloaded again and compared with the
        provider's copy (one stored before downloads were checked may have
        been cut short): the stored copy is completed if it is the start of
        the provider's, and kept otherwise.
        """
        self.check_access("write")
        retry = self.filtered(
            lambda c: (
                c.provider_id
                and c.provider_id.provider_type != "push"
                and c.recording_status in ("failed", "pending")
            )
        )
        verify = self.filtered(
            lambda c: (
                c.provider_id
                and c.provider_id.provider_type != "push"
                and c.recording_status == "available"
                and c.provider_recording_ref
            )
        )
        # Download state is evidence; managers may only reset it (the
        # recording reference stays the provider's).
        evidence.writer(retry).write(
            {"recording_status": "pending", "import_attempts": 0, "import_next_try": False}
        )
        evidence.writer(verify).write(
            {"import_verify": True, "import_attempts": 0, "import_next_try": False}
        )
        if retry or verify:
            self.env.ref("call_recording.ir_cron_call_recording_provider_sync")._trigger()
        return True

    def _phone_region(self):
        """The region of national numbers: the company's country, else the
        account's lines' (a company without a country whose lines are +36)."""
        region = super()._phone_region()
        if not region and self.provider_id:
            region = self.provider_id._phone_region()
        return region

    # ------------------------------------------------------------------
    # Create or update from a provider's report
    # ------------------------------------------------------------------

    @api.model
    def _upsert_provider_calls(self, provider, pcalls):
        """Create or update calls of ``provider`` from :class:`ProviderCall` objects.

        Idempotent: a call is found by (provider account, external id), so
        the same report delivered twice (cron and webhook, a replay, an
        overlap window) changes nothing the second time.  A later report
        completes an earlier one but never undoes what is stored: a known
        recording, a downloaded audio, a refusal, a link made by hand.
        Returns ``(calls, counts)`` with counts ``created``, ``updated``
        and ``skipped``.
        """
        # Imports write calls (evidence) of every agent of the account, as
        # the evidence writer; the callers (cron, webhook with its signature,
        # Push API with its group) check who may import.
        Call = evidence.writer(self).with_context(
            active_test=False, mail_create_nolog=True, tracking_disable=True
        )
        reports = {}
        for pcall in pcalls:
            reports[pcall.external_id] = pcall  # the last report of a call wins
        existing = {
            call.external_id: call
            for call in Call.search(
                [("provider_id", "=", provider.id), ("external_id", "in", list(reports))]
            )
        }
        agents = self.env["call.recording.provider.user"]._resolve_agents(
            provider, reports.values()
        )
        companies = provider._call_companies(reports.values())
        # sudo: the agents' companies, whoever imports.
        user_companies = {
            user.id: set(user.company_ids.ids)
            for user in self.env["res.users"].sudo().browse(set(agents.values()))
        }
        counts = {"created": 0, "updated": 0, "skipped": 0}
        new_vals = []
        calls = Call.browse()
        delivered = Call.browse()
        for external_id, pcall in reports.items():
            call = existing.get(external_id)
            if call is None:
                vals = Call._provider_call_vals(provider, pcall, agents, companies[external_id])
                if vals["company_id"] not in user_companies.get(vals["user_id"], ()):
                    vals["user_id"] = False  # an agent of another company
                new_vals.append(vals)
                continue
            changes = call._provider_call_changes(pcall, agents)
            if changes:
                call.write(changes)
                counts["updated"] += 1
                if "awaiting_delivery" in changes:
                    delivered |= call
            else:
                counts["skipped"] += 1
            calls |= call
        if delivered:
            # The call reserved at its start is here: its line and legal
            # basis follow what was delivered (the reference stays).
            delivered._apply_recording_policy()
            delivered._hold_back_downloads()
        if new_vals:
            created = Call.create(new_vals)
            created._hold_back_downloads()
            counts["created"] += len(created)
            calls |= created
        return calls.with_env(self.env), counts

    @api.model
    def _provider_call_vals(self, provider, pcall, agents, company_id):
        vals = {
            "provider_id": provider.id,
            "external_id": pcall.external_id,
            "company_id": company_id,
            "direction": pcall.direction,
            "state": pcall.state,
            "caller_number": pcall.caller_number or False,
            "callee_number": pcall.callee_number or False,
            "start_datetime": fields.Datetime.to_string(
                pcall.start.astimezone(UTC).replace(tzinfo=None)
            ),
            "duration": max(int(pcall.duration or 0), 0),
            "user_id": agents.get(pcall.agent_key) or False,
            "recording_status": "pending" if pcall.recording_ref else "none",
            "provider_recording_ref": pcall.recording_ref or False,
            "provider_recording_duration": pcall.recording_duration or 0,
        }
        if pcall.recording_expected and not pcall.recording_ref:
            vals["import_recheck_until"] = self._recheck_until(pcall)
        return vals

    @api.model
    def _recheck_until(self, pcall):
        """Until when a call whose recording may still come is read again (False: no more)."""
        end = pcall.start.astimezone(UTC).replace(tzinfo=None) + timedelta(
            seconds=max(int(pcall.duration or 0), 0)
        )
        until = end + timedelta(hours=RECHECK_HOURS)
        return until if until > fields.Datetime.now() else False

    def _provider_call_changes(self, pcall, agents):
        """What a new report of this call changes (nothing stored is undone)."""
        self.ensure_one()
        changes = self._reserved_call_changes(pcall) if self.awaiting_delivery else {}
        if pcall.state and pcall.state != self.state:
            changes["state"] = pcall.state
        duration = max(int(pcall.duration or 0), 0)
        if duration and duration != self.duration:
            changes["duration"] = duration
        user_id = agents.get(pcall.agent_key)
        if (
            user_id
            and not self.user_id
            # sudo: the agent's companies, whoever imports.
            and self.company_id in self.env["res.users"].sudo().browse(user_id).company_ids
        ):
            changes["user_id"] = user_id
        if pcall.recording_ref:
            if pcall.recording_ref != self.provider_recording_ref and self.recording_status in (
                "none",
                "pending",
                "failed",
            ):
                changes["provider_recording_ref"] = pcall.recording_ref
            if (
                pcall.recording_duration
                and pcall.recording_duration != self.provider_recording_duration
                and self.recording_status in ("none", "pending", "failed")
            ):
                changes["provider_recording_duration"] = pcall.recording_duration
            if self.recording_status == "none" and self._may_keep_audio():
                changes.update(recording_status="pending", import_attempts=0, import_next_try=False)
            if self.import_recheck_until:
                changes["import_recheck_until"] = False
        elif (
            pcall.recording_expected
            and self.recording_status == "none"
            and not self.import_recheck_until
            and not self.provider_recording_ref
            and self._may_keep_audio()
            and self._recheck_until(pcall)
        ):
            changes["import_recheck_until"] = self._recheck_until(pcall)
        return changes

    def _hold_back_downloads(self):
        """New calls whose audio must not be kept are never downloaded (nor awaited)."""
        self.filtered(
            lambda c: c.import_recheck_until and not c._may_keep_audio()
        ).import_recheck_until = False
        for call in self.filtered(lambda c: c.recording_status == "pending"):
            if not call._may_keep_audio():
                call.write(
                    {
                        "recording_status": "refused"
                        if call.consent_state == "refused"
                        else "none",
                        "import_error": self.env._(
                            "Not downloaded: the line is not recorded or the other party "
                            "refused the recording."
                        ),
                    }
                )
