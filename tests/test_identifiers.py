"""Property tests for the identifier rules (cdp.identifiers), in the demo's four locales.

Two kinds: the rules' own properties (round trips, idempotence, the shape of what comes
out), and the staging SQL macros (dbt_project/macros/normalise.sql) checked equal to the
Python rules on the same generated values, so the two implementations cannot drift.
"""

from __future__ import annotations

import csv
import re
import string

import duckdb
import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cdp import identifiers
from cdp import settings as cdp_settings

LOCALES = ("US", "GB", "NL", "DE")
# Letters of the four locales' names and places, with the punctuation and whitespace sources carry.
LETTERS = string.ascii_letters + string.digits + "äöüÄÖÜßéèêëàâçîïôûùÿæøåÆØÅñÑáíóúÁÉÍÓÚĳłŁšŠžŽčČ"
PUNCTUATION = " \t\r\n.-'’,@+_/()&"
texts = st.text(alphabet=LETTERS + PUNCTUATION, max_size=40)
POSTCODE_PATTERNS = {
    row["country_code"]: row["postcode_pattern"]
    for row in csv.DictReader((cdp_settings.SEEDS_DIR / "country_codes.csv").open(encoding="utf-8"))
    if row["postcode_pattern"]
}


# -- phones ------------------------------------------------------------------------------


@st.composite
def valid_numbers(draw) -> tuple[str, phonenumbers.PhoneNumber]:
    """(region, number): a valid mobile or fixed-line number of one of the four locales."""
    region = draw(st.sampled_from(LOCALES))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    tail = draw(st.text(alphabet=string.digits, min_size=4, max_size=4))
    number = phonenumbers.parse(national[:-4] + tail, region)
    assume(phonenumbers.is_valid_number(number))
    return region, number


FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
)


@given(valid_numbers(), st.sampled_from(FORMATS))
def test_a_valid_number_in_any_format_reads_back_as_its_e164(region_number, number_format):
    region, number = region_number
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    written = phonenumbers.format_number(number, number_format)
    assert identifiers.phone_e164(written, region) == e164
    assert identifiers.phone_e164(e164, None) == e164  # idempotent, no region needed
    assert identifiers.phone_e164("00" + e164[1:], region) == e164  # 00 as the international prefix


@given(valid_numbers())
def test_a_national_number_is_read_in_the_first_candidate_region_that_accepts_it(region_number):
    region, number = region_number
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    candidates = [region, *(other for other in LOCALES if other != region)]
    assert identifiers.phone_e164(national, ",".join(candidates)) == e164


@given(st.text(max_size=30), st.sampled_from([*LOCALES, None]))
def test_phone_output_is_none_or_one_valid_e164_number(raw, region):
    e164 = identifiers.phone_e164(raw, region)
    if e164 is not None:
        assert re.fullmatch(r"\+[1-9][0-9]{6,14}", e164)
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164))


@given(valid_numbers())
def test_destinations_get_the_same_number_staging_reads(region_number):
    region, number = region_number
    written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    e164 = identifiers.phone_e164(written, region)
    assert identifiers.phone_for_destination(written, region) == e164
    assert identifiers.meta_phone(written, region) == e164.lstrip("+")


# -- emails ------------------------------------------------------------------------------

local_parts = st.text(alphabet=string.ascii_letters + string.digits + "._+-", min_size=1, max_size=20)
domains = st.sampled_from(["gmail.com", "googlemail.com", "web.de", "hotmail.co.uk", "ziggo.nl", "example.org"])


@given(local_parts, domains, st.text(alphabet=" ", max_size=3))
def test_an_address_is_lower_case_and_trimmed_whatever_its_case_and_padding(local, domain, padding):
    email = f"{local}@{domain}"
    assert identifiers.normalise_email(padding + email.upper() + padding) == email.lower()


@given(texts)
def test_email_output_is_none_or_a_fixed_point(raw):
    email = identifiers.normalise_email(raw)
    if email is not None:
        assert email == email.lower().strip(" ")
        assert identifiers.normalise_email(email) == email
        assert identifiers.email_for_destination(raw) == email


@given(local_parts, st.sampled_from(["gmail.com", "googlemail.com"]))
def test_gmail_dots_and_tags_reach_one_mailbox(local, domain):
    email = identifiers.normalise_email(f"{local}@{domain}")
    assume(email is not None)
    canonical = identifiers.canonical_email(email)
    assert canonical == identifiers.canonical_email(canonical)
    assert "." not in canonical.split("@")[0] and "+" not in canonical.split("@")[0]


# -- names and places ----------------------------------------------------------------------


