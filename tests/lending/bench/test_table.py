"""`manage.py bench` with no target: every benchmark at a scale, one table. The tiny scale runs the real
benchmarks on scratch databases (figures meaningless, plumbing real); PostgreSQL-only rows skip on SQLite."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from lending.bench import common, imports, table


@pytest.fixture
def scratch_allowed(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The bench makes and drops its own scratch databases (bench_<test database>), outside any test transaction."""
    with django_db_blocker.unblock():
        yield


def _bench(*args: str) -> str:
    out = StringIO()
    call_command("bench", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _rows(output: str) -> dict[str, list[str]]:
    """The table's first row of each benchmark: the cells of its Markdown line."""
    lines = [line for line in output.splitlines() if line.startswith("| ")]
    assert lines[0].split("|")[1].strip() == "benchmark"
    rows: dict[str, list[str]] = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.setdefault(cells[0], cells)
    return rows


def test_tiny_table_measures_each_row_and_skips_postgres_rows_on_sqlite(scratch_allowed: None) -> None:
    output = _bench("--scale", "tiny", "--only", "ledger,repayments,close")
    rows = _rows(output)
    assert set(rows) == {"ledger", "repayments", "close"}
    for name, size, unit in (
        ("ledger", "1 x 10 journals", "journals"),
        ("repayments", "1 x 10 repayments", "repayments"),
    ):
        cells = rows[name]
        assert cells[2] == size
        rate = re.fullmatch(rf"([\d,.]+) {unit}/s", cells[4])
        assert rate, cells
        assert float(rate.group(1).replace(",", "")) > 0, cells
        assert float(cells[5]) > 0  # the ratio to the raw-SQL reference, measured in the same run
        assert cells[7] in ("meets", "**misses**")
    if connection.vendor == "postgresql":
        assert rows["close"][2] == "200 loans"
        assert rows["close"][7] in ("meets", "**misses**")
    else:
        assert rows["close"][7].startswith("skipped: needs PostgreSQL")
    assert "vs raw SQL: the product's speed over a raw-SQL reference doing the same work" in output
    # The machine line carries what write rates depend on most: a durable commit's time, measured then.
    assert re.search(r"^bench --scale tiny on \d+ cores, .*\(a one-row commit: \d+\.\d\d ms\)", output, re.M), output


def test_a_benchmark_whose_subject_is_missing_is_skipped_before_any_database_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No database access is allowed in this test: pytest-django would fail it if a scratch database were made.
    monkeypatch.setattr(imports, "IMPORTER", "lending.imports.no_such_importer")
    rows, _ = table.run_all(scale="tiny", only=["import"], out=lambda line: None, err=lambda line: None)
    assert len(rows) == 1
    assert rows[0].measurement is None
    assert rows[0].skipped == "not available: lending.imports.no_such_importer is not installed " \
        "(lending.imports.no_such_importer missing)"  # fmt: skip


def test_unknown_benchmark_is_refused_before_anything_runs() -> None:
    with pytest.raises(CommandError, match=r"--only: ledgr is not a benchmark; choose from ledger, repayments"):
        _bench("--only", "ledger,ledgr")


def test_every_benchmark_has_a_size_at_every_scale_and_a_measure_function() -> None:
    for bench in table.BENCHMARKS:
        assert set(bench.sizes) == set(table.SCALES), bench.name
        assert callable(importlib.import_module(bench.module).measure), bench.name


def test_scale_refuses_more_lenders_than_a_loan_can_hold() -> None:
    with pytest.raises(CommandError, match=r"--lenders: 500 lenders .* use at most 200\."):
        _bench("scale", "--loans", "10", "--lenders", "500")


def test_scale_refuses_an_overdue_share_past_what_the_shape_allows() -> None:
    with pytest.raises(CommandError, match=r"--overdue-per-mille: 950 is not between 0 and 900\."):
        _bench("scale", "--loans", "10", "--overdue-per-mille", "950")


@pytest.mark.django_db(transaction=True)
def test_commit_probe_times_real_commits_and_leaves_no_table() -> None:
    assert common.commit_ms(samples=5) > 0
    assert "bench_commit_probe" not in connection.introspection.table_names()
