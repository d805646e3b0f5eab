"""Derive the demo's committed inputs (seeds/data/) from the real Kiva data in ../shared/data/kiva/.

    .venv/bin/python -m seeds.derive ../shared/data/kiva

Only numbers, dates and categories leave the source files: no names, no free text, no ids that
lead back to a person. The product never reads ../shared; it reads what this script wrote.

- `loans.csv`: 3,000 loans drawn (seed 2015) from Kaggle's 10k sample of kiva_loans.csv: amount,
  term, sector, country, repayment interval, lender count, field partner (renumbered), borrowers,
  gender, the amount raised and the days it took to fund.
- `behaviour.json`: how Kiva's first-year borrowers repaid (the 2015 API snapshot's paid and
  defaulted loans): how late each installment was, how often a payment fell short of the
  installment and by how much, how often a loan stopped paying and how much it had repaid by then.
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data"
SAMPLE = 3_000
QUANTILES = 20  # behaviour distributions are kept as 21 cut points (0%, 5%, ..., 100%)


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def _when(text: str) -> datetime | None:
    return datetime.fromisoformat(text.replace("+00:00", "")) if text else None


def _cuts(values: list[float]) -> list[float]:
    ordered = sorted(values)
    inner = statistics.quantiles(ordered, n=QUANTILES, method="inclusive")
    return [round(v, 4) for v in [ordered[0], *inner, ordered[-1]]]


def loans(kaggle_csv: Path) -> list[dict[str, object]]:
    with open(kaggle_csv, encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["id"]))
    partners: dict[str, int] = {}
    for row in rows:  # partners renumbered 1.. by first appearance; blank stays 0 (a direct loan)
        if row["partner_id"] and row["partner_id"] not in partners:
            partners[row["partner_id"]] = len(partners) + 1
    out = []
    for row in random.Random(2015).sample(rows, SAMPLE):
        posted, funded = _when(row["posted_time"]), _when(row["funded_time"])
        genders = [g.strip() for g in row["borrower_genders"].split(",") if g.strip()]
        out.append(
            {
                "amount_usd": int(float(row["loan_amount"])),
                "funded_usd": int(float(row["funded_amount"])),
                "term_months": max(1, int(float(row["term_in_months"]))),
                "sector": row["sector"],
                "country": row["country_code"],
                "interval": row["repayment_interval"],
                "lenders": int(row["lender_count"]),
                "partner": partners.get(row["partner_id"], 0),
                "borrowers": max(1, len(genders)),
                "gender": row["gender"] if row["gender"] in ("male", "female") else "",
                "days_to_fund": (funded - posted).days if posted and funded and funded >= posted else "",
            }
        )
    return out


def behaviour(snapshot_dir: Path) -> dict[str, object]:
    derived = snapshot_dir / "derived"

    def read(name: str) -> list[dict[str, str]]:
        with open(derived / name, encoding="utf-8") as f:
            return list(csv.DictReader(f))

    ended = {r["id"]: r for r in read("loans_page1.csv") if r["status"] in ("paid", "defaulted")}
    payments: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for r in read("payments_page1.csv"):
        payments[r["loan_id"]].append((_day(r["processed_date"]), float(r["amount_usd"])))
    schedule: dict[str, list[tuple[int, date, float]]] = defaultdict(list)
    for r in read("scheduled_payments_page1.csv"):
        schedule[r["loan_id"]].append((int(r["seq"]), _day(r["due_date"]), float(r["amount_usd"])))

    days_late, ratios = [], []
    for loan_id, rows in schedule.items():
        if loan_id not in ended:
            continue
        paid = sorted(payments[loan_id])
        owed = 0.0
        median_installment = statistics.median(a for _, _, a in rows)
        ratios += [amount / median_installment for _, amount in paid]
        for _, due, amount in sorted(rows):
            owed += amount
            total = 0.0
            for on, part in paid:  # the day the payments first covered everything due so far
                total += part
                if total >= owed - 0.005:
                    days_late.append(max(0, (on - due).days))
                    break
    stopped = [
        min(1.0, float(r["sum_payments_usd"] or 0) / float(r["funded_amount"]))
        for r in ended.values()
        if r["status"] == "defaulted" and float(r["sum_payments_usd"] or 0) < float(r["funded_amount"])
    ]
    defaulted = sum(1 for r in ended.values() if r["status"] == "defaulted")
    short = [r for r in ratios if r < 0.95]
    return {
        "source": "Kiva API snapshot 2015-01-05, loans_page1.json: paid and defaulted loans",
        "ended_loans": len(ended),
        "installments_measured": len(days_late),
        "days_late_cuts": _cuts([float(d) for d in days_late]),
        "on_time_share": round(sum(1 for d in days_late if d == 0) / len(days_late), 4),
        "short_payment_share": round(len(short) / len(ratios), 4),
        "short_payment_fraction_cuts": _cuts(short),
        "stop_paying_share": round(defaulted / len(ended), 4),
        "repaid_share_when_stopped": sorted(round(s, 4) for s in stopped),
    }


def main(kiva_dir: str) -> None:
    root = Path(kiva_dir)
    OUT.mkdir(exist_ok=True)
    drawn = loans(root / "kaggle_kiva_loans_sample_10k.csv")
    with open(OUT / "loans.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(drawn[0]))
        writer.writeheader()
        writer.writerows(drawn)
    facts = behaviour(root / "kiva_api_snapshot_2015-01-05")
    (OUT / "behaviour.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(drawn)} loans and the repayment behaviour of {facts['ended_loans']} ended loans to {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m seeds.derive PATH/TO/shared/data/kiva")
    main(sys.argv[1])
