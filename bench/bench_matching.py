#!/usr/bin/env python3
"""Match 10,000 calls against 100,000 contacts: ms per call, against a plain ``ilike``.

Creates a throw-away database ``crbench_match`` with ``call_recording`` (no
demo data) and a Hungarian company, inserts 100,000 contacts by SQL with
their phones written the ways Hungarians write them (``06 30 123 4567``,
``+36 (1) 234-5678``, ``06-62/123-456``, ...) and ``phone_sanitized`` set to
``call_recording.lib.phone.to_e164(phone, "HU")``, then creates 10,000 calls
through the ORM whose numbers come as providers send them (``0036...``,
``36...``, ``+36...``, ``tel:+36...``): 70 % of existing contacts, always in
another format than the contact's own, 20 % unknown numbers, 10 % anonymous.

Measured in the same run:

- ours: ``call.recording._match_partners()`` over the 10,000 calls, in
  batches of 1,000 as an import runs it, after resetting their match by SQL
  (``partner_id`` NULL, ``partner_match`` 'unknown'); the time includes the
  flush of the writes and of the chatter tracking they cause.  Also shown
  with ``tracking_disable``;
- baseline: one ``res.partner`` search per call with ``ilike`` on the phone
  field, on a sample of the same calls: with the raw number, and with its
  last seven digits (what a naive matcher has to do to find
  ``06 30 123 4567`` from ``+36301234567``).  Odoo's own
  ``phone_mobile_search`` is shown for reference.

It prints milliseconds per call, the ratio baseline / ours, how many calls
each method links to the contact the generator meant (the ground truth),
and the plan of the matching query.  The database is dropped at the end.

Usage: bench/bench_matching.py [--partners N] [--calls N] [--sample N] [--keep-db]
"""

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
import devenv  # noqa: E402
from benchlib import ensure_odoo_python, odoo_registry, throwaway_database  # noqa: E402

DB = "crbench_match"
BATCH = 1000

MOBILE_PREFIXES = ["20", "30", "31", "50", "70"]
AREA_CODES = ["22", "24", "26", "28", "32", "34", "46", "52", "62", "72", "76", "88", "92", "96"]
# How people write numbers on a contact card, per kind of number.
#   a: mobile prefix or area code, b and c: the subscriber number in two groups.
PARTNER_FORMATS = {
    "mobile": [
        "06 {a} {b} {c}",
        "+36 ({a}) {b}-{c}",
        "06-{a}-{b}-{c}",
        "06{a}{b}{c}",
        "+36 {a} {b} {c}",
        "0036 {a} {b}{c}",
        "(06 {a}) {b} {c}",
    ],
    "budapest": [
        "06 1 {b} {c}",
        "+36 (1) {b}-{c}",
        "06-1-{b}-{c}",
        "+36 1 {b} {c}",
        "0036 1 {b}{c}",
    ],
    "rural": [
        "06 {a} {b} {c}",
        "+36 ({a}) {b}-{c}",
        "06-{a}/{b}-{c}",
        "+36 {a} {b}{c}",
    ],
}
# How telephony providers send the number of a call (n: the national digits).
CALL_FORMATS = ["+36{n}", "0036{n}", "36{n}", "06{n}", "tel:+36{n}"]
ANONYMOUS = ["anonymous", "Anonymous", "private", "CLIR", "unknown", ""]
CATEGORIES = ("known", "unknown", "anonymous")


def random_number(rng):
    """(kind, national significant number, format fields) of a random Hungarian number."""
    kind = rng.choices(["mobile", "budapest", "rural"], weights=[6, 2, 2])[0]
    if kind == "mobile":
        a, c = rng.choice(MOBILE_PREFIXES), str(rng.randint(0, 9999)).zfill(4)
    elif kind == "budapest":
        a, c = "1", str(rng.randint(0, 9999)).zfill(4)
    else:
        a, c = rng.choice(AREA_CODES), str(rng.randint(0, 999)).zfill(3)
    b = str(rng.randint(200, 999))
    return kind, a + b + c, {"a": a, "b": b, "c": c}


def make_people(rng, count):
    """One (phone as written, true E.164, national number) per contact; numbers are unique."""
    seen = set()
    people = []
    while len(people) < count:
        kind, national, parts = random_number(rng)
        if national in seen:
            continue
        seen.add(national)
        raw = rng.choice(PARTNER_FORMATS[kind]).format(**parts)
        people.append((raw, "+36" + national, national))
    return people, seen


