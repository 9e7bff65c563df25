"""Each messiness rate of cdp.demo.rates, measured back from the written files.

Per-record rates compare what the files say with who the person really is (the
population, re-made from the seed, joined through truth.parquet). Per-person
rates (households, twins, visitors...) are measured on the population and then
checked to show up in the files. Tolerance: four binomial standard deviations
plus 10% of the rate, so the tests are stable yet catch a wrong rate.
"""

from __future__ import annotations

import math

import pandas
import pytest

from cdp.demo import world
from cdp.demo.people import nicknames
from cdp.demo.rates import RATES

HI = world.HISTORY_DAYS - 1


def assert_rate(hits: int, total: int, rate: float, what: str) -> None:
    assert total > 0, what
    measured = hits / total
    tolerance = 4 * math.sqrt(rate * (1 - rate) / total) + 0.1 * rate
    assert abs(measured - rate) <= tolerance, f"{what}: measured {measured:.4f} of {total}, configured {rate}"


def assert_count(hits: int, expected: float, what: str) -> None:
    tolerance = 4 * math.sqrt(expected) + 0.1 * expected
    assert abs(hits - expected) <= tolerance, f"{what}: measured {hits}, expected {expected:.1f}"


@pytest.fixture(scope="module")
def files(rates_files, population):
    """The rates universe, with the population as table `persons` and the filled-in forms as `forms`."""
    frame = pandas.DataFrame(  # noqa: F841 (read by DuckDB)
        [
            {
                "person_id": p.person_id,
                "idx": p.index,
                "kind": p.kind,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "married_last_name": p.married_last_name,
                "nickname": nicknames().get(p.first_name),
                "email": p.email,
                "phone": p.phone,
                "arrival_day": p.arrival_day,
                "move_day": p.move_day,
                "marriage_day": p.marriage_day,
                "new_address": p.new_address.line1 if p.new_address else None,
                "household_of": p.household_of,
                "twin_of": p.twin_of,
                "shares_email_of": p.shares_email_of,
                "date_of_birth": p.date_of_birth.isoformat(),
            }
            for p in population.values()
        ]
    )
    con = rates_files.con
    con.execute("CREATE OR REPLACE TABLE persons AS SELECT * FROM frame")
    # every form a person filled in (shop accounts, CRM contacts as first exported), with its person
    con.execute("""
        CREATE OR REPLACE VIEW forms AS
        WITH records AS (
            SELECT 'shop' AS source, customer_id AS id, first_name, last_name, email, phone,
                   date_of_birth, postcode, address_line1
            FROM shop.customers
            UNION ALL
            SELECT 'crm', crm_id, first_name, last_name, email, phone, date_of_birth, postcode, address_line1
            FROM crm QUALIFY row_number() OVER (PARTITION BY crm_id ORDER BY filename) = 1
        )
        SELECT r.*, t.person_id FROM records r
        JOIN truth t ON t.source = r.source AND t.source_record_id = r.id
        JOIN persons p USING (person_id) WHERE p.kind = 'customer'
    """)
    con.execute("CREATE OR REPLACE MACRO fold(s) AS lower(trim(s))")
    con.execute(
        "CREATE OR REPLACE MACRO gmail_mailbox(s) AS replace(split_part(split_part(fold(s), '@', 1), '+', 1), '.', '')"
    )
    return rates_files


def name_fields(files) -> list[tuple]:
    """(value, true first, true last, married, nickname) for every first and last name field."""
    return files.rows("""
        SELECT f.first_name, p.first_name, p.last_name, p.married_last_name, p.nickname FROM forms f JOIN persons p USING (person_id)
        UNION ALL
        SELECT f.last_name, p.first_name, p.last_name, p.married_last_name, p.nickname FROM forms f JOIN persons p USING (person_id)
    """)


def test_typos(files):
    candidates = "[fold(p.first_name), fold(p.last_name), fold(coalesce(p.married_last_name, p.last_name)), fold(coalesce(p.nickname, p.first_name))]"
    rows = files.rows(f"""
        WITH fields AS (
            SELECT fold(f.first_name) AS value, {candidates} AS truth FROM forms f JOIN persons p USING (person_id)
            UNION ALL
            SELECT fold(f.last_name), {candidates} FROM forms f JOIN persons p USING (person_id)
        )
        SELECT list_contains(truth, value) AS exact,
               list_min(list_transform(truth, t -> levenshtein(t, value))) AS distance
        FROM fields
    """)
    typos = sum(1 for exact, distance in rows if not exact and distance <= 2)
    unexplained = sum(1 for exact, distance in rows if not exact and distance > 2)
    assert unexplained == 0
    assert_rate(typos, len(rows), RATES.typo, "typo per name field")


