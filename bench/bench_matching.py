#!/usr/bin/env python3
"""Match 10,000 calls against 100,000 contacts: ms per call, against a plain ``ilike``.

Creates a throw-away database ``crbench_match`` with ``call_recording`` (no
demo data), inserts 100,000 contacts by SQL with their phones written the
ways Hungarians write them (``06 30 123 4567``, ``+36 (1) 234-5678``, ...)
and their ``phone_sanitized`` as Odoo's ``phone_validation`` stores it, then
10,000 calls whose numbers come as providers send them (``0036...``,
``36...``, ``+36...``): 70% of existing contacts, 20% unknown, 10%
anonymous.

Measured in the same run:

- ours: ``call.recording._match_partners()`` over the 10,000 calls in
  batches of 1,000, as an import does (one indexed query per batch);
- baseline: a plain ``res.partner`` search with ``ilike`` on the phone
  field, per call, on a sample of calls (with the raw number, and with
  its last 7 digits, which is what a naive matcher has to do to find
  ``06 30 123 4567`` from ``+36301234567``).

It prints milliseconds per call, the ratio, and how many calls each links
to the right contact.  The database is dropped at the end.

Usage: bench/bench_matching.py [--partners N] [--calls N] [--sample N]
"""

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, install, odoo_args  # noqa: E402

DB = "crbench_match"
FORMATS = [
    "06 {a} {b} {c}",
    "+36 ({a}) {b}-{c}",
    "0036{a}{b}{c}",
    "+36{a}{b}{c}",
    "06-{a}-{b}-{c}",
]
CALL_FORMATS = ["0036{a}{b}{c}", "36{a}{b}{c}", "+36{a}{b}{c}", "06{a}{b}{c}"]
MOBILE_PREFIXES = ["20", "30", "31", "50", "70"]


def number_parts(rng):
    return rng.choice(MOBILE_PREFIXES), f"{rng.randint(100, 999)}", f"{rng.randint(1000, 9999)}"


def make_people(rng, count):
    """(raw phone, e164) per contact; numbers are unique."""
    seen = set()
    people = []
    while len(people) < count:
        a, b, c = number_parts(rng)
        e164 = f"+36{a}{b}{c}"
        if e164 in seen:
            continue
        seen.add(e164)
        people.append((rng.choice(FORMATS).format(a=a, b=b, c=c), e164, (a, b, c)))
    return people, seen


def insert_partners(cr, people, phone_lib):
    from psycopg2.extras import execute_values  # noqa: PLC0415

    rows = []
    mismatches = 0
    for n, (raw, e164, _parts) in enumerate(people):
        sanitized = phone_lib.to_e164(raw, "HU")
        mismatches += sanitized != e164
        rows.append((f"Contact {n}", f"Contact {n}", raw, sanitized))
    cr.execute("SELECT id FROM res_company ORDER BY id LIMIT 1")
    company_id = cr.fetchone()[0]
    # A Hungarian company: national numbers ("06 ...") are read in Hungary.
    cr.execute(
        "UPDATE res_partner SET country_id = (SELECT id FROM res_country WHERE code = 'HU') "
        "WHERE id = (SELECT partner_id FROM res_company WHERE id = %s)",
        [company_id],
    )
    started = time.perf_counter()
    execute_values(
        cr._obj,
        """
        INSERT INTO res_partner (name, complete_name, phone, phone_sanitized, active, type,
                                 is_company, create_date, write_date, create_uid, write_uid,
                                 lang)
        VALUES %s
        """,
        rows,
        template="(%s, %s, %s, %s, true, 'contact', false, now(), now(), 1, 1, 'en_US')",
        page_size=5000,
    )
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE commercial_partner_id IS NULL"
    )
    cr.execute("ANALYZE res_partner")
    return company_id, time.perf_counter() - started, mismatches


def make_calls(rng, people, count):
    """(number as the provider sends it, expected e164 or None)."""
    calls = []
    known = list(people)
    for _n in range(count):
        roll = rng.random()
        if roll < 0.7:
            _raw, e164, (a, b, c) = rng.choice(known)
            calls.append((rng.choice(CALL_FORMATS).format(a=a, b=b, c=c), e164))
        elif roll < 0.9:
            a, _b, _c = number_parts(rng)
            calls.append((f"+36{a}0{rng.randint(100000, 999999)}", None))
        else:
            calls.append(("anonymous", None))
    return calls