def make_calls(rng, people, partner_ids, known_numbers, count):
    """One (number as sent, expected partner id or None, category) per call."""
    calls = []
    for _n in range(count):
        roll = rng.random()
        if roll < 0.7:
            index = rng.randrange(len(people))
            raw, _e164, national = people[index]
            formats = [f for f in CALL_FORMATS if f.format(n=national) != raw]
            calls.append((rng.choice(formats).format(n=national), partner_ids[index], "known"))
        elif roll < 0.9:
            while True:
                _kind, national, _parts = random_number(rng)
                if national not in known_numbers:
                    break
            calls.append((rng.choice(CALL_FORMATS).format(n=national), None, "unknown"))
        else:
            calls.append((rng.choice(ANONYMOUS), None, "anonymous"))
    return calls


def set_up_company(cr):
    """The first company, in Hungary: national numbers ("06 ...") are read as Hungarian."""
    cr.execute("SELECT id, partner_id FROM res_company ORDER BY id LIMIT 1")
    company_id, company_partner_id = cr.fetchone()
    cr.execute(
        "UPDATE res_partner SET country_id = (SELECT id FROM res_country WHERE code = 'HU') "
        "WHERE id = %s",
        [company_partner_id],
    )
    return company_id


def required_columns(cr):
    """NOT NULL columns of res_partner without a default: the INSERT must fill them."""
    cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'res_partner' "
        "AND is_nullable = 'NO' AND column_default IS NULL"
    )
    return sorted(row[0] for row in cr.fetchall())


def insert_partners(cr, people, phone_lib):
    """Insert the contacts by SQL; return their ids (in ``people`` order) and figures."""
    from psycopg2.extras import execute_values  # noqa: PLC0415

    filled = {"name", "complete_name", "phone", "phone_sanitized", "active", "type", "is_company"}
    missing = set(required_columns(cr)) - filled
    if missing:
        devenv.fail(f"res_partner has NOT NULL columns this script does not fill: {missing}")
    rows = []
    mismatches = 0
    for n, (raw, e164, _national) in enumerate(people):
        sanitized = phone_lib.to_e164(raw, "HU")
        mismatches += sanitized != e164
        rows.append((f"Bench Contact {n:06d}", f"Bench Contact {n:06d}", raw, sanitized))
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
        template="(%s, %s, %s, %s, true, 'contact', false, now() at time zone 'UTC', "
        "now() at time zone 'UTC', 1, 1, 'en_US')",
        page_size=5000,
    )
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE commercial_partner_id IS NULL"
    )
    cr.execute("ANALYZE res_partner")
    took = time.perf_counter() - started
    cr.execute("SELECT name, id FROM res_partner WHERE name LIKE 'Bench Contact %'")
    by_name = dict(cr.fetchall())
    ids = [by_name[f"Bench Contact {n:06d}"] for n in range(len(people))]
    return ids, took, mismatches


def check_odoo_sanitizer(env, people, rng, count=200):
    """Sampled contacts whose ``phone_sanitized`` Odoo itself would compute differently."""
    Partner = env["res.partner"]
    differ = []
    for raw, e164, _national in rng.sample(people, count):
        computed = Partner.new({"name": "probe", "phone": raw}).phone_sanitized
        if computed != e164:
            differ.append((raw, computed))
    return differ


def create_calls(env, calls, company_id):
    Call = env["call.recording"].with_context(tracking_disable=True)
    ids = []
    for start in range(0, len(calls), BATCH):
        ids += Call.create(
            [
                {
                    "direction": "inbound",
                    "caller_number": number,
                    "callee_number": "+3615550100",
                    "company_id": company_id,
                    "duration": 60,
                }
                for number, _expected, _category in calls[start : start + BATCH]
            ]
        ).ids
    env.flush_all()
    return ids


def reset_matches(cr, ids):
    cr.execute(
        "UPDATE call_recording SET partner_id = NULL, commercial_partner_id = NULL, "
        "partner_match = 'unknown', partner_match_count = 0 WHERE id = ANY(%s)",
        [ids],
    )


def time_matching(env, ids, context):
    """Reset the calls' match, then time ``_match_partners()`` in import-sized batches."""
    cr = env.cr
    reset_matches(cr, ids)
    cr.commit()
    env.invalidate_all()
    cr.execute("SELECT count(*) FROM mail_message WHERE model = 'call.recording'")
    messages = cr.fetchone()[0]
    calls = env["call.recording"].with_context(**context).browse(ids)
    queries = cr.sql_log_count
    started = time.perf_counter()
    for start in range(0, len(ids), BATCH):
        calls[start : start + BATCH]._match_partners()
        cr.flush()  # the UPDATEs, and the chatter tracking that runs before commit
    took = time.perf_counter() - started
    queries = cr.sql_log_count - queries
    cr.commit()
    cr.execute("SELECT count(*) FROM mail_message WHERE model = 'call.recording'")
    messages = cr.fetchone()[0] - messages
    return took, queries, messages