def test_nicknames(files):
    hits, total = files.rows("""
        SELECT count(*) FILTER (fold(f.first_name) = fold(p.nickname)), count(*)
        FROM forms f JOIN persons p USING (person_id)
        WHERE p.nickname IS NOT NULL AND fold(f.first_name) IN (fold(p.first_name), fold(p.nickname))
    """)[0]
    assert_rate(hits, total, RATES.nickname, "nickname for first names that have one")


def test_swapped_names(files):
    hits, total = files.rows("""
        SELECT count(*) FILTER (fold(f.first_name) IN (fold(p.last_name), fold(p.married_last_name))
                                AND fold(f.last_name) IN (fold(p.first_name), fold(p.nickname))), count(*)
        FROM forms f JOIN persons p USING (person_id)
    """)[0]
    assert_rate(hits, total, RATES.swapped_names * (1 - RATES.typo) ** 2, "swapped first and last name")


def test_case_and_whitespace(files):
    hits, total = files.rows("""
        SELECT count(*) FILTER (f.first_name <> trim(f.first_name) OR f.first_name = upper(f.first_name)
                                OR f.first_name = lower(f.first_name)), count(*)
        FROM forms f
    """)[0]
    assert_rate(hits, total, RATES.odd_case_whitespace, "odd case or whitespace per name field")


def test_gmail_spellings(files):
    hits, total = files.rows("""
        WITH single_account AS (
            SELECT person_id FROM truth WHERE source = 'shop' GROUP BY person_id HAVING count(*) = 1
        )
        SELECT count(*) FILTER (fold(f.email) <> p.email), count(*)
        FROM forms f JOIN persons p USING (person_id)
        WHERE p.email LIKE '%@gmail.com' AND (f.source = 'crm' OR f.person_id IN (FROM single_account))
          AND gmail_mailbox(f.email) = gmail_mailbox(p.email)
    """)[0]
    assert_rate(hits, total, RATES.gmail_variant, "gmail dots or +tag per typed gmail address")


@pytest.mark.parametrize("us", [True, False])
def test_phone_formats(files, us):
    kinds = dict(
        files.rows(f"""
        SELECT CASE WHEN f.phone LIKE '+%' AND f.phone LIKE '% %' THEN 'international_spaced'
                    WHEN f.phone LIKE '+%' THEN 'e164'
                    WHEN f.phone LIKE '00%' OR f.phone LIKE '1-%' THEN '00_prefix'
                    WHEN f.phone LIKE '(%' THEN 'national'
                    WHEN f.phone LIKE '%-%' THEN 'national_dashes'
                    ELSE 'national' END AS phone_format, count(*)
        FROM forms f JOIN persons p USING (person_id)
        WHERE f.phone IS NOT NULL AND (p.phone LIKE '+1%') = {us} GROUP BY 1
    """)
    )
    total = sum(kinds.values())
    configured = {
        "international_spaced": RATES.phone_international_spaced,
        "national": RATES.phone_national,
        "national_dashes": RATES.phone_national_dashes,
        "00_prefix": RATES.phone_00_prefix,
    }
    configured["e164"] = 1 - sum(configured.values())
    for kind, rate in configured.items():
        assert_rate(kinds.get(kind, 0), total, rate, f"phone format {kind}")


def test_phones_are_the_persons_own_number(files):
    import phonenumbers

    rows = files.rows("""
        SELECT f.phone, p.phone, c.country FROM forms f JOIN persons p USING (person_id)
        JOIN (SELECT customer_id AS id, country FROM shop.customers UNION ALL SELECT crm_id, country FROM crm) c ON c.id = f.id
        WHERE f.phone IS NOT NULL
    """)
    for written, true, country in set(rows):
        assert (
            phonenumbers.format_number(phonenumbers.parse(written, country), phonenumbers.PhoneNumberFormat.E164)
            == true
        )


@pytest.mark.parametrize(
    "column, rate",
    [
        ("phone", RATES.missing_phone),
        ("date_of_birth", RATES.missing_date_of_birth),
        ("postcode", RATES.missing_address),
    ],
)
def test_missing_fields(files, column, rate):
    hits, total = files.rows(f"SELECT count(*) FILTER ({column} IS NULL), count(*) FROM forms")[0]
    assert_rate(hits, total, rate, f"missing {column}")