def create_calls(env, calls, company_id):
    Call = env["call.recording"].with_context(tracking_disable=True)
    created = Call.browse()
    for start in range(0, len(calls), 1000):
        created |= Call.create(
            [
                {
                    "direction": "inbound",
                    "caller_number": number,
                    "callee_number": "+3615550100",
                    "company_id": company_id,
                    "duration": 60,
                }
                for number, _e in calls[start : start + 1000]
            ]
        )
    env.flush_all()
    return created


def reset_matches(cr, ids):
    cr.execute(
        "UPDATE call_recording SET partner_id = NULL, commercial_partner_id = NULL, "
        "partner_match = 'unknown', partner_match_count = 0 WHERE id = ANY(%s)",
        [ids],
    )


def run(args, data_dir):  # noqa: PLR0915 one linear benchmark script
    import odoo  # noqa: PLC0415
    from odoo import api  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-d", DB, *odoo_args(data_dir)], setup_logging=True)
    registry = Registry(DB)
    from odoo.addons.call_recording.lib import phone as phone_lib  # noqa: PLC0415

    rng = random.Random(2026)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            people, _numbers = make_people(rng, args.partners)
            company_id, took, mismatches = insert_partners(cr, people, phone_lib)
            print(
                f"Inserted {len(people):,} contacts in {took:.1f} s "
                f"({mismatches} whose sanitised number differs from the truth)."
            )
            calls = make_calls(rng, people, args.calls)
            started = time.perf_counter()
            created = create_calls(env, calls, company_id)
            print(f"Created {len(created):,} calls in {time.perf_counter() - started:.1f} s.")
            cr.commit()

            # ours: the batch matcher, as an import runs it
            reset_matches(cr, created.ids)
            env.invalidate_all()
            started = time.perf_counter()
            for start in range(0, len(created), 1000):
                created[start : start + 1000]._match_partners()
            env.flush_all()
            ours_s = time.perf_counter() - started
            e164_to_partner = dict(
                env["res.partner"]
                .search_fetch([("phone_sanitized", "!=", False)], ["phone_sanitized"])
                .mapped(lambda p: (p.phone_sanitized, p.id))
            )
            ours_ok = sum(
                (call.partner_id.id or None) == (e164_to_partner.get(e) if e else None)
                for call, (_n, e) in zip(created, calls, strict=True)
            )
            cr.execute(
                "EXPLAIN SELECT id FROM res_partner WHERE phone_sanitized = ANY(%s)",
                [[e for _n, e in calls[:1000] if e]],
            )
            plan = "\n".join(row[0][:110] for row in cr.fetchall())

            # baseline: ilike per call on a sample
            sample = rng.sample(list(zip(created.ids, calls, strict=True)), args.sample)
            Partner = env["res.partner"]
            results = {}
            for label, term in (
                ("ilike raw number", lambda number: number),
                ("ilike last 7 digits", lambda number: "".join(filter(str.isdigit, number))[-7:]),
            ):
                timings, correct = [], 0
                for _cid, (number, e164) in sample:
                    env.invalidate_all()
                    started = time.perf_counter()
                    found = Partner.search([("phone", "ilike", term(number))], limit=2)
                    timings.append(time.perf_counter() - started)
                    expected = e164_to_partner.get(e164) if e164 else None
                    correct += (found.id if len(found) == 1 else None) == expected
                results[label] = (statistics.mean(timings) * 1000, correct / len(sample))
            cr.rollback()
    finally:
        odoo.sql_db.close_db(DB)
        Registry.delete(DB)

    ours_ms = ours_s * 1000 / len(calls)
    print()
    print(f"{'method':28} {'ms per call':>12} {'ratio':>8} {'correct':>8}")
    print(f"{'ours: _match_partners()':28} {ours_ms:12.3f} {1:8.0f} {ours_ok / len(calls):8.1%}")
    for label, (ms, correct) in results.items():
        print(f"{'baseline: ' + label:28} {ms:12.3f} {ms / ours_ms:8.0f} {correct:8.1%}")
    print(
        f"\n({len(calls):,} calls matched; baselines on a sample of {args.sample}; "
        "ratio = baseline time / ours.)"
    )
    print("Plan of the matching query:\n" + plan)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    ensure_odoo_python(__file__)
    data_dir = tempfile.mkdtemp(prefix="crbench-match-")
    try:
        started = time.perf_counter()
        install(DB, data_dir)
        print(f"Installed call_recording in {time.perf_counter() - started:.0f} s.")
        run(args, data_dir)
    finally:
        devenv.drop_database(DB)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