def check_ours(cr, ids, calls):
    """Calls linked as the ground truth says, and the match states found."""
    cr.execute("SELECT id, partner_id, partner_match FROM call_recording WHERE id = ANY(%s)", [ids])
    found = {row[0]: row[1:] for row in cr.fetchall()}
    expected_state = {"known": "matched", "unknown": "unknown", "anonymous": "none"}
    correct = dict.fromkeys(CATEGORIES, 0)
    states = {}
    for cid, (_number, expected, category) in zip(ids, calls, strict=True):
        partner_id, match = found[cid]
        correct[category] += partner_id == expected and match == expected_state[category]
        states[match] = states.get(match, 0) + 1
    return correct, states


def capture_queries(cr):
    """Record the statements ``cr`` runs, as text; returns the list and an undo function."""
    seen = []
    original = cr.execute

    def execute(query, params=None, log_exceptions=True):
        seen.append(cr.mogrify(query, params).decode())
        return original(query, params, log_exceptions)

    cr.execute = execute

    def undo():
        del cr.execute

    return seen, undo


def explain_matching(env, ids):
    """EXPLAIN ANALYZE of the partner query ``_match_partners()`` runs for one batch."""
    cr = env.cr
    reset_matches(cr, ids[:BATCH])
    env.invalidate_all()
    seen, undo = capture_queries(cr)
    try:
        calls = env["call.recording"].with_context(tracking_disable=True).browse(ids[:BATCH])
        calls._match_partners()
    finally:
        undo()
    query = next(q for q in seen if 'FROM "res_partner"' in q and "phone_sanitized" in q)
    cr.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
    plan = [row[0] for row in cr.fetchall()]
    cr.rollback()
    env.invalidate_all()
    cr.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'res_partner' "
        "AND indexdef LIKE '%(phone_sanitized)%'"
    )
    indexes = [row[0] for row in cr.fetchall()]
    return query, plan, indexes


def time_baselines(env, calls, sample):
    """ms per call and correct links of per-call ``ilike`` searches on ``phone``."""
    Partner = env["res.partner"]

    def last_digits(number):
        return "".join(filter(str.isdigit, number))[-7:]

    methods = [
        ("ilike raw number", "phone", str.strip),
        ("ilike last 7 digits", "phone", last_digits),
        ("Odoo phone_mobile_search", "phone_mobile_search", str.strip),
    ]
    results = {}
    for label, field, term_of in methods:
        took, correct = 0.0, dict.fromkeys(CATEGORIES, 0)
        for index in sample:
            number, expected, category = calls[index]
            env.invalidate_all()
            started = time.perf_counter()
            term = term_of(number)
            # A naive matcher does not search with nothing (anonymous calls).
            if sum(ch.isdigit() for ch in term) >= 3:
                found = Partner.search([(field, "ilike", term)], limit=2)
            else:
                found = Partner
            took += time.perf_counter() - started
            correct[category] += (found.id if len(found) == 1 else None) == expected
        results[label] = (took * 1000 / len(sample), correct)
    return results