@pytest.mark.parametrize("source, rate", [("shop", RATES.duplicate_shop_account), ("crm", RATES.duplicate_crm_contact)])
def test_duplicate_accounts_in_one_source(files, source, rate):
    # persons who arrived at least two months before today had the time to sign up twice
    hits, total = files.rows(f"""
        SELECT count(*) FILTER (n = 2), count(*) FROM (
            SELECT person_id, count(*) AS n FROM truth JOIN persons USING (person_id)
            WHERE source = '{source}' AND kind = 'customer' AND arrival_day <= {HI - 61} GROUP BY person_id)
    """)[0]
    assert_rate(hits, total, rate, f"duplicate {source} records per person")


def test_households_twins_and_shared_emails(files):
    # per person whose previous person is a customer (the anchor a household or twin needs)
    eligible = f"""FROM persons p JOIN persons prev ON prev.idx = p.idx - 1
                  WHERE prev.kind = 'customer' AND p.idx % {world.BATCH_SIZE} <> 0"""
    households, twins, total = files.rows(f"SELECT count(p.household_of), count(p.twin_of), count(*) {eligible}")[0]
    assert_rate(households, total, RATES.household, "household partners")
    assert_rate(twins, total, RATES.twins, "twins")
    shared, partners = files.rows("SELECT count(shares_email_of), count(household_of) FROM persons")[0]
    assert_rate(shared, partners, RATES.shared_email, "shared household email")
    # and in the files: two different persons behind one email address
    assert (
        files.scalar("""
        SELECT count(*) FROM (SELECT fold(email) FROM forms WHERE fold(email) <> 'test@test.com'
                              GROUP BY 1 HAVING count(DISTINCT person_id) > 1)
    """)
        > 0
    )
    # twins: same birthday and last name, other first name, in the files
    assert (
        files.scalar("""
        SELECT count(*) FROM forms a JOIN forms b ON a.date_of_birth = b.date_of_birth
        JOIN persons pa ON pa.person_id = a.person_id JOIN persons pb ON pb.person_id = b.person_id
        WHERE pb.twin_of = pa.idx
    """)
        > 0
    )


def test_visitors_and_test_accounts(files):
    unrelated = files.rows(
        "SELECT count(*) FILTER (kind = 'visitor'), count(*) FILTER (kind = 'test'), count(*) "
        "FROM persons WHERE household_of IS NULL AND twin_of IS NULL"
    )[0]
    assert_rate(unrelated[0], unrelated[2], RATES.visitor_only, "visitor-only persons")
    assert_rate(unrelated[1], unrelated[2], RATES.test_account, "test accounts")
    # visitors only ever appear as web cookies that never identify
    assert (
        files.scalar("""
        SELECT count(*) FROM truth JOIN persons USING (person_id) WHERE kind = 'visitor' AND source <> 'web'
    """)
        == 0
    )
    assert (
        files.scalar("""
        SELECT count(*) FROM web JOIN truth t ON t.source = 'web' AND t.source_record_id = web.anonymous_id::varchar
        JOIN persons USING (person_id) WHERE kind = 'visitor' AND (web.user_id IS NOT NULL OR web.email IS NOT NULL)
    """)
        == 0
    )
    test_accounts = files.scalar("SELECT count(*) FROM shop.customers WHERE email = 'test@test.com'")
    assert test_accounts == unrelated[1]


@pytest.mark.parametrize("event, rate", [("move_day", RATES.moves), ("marriage_day", RATES.marriage_name_change)])
def test_life_events(files, event, rate):
    hits, total = files.rows(f"""
        SELECT count(*) FILTER ({event} - greatest(arrival_day, 0) <= {world.HISTORY_DAYS}), count(*)
        FROM persons WHERE kind = 'customer'
    """)[0]
    assert_rate(hits, total, rate, event)


def test_movers_show_their_new_address(files):
    stale, moved = files.rows(f"""
        SELECT count(*) FILTER (s.address_line1 <> p.new_address), count(*)
        FROM shop.customers s JOIN truth t ON t.source = 'shop' AND t.source_record_id = s.customer_id
        JOIN persons p USING (person_id)
        WHERE p.move_day <= {HI} AND s.created_at < '{world.day_date(HI).isoformat()}' AND s.address_line1 IS NOT NULL
          AND s.created_at::date < DATE '{world.FIRST_DAY.isoformat()}' + p.move_day::int
    """)[0]
    assert moved > 0 and stale == 0


