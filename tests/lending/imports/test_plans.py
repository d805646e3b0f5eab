"""The import's rules, before any row is written: amounts, share sizes, dates, names, sectors, countries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from lending.imports.plans import (
    GIVEN_NAMES,
    Malformed,
    borrower_name,
    cents,
    country,
    day,
    gender,
    lenders_for,
    listing_dates,
    loan_amount,
    sector,
    share_size,
    whole,
)
from lending.loans.models import Sector

UTC = ZoneInfo("UTC")


def test_amounts_become_exact_cents_from_ints_decimals_and_kaggles_float_text():
    assert cents(575, "x") == 57_500
    assert cents(Decimal("83.33"), "x") == 8_333
    assert cents("575.0", "x") == 57_500


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, "x: missing"), ("", "x: missing"), ("12.345", "more decimal places"), ("-5", "not a positive"),
     ("0", "not a positive"), ("abc", "not a decimal")],
)  # fmt: skip
def test_a_bad_amount_names_the_field(value, message):
    with pytest.raises(Malformed, match=r"^x: ") as caught:
        cents(value, "x")
    assert message in str(caught.value)


def test_a_loan_over_the_platforms_largest_is_refused_by_name():
    assert loan_amount("10000.0", 1_000_000) == 1_000_000
    with pytest.raises(Malformed, match=r"loan_amount: 35,000.00 is over the platform's largest loan \(10,000.00\)"):
        loan_amount("35000.0", 1_000_000)


def test_whole_numbers_accept_kaggles_floats_and_refuse_fractions():
    assert whole("20.0", "term_in_months", low=1) == 20
    with pytest.raises(Malformed, match=r"term_in_months: '20\.5' is not a whole number"):
        whole("20.5", "term_in_months")
    with pytest.raises(Malformed, match="term_in_months: 0 is not from 1 to 600"):
        whole("0", "term_in_months", low=1, high=600)


def test_share_size_is_25_dollars_when_the_amounts_and_lenders_fit():
    assert share_size(amount_cents=50_000, funded_cents=50_000, lender_count=20, platform_share_cents=2500) == 2500


def test_kivas_five_dollar_lending_keeps_its_amounts_with_five_dollar_shares():
    # $35 lent to a $5,000 loan, and $125 from 12 lenders: no $25 share size holds either.
    assert share_size(amount_cents=500_000, funded_cents=3_500, lender_count=5, platform_share_cents=2500) == 500
    assert share_size(amount_cents=12_500, funded_cents=12_500, lender_count=12, platform_share_cents=2500) == 500


def test_an_amount_no_five_dollar_share_divides_is_malformed():
    with pytest.raises(Malformed, match=r"^loan_amount: 512.50 and funded_amount 512.50 are not whole numbers"):
        share_size(amount_cents=51_250, funded_cents=51_250, lender_count=3, platform_share_cents=2500)


def test_lenders_are_kivas_count_but_at_least_one_and_at_most_one_per_share():
    assert lenders_for(funded_cents=10_000, share_size_cents=2500, lender_count=3) == (3, [])
    assert lenders_for(funded_cents=0, share_size_cents=2500, lender_count=0) == (0, [])
    count, notes = lenders_for(funded_cents=5_000, share_size_cents=2500, lender_count=0)
    assert count == 1
    assert notes
    count, notes = lenders_for(funded_cents=5_000, share_size_cents=2500, lender_count=7)
    assert count == 2
    assert "exceeds" in notes[0]


@pytest.mark.parametrize(
    "text", ["2005-04-15T17:00:00Z", "2005-04-15 17:00:00", "2005-04-15 17:00:00+00:00", "2005-04-15T17:00:00+00:00"]
)
def test_kiva_timestamps_with_z_with_offset_or_naive_are_the_same_utc_day(text):
    assert day(text, "posted_time", UTC) == date(2005, 4, 15)


def test_a_timestamp_is_the_day_in_the_platforms_time_zone():
    assert day("2005-04-15T23:30:00Z", "posted_date", ZoneInfo("Africa/Nairobi")) == date(2005, 4, 16)


def test_a_bad_or_missing_date_names_the_field():
    with pytest.raises(Malformed, match="posted_date: '2006-13-45' is not a date"):
        day("2006-13-45", "posted_date", UTC)
    with pytest.raises(Malformed, match="funded_time: missing"):
        day("", "funded_time", UTC)
    assert day("", "funded_time", UTC, required=False) is None


def test_kiva_sectors_map_to_ours_and_unknown_ones_are_refused():
    assert sector("Personal Use") == Sector.PERSONAL_USE
    assert sector("Food") == Sector.FOOD
    with pytest.raises(Malformed, match="sector: 'Space' is not one of Kiva's sectors"):
        sector("Space")


def test_kivas_gaza_code_becomes_iso_and_bad_codes_are_refused():
    assert country("GZ") == "PS"
    assert country("ke") == "KE"
    with pytest.raises(Malformed, match="country_code: 'Kenya'"):
        country("Kenya")


def test_borrower_gender_from_kiva_letters_and_kaggle_words():
    assert gender(["F", "F"]) == "female"
    assert gender(["male"]) == "male"
    assert gender(["female", " male"]) == "mixed"
    assert gender([]) == "unspecified"


def test_borrower_names_are_made_up_the_same_for_an_id_every_time():
    name = borrower_name("84", "female", 1)
    assert name == borrower_name("84", "female", 1)
    assert name.split()[0] in GIVEN_NAMES["female"]
    assert len({borrower_name(str(n), "female", 1) for n in range(100)}) > 50  # spread, not one name for all
    assert borrower_name("84", "male", 5).endswith("and 4 others")


def test_dates_in_order_are_kept_and_the_window_reaches_the_funding_date():
    listed, days, funded, notes = listing_dates(
        posted=date(2006, 5, 3), funded=date(2006, 7, 26), disbursed=date(2006, 8, 9), window_days=30, expires=None
    )
    assert (listed, funded, notes) == (date(2006, 5, 3), date(2006, 7, 26), [])
    assert days == 84  # fundraising stretched from 30 days to reach Kiva's funding date


def test_beta_loans_funded_before_posting_are_listed_on_the_funding_date():
    listed, _, funded, notes = listing_dates(
        posted=date(2005, 10, 15), funded=date(2005, 3, 31), disbursed=date(2005, 4, 14), window_days=30, expires=None
    )
    assert listed == funded == date(2005, 3, 31)
    assert notes == ["posted after funding: listed on the funding date"]


def test_funding_after_disbursal_moves_to_the_disbursal_date():
    listed, _, funded, notes = listing_dates(
        posted=date(2016, 4, 7), funded=date(2016, 5, 9), disbursed=date(2016, 4, 15), window_days=30, expires=None
    )
    assert funded == date(2016, 4, 15)
    assert listed == date(2016, 4, 7)
    assert notes == ["funded after disbursal: funded on the disbursal date"]


def test_funding_slower_than_the_longest_window_lists_the_loan_later():
    listed, days, funded, notes = listing_dates(
        posted=date(2015, 1, 1), funded=date(2015, 6, 1), disbursed=None, window_days=30, expires=None
    )
    assert (funded - listed).days == days == 90
    assert "more than 90 days" in notes[0]


def test_a_loan_with_no_date_at_all_cannot_be_listed():
    with pytest.raises(Malformed, match="posted_date: missing"):
        listing_dates(posted=None, funded=None, disbursed=None, window_days=30, expires=None)