def print_report(calls, people, sample, measured):
    ours, quiet = measured["ours"], measured["quiet"]
    baselines, explained = measured["baselines"], measured["explained"]
    n = len(calls)
    counts = {c: sum(1 for call in calls if call[2] == c) for c in CATEGORIES}
    sample_counts = {c: sum(1 for i in sample if calls[i][2] == c) for c in CATEGORIES}
    ours_ms = ours["seconds"] * 1000 / n
    quiet_ms = quiet["seconds"] * 1000 / n
    print(
        f"\n{n:,} calls ({counts['known']:,} known, {counts['unknown']:,} unknown, "
        f"{counts['anonymous']:,} anonymous) against {len(people):,} contacts; ours on all "
        f"calls in batches of {BATCH:,},\nbaselines on a random sample of {len(sample)} "
        f"({sample_counts['known']} known, {sample_counts['unknown']} unknown, "
        f"{sample_counts['anonymous']} anonymous).  x ours = ms per call / ours; "
        "x no-track = ms per call / ours with tracking_disable;\ncorrect = linked to the "
        "generated contact (known) or to none (unknown, anonymous).\n"
    )
    rows = [
        ("ours: _match_partners()", ours_ms, ours["correct"], counts),
        ("ours, tracking_disable", quiet_ms, quiet["correct"], counts),
        *((f"baseline: {label}", ms, ok, sample_counts) for label, (ms, ok) in baselines.items()),
    ]
    header = (
        f"{'method':36} {'ms per call':>11} {'x ours':>7} {'x no-track':>10} "
        f"{'correct':>8} {'known':>13} {'unknown':>11} {'anonymous':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, ms, ok, totals in rows:
        by_category = " ".join(
            f"{f'{ok[c]:,}/{totals[c]:,}':>{width}}"
            for c, width in zip(CATEGORIES, (13, 11, 9), strict=True)
        )
        print(
            f"{label:36} {ms:11.3f} {ms / ours_ms:7.2f} {ms / quiet_ms:10.1f} "
            f"{sum(ok.values()) / sum(totals.values()):8.1%} {by_category}"
        )
    for label, figures in (("ours", ours), ("ours, tracking_disable", quiet)):
        print(
            f"\n{label}: {figures['queries']:,} SQL statements "
            f"({figures['queries'] / (n / BATCH):,.0f} per batch of {BATCH:,}), "
            f"{figures['messages']:,} chatter messages posted; match states {figures['states']}."
        )
    query, plan, indexes = explained
    print(f"\nIndex on res_partner.phone_sanitized: {', '.join(indexes) or 'NONE'}")
    print("Matching query (first batch):\n  " + query[:300] + ("..." if len(query) > 300 else ""))
    print("EXPLAIN (ANALYZE, BUFFERS):\n  " + "\n  ".join(line[:120] for line in plan))
    text = "\n".join(plan)
    scans = ("Bitmap Index Scan", "Index Only Scan", "Index Scan")
    kind = next((k for k in scans if k in text), None)
    used = [i for i in indexes if i in text]
    verdict = f"yes, {kind} on {used[0]}" if kind and used else "NO (sequential scan)"
    print(f"\nIndex used by the matching query: {verdict}")


def run(args, data_dir):
    rng = random.Random(2026)
    with odoo_registry(DB, data_dir) as registry:
        import odoo  # noqa: PLC0415
        from odoo import api  # noqa: PLC0415

        from odoo.addons.call_recording.lib import phone as phone_lib  # noqa: PLC0415

        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {})
            company_id = set_up_company(cr)
            people, known = make_people(rng, args.partners)
            partner_ids, took, mismatches = insert_partners(cr, people, phone_lib)
            print(
                f"Inserted {len(people):,} contacts by SQL in {took:.1f} s; "
                f"to_e164() disagrees with the generated number for {mismatches}."
            )
            cr.commit()
            differ = check_odoo_sanitizer(env, people, rng)
            print(
                f"Odoo's own phone_sanitized compute disagrees on {len(differ)} of 200 "
                f"sampled contacts{': ' + repr(differ[:5]) if differ else '.'}"
            )
            env.invalidate_all()

            calls = make_calls(rng, people, partner_ids, known, args.calls)
            started = time.perf_counter()
            ids = create_calls(env, calls, company_id)
            created_s = time.perf_counter() - started
            cr.commit()
            print(
                f"Created {len(ids):,} calls with create() in batches of {BATCH:,} in "
                f"{created_s:.1f} s ({created_s * 1000 / len(ids):.2f} ms per call, "
                "matching included, tracking disabled).",
                flush=True,
            )

            ours, quiet = {}, {}
            for figures, context in ((ours, {}), (quiet, {"tracking_disable": True})):
                seconds, queries, messages = time_matching(env, ids, context)
                correct, states = check_ours(cr, ids, calls)
                figures.update(
                    seconds=seconds,
                    queries=queries,
                    messages=messages,
                    correct=correct,
                    states=states,
                )
            explained = explain_matching(env, ids)
            sample = rng.sample(range(len(calls)), args.sample)
            baselines = time_baselines(env, calls, sample)
            cr.rollback()
    measured = {"ours": ours, "quiet": quiet, "baselines": baselines, "explained": explained}
    print_report(calls, people, sample, measured)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    ensure_odoo_python(__file__)
    with throwaway_database(DB, "crbench-match-", keep=args.keep_db) as data_dir:
        run(args, data_dir)


if __name__ == "__main__":
    main()
