"""The committed Kiva fixtures are the shared files stripped of names and free text, and stay small."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.lending.imports.fixtures import (
    BROKEN,
    CSV_SUBSET,
    DATA,
    SHARED_CSV,
    SHARED_PAGE,
    SNAPSHOT,
    derive_broken,
    derive_csv,
    derive_snapshot,
)

needs_shared = pytest.mark.skipif(
    not (SHARED_PAGE.is_file() and SHARED_CSV.is_file()),
    reason="the shared Kiva data is not present (../shared is not in a fresh clone)",
)


@needs_shared
def test_the_committed_fixtures_are_derived_from_the_shared_files():
    assert gzip.decompress(SNAPSHOT.read_bytes()) == gzip.decompress(derive_snapshot())
    assert gzip.decompress(CSV_SUBSET.read_bytes()) == gzip.decompress(derive_csv())


def test_the_broken_records_fixture_is_derived_from_the_compact_snapshot():
    assert BROKEN.read_text(encoding="utf-8") == derive_broken()


def test_the_fixtures_are_compact_and_carry_no_names_or_free_text():
    assert sum(path.stat().st_size for path in DATA.iterdir()) < 400_000
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        loans = json.load(f)["loans"]
    assert len(loans) == 500
    keys = set().union(*(loan.keys() for loan in loans))
    assert not keys & {"name", "description", "use", "image", "video", "tags", "journal_totals", "translator"}
    assert all(set(b) == {"gender"} for loan in loans for b in loan["borrowers"])
    assert all("comment" not in p for loan in loans for p in loan["payments"])
    assert set(loans[0]["location"]) == {"country_code"}
    header = gzip.decompress(CSV_SUBSET.read_bytes()).decode().splitlines()[0].split(",")
    assert not set(header) & {"use", "tags", "region", "borrower_names"}
