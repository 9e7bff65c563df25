"""Every messiness rate of the demo universe, in one place.

The generator reads these and only these; `manifest.json` records them, and
tests/demo measure each one back from the written files. A rate is a
probability per the unit named in its comment. Changing a rate changes the
universe (same seed, different bytes), so keep the defaults stable.

Hard-to-impossible cases for identity resolution (kept small on purpose):
`shared_email` partners (two persons, one email: only names tell them apart),
`twins` (same last name, birthday and address: only the first name differs),
and `test_account` records (one blocked email shared by unrelated records).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Rates:
    # --- who the persons are (per person) ---------------------------------
    visitor_only: float = 0.08  # browses the website and never identifies (own person in truth)
    test_account: float = 0.002  # a QA account: "Test User", test@test.com, shop only
    # twins and household partners: per person whose previous person (index - 1) is a customer
    household: float = 0.15  # lives with the previous person (same address, own email)
    shared_email: float = 0.05  # of household partners: uses the partner's email too
    twins: float = 0.004  # twin of the previous person: same last name, birthday, address
    same_last_name_in_household: float = 0.6  # of household partners
    # --- life events (per customer person, within history_days of their start; the same
    # daily hazard goes on afterwards, so `advance` keeps producing a few per day) ---
    moves: float = 0.06  # moves house: shop, CRM, ERP and broker show the new address afterwards
    marriage_name_change: float = 0.03  # takes a new last name (email and phone stay)
    unsubscribes: float = 0.05  # of email subscribers: unsubscribes
    consent_withdrawal: float = 0.04  # of CRM contacts: withdraws email-marketing and ads consent
    # --- duplicates (per person present in the source) ---
    duplicate_shop_account: float = 0.03  # a second shop account (other email variant)
    duplicate_crm_contact: float = 0.02  # a second CRM contact for the same person
    # --- how a person-bearing record renders its fields (per record) ---
    typo: float = 0.02  # per name field: one character dropped, doubled, swapped or replaced
    nickname: float = 0.15  # per record, for first names that have a nickname (Robert -> Bob)
    swapped_names: float = 0.01  # first and last name swapped
    odd_case_whitespace: float = 0.05  # per text field: UPPER/lower case or stray spaces
    gmail_variant: float = 0.10  # per gmail address typed by the person: dots moved or a +tag
    missing_phone: float = 0.20  # per record that could carry a phone
    missing_date_of_birth: float = 0.35
    missing_address: float = 0.03  # shop and CRM: address line, postcode and city blank
    # phone formats, per rendered phone; the rest is E.164 (+31612345678)
    phone_international_spaced: float = 0.25  # +31 6 12345678
    phone_national: float = 0.30  # 06 12345678, (212) 555-0101
    phone_national_dashes: float = 0.10  # 06-12345678
    phone_00_prefix: float = 0.10  # 0031612345678 (US numbers: 1-212-555-0101)
    # --- events ---
    late_event: float = 0.01  # per event: arrives in the next day's file (or the one after)
    duplicate_event: float = 0.005  # per event: the same line written twice
    # --- journey story: app browse -> web cart abandoned near today -> bought in store before ---
    journey_story: float = 0.03  # per customer person

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


RATES = Rates()