def _hazard_expectation(files, sql_start_days: str, rate: float) -> float:
    """Expected count of a once-in-a-life event with `rate` per history_days, given each record's start day."""
    starts = [row[0] for row in files.rows(sql_start_days)]
    return sum(min(1.0, (HI - start) * rate / world.HISTORY_DAYS) for start in starts)


def test_unsubscribes(files):
    start = f"greatest(date_diff('day', DATE '{world.FIRST_DAY.isoformat()}', min(subscribed_at)::date), 0)"
    expected = _hazard_expectation(
        files, f"SELECT {start} FROM email_subscribers GROUP BY subscriber_id", RATES.unsubscribes
    )
    hits = files.scalar("SELECT count(DISTINCT subscriber_id) FROM email_subscribers WHERE status = 'unsubscribed'")
    assert_count(hits, expected, "unsubscribes")
    # every unsubscribe is also an email event
    assert files.scalar("SELECT count(*) FROM email_events WHERE event_type = 'unsubscribe'") >= hits


def test_consent_withdrawals(files):
    first = "QUALIFY row_number() OVER (PARTITION BY crm_id ORDER BY filename, updated_at) = 1"
    start = f"greatest(date_diff('day', DATE '{world.FIRST_DAY.isoformat()}', created_at::date), 0)"
    expected = _hazard_expectation(
        files, f"SELECT {start} FROM crm WHERE email_marketing_consent OR ads_consent {first}", RATES.consent_withdrawal
    )
    hits = files.scalar("""
        SELECT count(*) FROM (SELECT crm_id FROM crm GROUP BY crm_id
                              HAVING bool_or(email_marketing_consent OR ads_consent)
                                 AND NOT arg_max(email_marketing_consent OR ads_consent, updated_at))
    """)
    assert_count(hits, expected, "consent withdrawals")


@pytest.mark.parametrize("stream", ["web", "app", "email_events"])
def test_late_and_duplicated_events(files, stream):
    late, total = files.rows(f"""
        SELECT count(*) FILTER (regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})') > left(occurred_at::varchar, 10)), count(*)
        FROM {stream}
    """)[0]
    assert_rate(late, total, RATES.late_event, f"{stream} late events")
    lines, distinct = files.rows(f"SELECT count(*), count(DISTINCT event_id) FROM {stream}")[0]
    assert_rate(lines - distinct, distinct, RATES.duplicate_event, f"{stream} duplicated events")


def test_the_journey_story_occurs(files):
    """App boots browsing, a web boots cart abandoned since, and an earlier store purchase: one person."""
    today = world.day_date(HI).isoformat()
    story = files.scalar(f"""
        WITH person_events AS (
            SELECT t.person_id, 'app' AS channel, a.event_type, a.category, a.occurred_at
            FROM app a JOIN truth t ON t.source = 'app' AND t.source_record_id = a.device_id::varchar
            UNION ALL
            SELECT t.person_id, 'web', w.event_type, w.category, w.occurred_at
            FROM web w JOIN truth t ON t.source = 'web' AND t.source_record_id = w.anonymous_id::varchar
        ),
        carts AS (
            SELECT person_id, max(occurred_at) AS cart_at FROM person_events
            WHERE channel = 'web' AND event_type = 'add_to_cart' AND category = 'boots'
              AND occurred_at >= DATE '{today}' - INTERVAL 3 DAY GROUP BY person_id
        )
        SELECT count(DISTINCT c.person_id) FROM carts c
        WHERE EXISTS (SELECT 1 FROM person_events e WHERE e.person_id = c.person_id AND e.channel = 'app'
                      AND e.event_type = 'product_view' AND e.category = 'boots' AND e.occurred_at < c.cart_at)
          AND NOT EXISTS (SELECT 1 FROM person_events e WHERE e.person_id = c.person_id
                          AND e.event_type = 'order_completed' AND e.occurred_at > c.cart_at)
          AND EXISTS (SELECT 1 FROM pos JOIN truth t ON t.source = 'pos' AND t.source_record_id = pos.transaction_id
                      WHERE t.person_id = c.person_id AND pos.loyalty_card IS NOT NULL
                        AND pos.occurred_at::timestamp < c.cart_at - INTERVAL 60 DAY)
    """)
    eligible = files.scalar(
        f"SELECT count(*) FROM persons WHERE kind = 'customer' AND arrival_day <= {world.HISTORY_DAYS - 160}"
    )
    assert story >= 0.6 * RATES.journey_story * eligible
