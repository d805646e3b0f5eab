"""What an import did, counted as it goes, and the progress line it prints every N records."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from lending.imports.comparison import Comparison
from lending.imports.loans import Imported


class Writer(Protocol):
    """Where text goes: a file, sys.stderr, or a management command's stdout/stderr."""

    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


MAX_LISTED = 1000  # problems kept by id and reason; every one is counted, and printed as it happens


@dataclass
class FileFigures:
    """A CSV file's own totals, over every row whose amounts parse, imported or not (minor units)."""

    rows: int = 0
    fully_funded: int = 0
    zero_funded: int = 0
    loan_cents: int = 0
    funded_cents: int = 0

    def line(self) -> str:
        return (
            f"the file: {self.rows:,} rows with amounts, {self.fully_funded:,} fully funded, "
            f"{self.rows - self.fully_funded:,} not ({self.zero_funded:,} with nothing funded); "
            f"loan amounts ${self.loan_cents / 100:,.2f}, funded ${self.funded_cents / 100:,.2f}"
        )


@dataclass
class ImportSummary:
    """Counts of one run; `imported + already + skipped == read`."""

    read: int = 0
    imported: int = 0
    already: int = 0  # imported by an earlier run: left as they are
    skipped: int = 0  # malformed, or refused by the services: reported by id and reason
    problems: list[tuple[str, str]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)  # skipped records by field
    source_statuses: Counter[str] = field(default_factory=Counter)  # of the records read
    statuses: Counter[str] = field(default_factory=Counter)  # ours, right after each import (before any close)
    payments_recorded: int = 0
    payments_unrecorded: int = 0
    unrecorded_cents: int = 0
    deposited_cents: int = 0
    amount_cents: int = 0  # loan amounts imported in this run
    lent_cents: int = 0  # shares bought in this run (returned since on expired and refunded loans)
    seconds: float = 0.0
    close: str = ""  # what the close of business did afterwards
    comparison: Comparison | None = None  # Kiva's outcomes against ours (snapshots)
    figures: FileFigures | None = None  # the file's own totals (CSV)
    started: float = field(default_factory=time.perf_counter, repr=False)

    def skip(self, external_id: str, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason.split(":", 1)[0]] += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append((external_id, reason))

    def add(self, result: Imported) -> None:
        self.imported += 1
        self.statuses[result.loan.status] += 1
        self.payments_recorded += result.payments_recorded
        self.payments_unrecorded += result.unrecorded
        self.unrecorded_cents += result.unrecorded_cents
        self.deposited_cents += result.deposited_cents
        self.amount_cents += result.loan.amount_cents
        self.lent_cents += result.lent_cents

    def finish(self) -> None:
        self.seconds = time.perf_counter() - self.started

    @property
    def loans_per_second(self) -> float:
        return self.imported / self.seconds if self.seconds else 0.0

    @property
    def payments_per_second(self) -> float:
        return self.payments_recorded / self.seconds if self.seconds else 0.0

    def progress(self, label: str) -> str:
        elapsed = time.perf_counter() - self.started
        rate = self.imported / elapsed if elapsed else 0.0
        return (
            f"{label}: {self.read:,} read, {self.imported:,} imported, {self.already:,} already imported, "
            f"{self.skipped:,} skipped, {self.payments_recorded:,} payments; {rate:.1f} loans/s"
        )

    def lines(self) -> list[str]:
        """The summary as text: counts, problems by reason, statuses, throughput."""
        out = [
            f"read {self.read:,} records: {self.imported:,} imported, {self.already:,} already imported "
            f"(left as they were), {self.skipped:,} skipped",
        ]
        if self.figures is not None:
            out.append(self.figures.line())
        out.append(
            f"imported in this run: loan amounts ${self.amount_cents / 100:,.2f}, lent ${self.lent_cents / 100:,.2f}"
        )
        if self.skipped:
            out.append("skipped, by field: " + ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items())))
        if self.source_statuses:
            out.append("in the file: " + _counts(self.source_statuses))
        if self.statuses:
            out.append("our status right after import: " + _counts(self.statuses))
        out.append(
            f"payments recorded: {self.payments_recorded:,}; not recorded because the loan was already repaid: "
            f"{self.payments_unrecorded:,} (${self.unrecorded_cents / 100:,.2f}); synthetic deposits "
            f"${self.deposited_cents / 100:,.2f}"
        )
        out.append(
            f"took {self.seconds:.1f} s: {self.loans_per_second:.1f} loans/s, {self.payments_per_second:.1f} payments/s"
        )
        return out


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name or '(empty)'} {count:,}" for name, count in sorted(counter.items()))


class Progress:
    """Writes the summary's progress line to `err` every `every` records."""

    def __init__(self, summary: ImportSummary, err: Writer | None, every: int, label: str) -> None:
        self.summary, self.err, self.every, self.label = summary, err, max(every, 1), label

    def tick(self) -> None:
        if self.err is not None and self.summary.read % self.every == 0:
            self.err.write(self.summary.progress(self.label) + "\n")
            self.err.flush()

    def say(self, line: str) -> None:
        if self.err is not None:
            self.err.write(line + "\n")
            self.err.flush()
