"""The phone UDF the staging models call (cdp_phone_e164), on the formats the sources use."""

import duckdb
import pytest

from cdp.dbt_plugin import register_udfs
from cdp.identifiers import phone_e164 as phone_to_e164


@pytest.mark.parametrize(
    ("raw", "regions", "e164"),
    [
        ("+31 6 12345678", "NL", "+31612345678"),
        ("06-12345678", "NL", "+31612345678"),
        ("0031 6 1234 5678", "NL", "+31612345678"),
        ("0013059695274", "US", "+13059695274"),  # 00 as international prefix, though the US dials 011
        ("(415) 847-5179", "US", "+14158475179"),
        ("07750 588565", "NL,GB,US,DE", "+447750588565"),  # till: first candidate region that reads it
        ("+1 617-460-4543", None, "+16174604543"),
        ("000000", "NL", None),
        ("not a phone", "NL", None),
        ("", "NL", None),
        (None, "NL", None),
    ],
)
def test_phone_numbers_become_e164_or_null(raw, regions, e164):
    assert phone_to_e164(raw, regions) == e164


def test_udf_is_registered_on_a_connection():
    connection = duckdb.connect()
    register_udfs(connection)
    rows = connection.execute(
        "select cdp_phone_e164(phone, region) from (values ('06 12345678', 'NL'), ('123', null)) as t(phone, region)"
    ).fetchall()
    assert rows == [("+31612345678",), (None,)]