@given(texts)
def test_folded_text_is_plain_lower_ascii_words(raw):
    folded = identifiers.fold_text(raw)
    if folded is not None:
        assert re.fullmatch(r"[a-z0-9]+( [a-z0-9]+)*", folded)
        assert identifiers.fold_text(folded) == folded


@given(texts)
def test_folding_ignores_case_and_accents(raw):
    assert identifiers.fold_text(raw.upper()) == identifiers.fold_text(raw.lower())


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Dvořák", "dvorak"),
        ("Müller-Lüdenscheidt", "mullerludenscheidt"),
        ("Straße", "strasse"),
        ("Øster  Ålund", "oster alund"),
        ("van 't Hof", "van t hof"),
        ("Łukasz", "lukasz"),
        ("O'Brien", "obrien"),
    ],
)
def test_names_of_the_locales_fold_to_their_letters(name, folded):
    assert identifiers.fold_text(name) == folded


@given(texts)
def test_clean_text_keeps_the_value_with_single_spaces(raw):
    cleaned = identifiers.clean_text(raw)
    if cleaned is not None:
        assert not re.search(r"[ \t\r\n]{2,}|^ | $|[\t\r\n]", cleaned)
        assert identifiers.clean_text(cleaned) == cleaned


# -- postcodes ---------------------------------------------------------------------------


@st.composite
def written_postcodes(draw) -> tuple[str, str, str]:
    """(pattern, compact postcode, the postcode as someone typed it: lower case, spaces, dashes)."""
    country = draw(st.sampled_from(sorted(POSTCODE_PATTERNS)))
    pattern = POSTCODE_PATTERNS[country]
    compact = draw(st.from_regex(pattern.strip("^$"), fullmatch=True, alphabet=string.ascii_uppercase + string.digits))
    noisy = "".join(
        draw(st.sampled_from([char, char.lower()])) + draw(st.sampled_from(["", " ", "-", "."])) for char in compact
    )
    return pattern, compact, noisy


@given(written_postcodes())
def test_a_typed_postcode_reads_back_compact_and_valid(pattern_compact_noisy):
    pattern, compact, noisy = pattern_compact_noisy
    assert identifiers.normalise_postcode(noisy, pattern) == compact
    assert identifiers.normalise_postcode(" " + compact + " ", None) == compact


@given(texts, st.sampled_from(sorted(POSTCODE_PATTERNS.values())))
def test_postcode_output_matches_its_country_pattern(raw, pattern):
    postcode = identifiers.normalise_postcode(raw, pattern)
    if postcode is not None:
        assert re.search(pattern, postcode)


# -- the staging macros implement the same rules -------------------------------------------------

MACRO_SQL = """
select
    {{ normalise_email('value') }} as email,
    {{ fold_text('value') }} as folded,
    {{ clean_text('value') }} as cleaned,
    {{ normalise_postcode('value', 'pattern') }} as postcode
from probe
"""


@pytest.fixture(scope="module")
def staging_macros(tmp_path_factory) -> str:
    """The macros compiled by dbt itself, as the staging models use them."""
    from dbt.cli.main import dbtRunner

    folder = tmp_path_factory.mktemp("macros")
    with pytest.MonkeyPatch.context() as patch:
        duckdb.connect(str(folder / "compile.duckdb")).close()  # dbt refuses a missing warehouse
        patch.setenv("CDP_WAREHOUSE", str(folder / "compile.duckdb"))
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = dbtRunner().invoke(
            [
                "compile",
                "--inline",
                MACRO_SQL,
                "--quiet",
                "--project-dir",
                str(cdp_settings.DBT_PROJECT_DIR),
                "--profiles-dir",
                str(cdp_settings.DBT_PROJECT_DIR),
                "--target-path",
                str(folder / "target"),
                "--log-path",
                str(folder / "logs"),
            ]
        )
    from cdp.build import release_warehouse

    release_warehouse()
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(texts, st.sampled_from([None, *sorted(POSTCODE_PATTERNS.values())])), min_size=1, max_size=20)
)
def test_staging_sql_gives_what_the_python_rules_give(staging_macros, probes):
    with duckdb.connect() as connection:
        connection.execute("create table probe (position integer, value varchar, pattern varchar)")
        connection.executemany("insert into probe values (?, ?, ?)", [(i, v, p) for i, (v, p) in enumerate(probes)])
        rows = connection.execute(staging_macros.replace("from probe", "from probe order by position")).fetchall()
    expected = [
        (
            identifiers.normalise_email(value),
            identifiers.fold_text(value),
            identifiers.clean_text(value),
            identifiers.normalise_postcode(value, pattern),
        )
        for value, pattern in probes
    ]
    assert rows == expected
