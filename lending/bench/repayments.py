"""Repayments benchmark: `repayment_record` for loans with 40 lenders, next to raw SQL doing the same writes.

Each loan is funded by 40 lenders ($25 each) and disbursed through the services; every repayment
is a small partial payment, so each is split 40 ways (41 transfers) and touches one installment.
The raw reference does, in one transaction per repayment, exactly the service's writes: lock the
loan, read its open installments and lender positions, insert the journal, lock the accounts,
insert the transfers, update the balances, insert the repayment and its 40 receipts, update the
positions and the installment, pipelined on PostgreSQL into the same four round trips. It reuses
the service's pure allocation and split functions, so the ratio measures the data layer, not the
arithmetic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts import services as people
from lending.bench.common import Comparison, Measurement, Poster, RawSQL, compare
from lending.ledger.chart import AccountType
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.ledger.sql import ACCOUNT, JOURNAL
from lending.loans import books
from lending.loans.allocation import Due, allocate, parse_order
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.disbursement import loan_disburse
from lending.loans.fundraising import share_purchase
from lending.loans.models import Installment, LenderPosition, Loan, Repayment, RepaymentSplit
from lending.loans.repayments import repayment_record
from lending.money import split_cumulative

REPAYMENT_CENTS = 250  # a partial payment: split 40 ways, every lender gets something
START = date(2026, 1, 5)


def build_loans(count: int, lenders: int) -> list[Loan]:
    User = get_user_model()
    staff = people.platform_staff_create(email="bench-staff@example.org", password=None, full_name="Bench Staff")
    partner = people.field_partner_create(name="Bench Partner", country="KE")
    borrower = people.borrower_create(display_name="Bench Borrower", country="KE", partner=partner)
    cash = platform_account(AccountType.PROCESSOR_CASH, "USD")
    funders = [User.objects.create_user(email=f"bench-lender-{i}@example.org", password=None) for i in range(lenders)]
    for lender in funders:
        journal_post(
            idempotency_key=f"bench-deposit:{lender.pk}",
            kind="deposit",
            lines=[Line(cash, lender_wallet(user=lender, currency="USD"), 2_500 * count)],
        )
    loans = []
    for n in range(count):
        loan = loan_apply(
            actor=staff, borrower=borrower, amount_cents=2_500 * lenders, currency="USD",
            purpose="Benchmark", sector="retail", repayments=12,
        )  # fmt: skip
        loan_submit(loan=loan, actor=staff, on=START)
        loan_approve(loan=loan, actor=staff, on=START)
        loan_publish(loan=loan, actor=staff, on=START)
        for lender in funders:
            share_purchase(loan=loan, lender=lender, amount_cents=2_500, idempotency_key=f"bench-{n}", on=START)
        loans.append(loan_disburse(loan=loan, actor=staff, on=START))
    return loans


def service_poster(loans: list[Loan]) -> Poster:
    def post(key: str, n: int) -> None:
        repayment_record(
            loan=loans[0], amount_cents=REPAYMENT_CENTS, currency="USD", received_on=START + timedelta(days=n // 50),
            source="staff", idempotency_key=key, actor=None,
        )  # fmt: skip

    return post


def raw_poster(loan: Loan) -> Poster:
    """Hand-written SQL for the same reads and writes as repayment_record, in as many round trips.

    On PostgreSQL both are pipelined alike: the reads under the loan lock in one round trip, the
    journal row with the account locks in a second, every other write in a third, then COMMIT.
    """
    db = RawSQL()
    lock = " FOR UPDATE" if db.postgres else ""
    positions_t, installments_t = LenderPosition._meta.db_table, Installment._meta.db_table
    repayment_t, split_t, loan_t = Repayment._meta.db_table, RepaymentSplit._meta.db_table, Loan._meta.db_table
    book = books.loan_books(loan, list(LenderPosition.objects.filter(loan=loan).values_list("lender_id", flat=True)))
    adapt = connection.ops.adapt_datetimefield_value
    order = parse_order(loan.allocation_order)

    def post(key: str, n: int) -> None:
        on = START + timedelta(days=n // 50)
        with db.pipeline():
            cur = db.begin()
            locked = db.send(f"SELECT id, status FROM {loan_t} WHERE id = %s{lock}", [loan.pk])
            dues = db.send(
                f"SELECT id, fees_cents - paid_fees_cents, interest_cents - paid_interest_cents, "
                f"principal_cents - paid_principal_cents, paid_fees_cents, paid_interest_cents, paid_principal_cents, "
                f"fees_cents + interest_cents + principal_cents FROM {installments_t} "
                f"WHERE loan_id = %s AND paid_on IS NULL ORDER BY number",
                [loan.pk],
            )
            held = db.send(
                f"SELECT id, lender_id, lent_cents - refunded_cents, principal_repaid_cents FROM {positions_t} "
                f"WHERE loan_id = %s AND lent_cents > 0 ORDER BY lender_id",
                [loan.pk],
            )
            locked(), (rows := dues()), (positions := held())
        alloc = allocate(REPAYMENT_CENTS, [Due(r[0], r[1], r[2], r[3]) for r in rows], order)
        principal = alloc.sum_of("principal")
        parts = split_cumulative(principal, [p[2] for p in positions], [p[3] for p in positions])
        lines = [(book.cash.pk, book.receivable.pk, principal)] + [
            (book.escrow.pk, book.wallets[p[1]].pk, part) for p, part in zip(positions, parts, strict=True) if part
        ]
        fingerprint = hashlib.sha256(
            ("repayment|" + ";".join(f"{d}>{c}:{a}" for d, c, a in lines)).encode()
        ).hexdigest()
        now = adapt(timezone.now())
        ids = sorted({account for d, c, _ in lines for account in (d, c)})
        with db.pipeline():
            journal = db.send(
                f"INSERT INTO {JOURNAL} (idempotency_key, kind, description, effective_at, created_at, fingerprint, "
                "reverses_id, metadata) VALUES (%s, 'repayment', 'benchmark', %s, %s, %s, NULL, %s) "
                "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                [f"raw-repayment:{key}", now, now, fingerprint, json.dumps({"loan": loan.pk})],
            )
            accounts = db.send(
                f"SELECT id FROM {ACCOUNT} WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id{lock}", ids
            )
            journal_id, _ = journal()[0][0], accounts()
            db.write_transfers(cur, journal_id, lines, "USD")
            repayment = db.send(
                f"INSERT INTO {repayment_t} (loan_id, amount_cents, currency, received_on, source, idempotency_key, "
                "recorded_by_id, principal_cents, interest_cents, fees_cents, overpayment_cents, "
                "lender_interest_cents, platform_cents, is_recovery, journal_id, created_at) "
                "VALUES (%s, %s, 'USD', %s, 'staff', %s, NULL, %s, %s, %s, %s, 0, %s, FALSE, %s, %s) RETURNING id",
                [loan.pk, REPAYMENT_CENTS, on, f"raw:{key}", principal, alloc.sum_of("interest"), alloc.sum_of("fees"),
                 alloc.leftover, alloc.sum_of("interest") + alloc.sum_of("fees"), journal_id, now],
            )  # fmt: skip
            receipts = [(p[1], part, 0) for p, part in zip(positions, parts, strict=True) if part]
            source, params = db.rows(["l", "p", "i"], ["bigint"] * 3, receipts)
            cur.execute(
                f"INSERT INTO {split_t} (repayment_id, lender_id, principal_cents, interest_cents) "
                f"SELECT r.id, v.l, v.p, v.i FROM {repayment_t} r, {source} AS v WHERE r.idempotency_key = " + db.ph,
                [*params, f"raw:{key}"],
            )
            changed = [(p[0], part) for p, part in zip(positions, parts, strict=True) if part]
            source, params = db.rows(["id", "p"], ["bigint"] * 2, changed)
            cur.execute(
                f"UPDATE {positions_t} SET principal_repaid_cents = {positions_t}.principal_repaid_cents + v.p "
                f"FROM {source} AS v WHERE {positions_t}.id = v.id",
                params,
            )
            for paid in alloc.paid:
                row = next(r for r in rows if r[0] == paid.key)
                done = row[4] + row[5] + row[6] + paid.total == row[7]
                cur.execute(
                    db.sql(
                        f"UPDATE {installments_t} SET paid_fees_cents = paid_fees_cents + %s, "
                        "paid_interest_cents = paid_interest_cents + %s, "
                        "paid_principal_cents = paid_principal_cents + %s, paid_on = %s WHERE id = %s"
                    ),
                    [paid.fees, paid.interest, paid.principal, on if done else None, paid.key],
                )
        repayment()
        db.commit(cur)

    return post


def run(*, repayments: int, rounds: int, lenders: int, out: Callable[[str], None]) -> Comparison:
    total_cents = 2_500 * lenders
    per_loan = total_cents // REPAYMENT_CENTS - 1  # stay short of repaying the loan in full
    needed = (repayments * rounds + 20) // per_loan + 1
    out(f"setting up {2 * needed} loans of {lenders} lenders through the services...")
    loans = build_loans(2 * needed, lenders)
    service_loans, raw_loans = loans[:needed], loans[needed:]
    state = {"service": 0, "raw": 0}

    def service(key: str, n: int) -> None:
        index = state["service"] // per_loan
        state["service"] += 1
        service_poster(service_loans[index : index + 1])(key, n)

    raw_posters = [raw_poster(loan) for loan in raw_loans]

    def raw(key: str, n: int) -> None:
        index = state["raw"] // per_loan
        state["raw"] += 1
        raw_posters[index](key, n)

    return compare(service=service, raw=raw, count=repayments, rounds=rounds, unit="repayments", out=out)


TARGET_PER_SECOND = 150


def measure(*, out: Callable[[str], None], repayments: int, rounds: int, lenders: int) -> Measurement:
    result = run(repayments=repayments, rounds=rounds, lenders=lenders, out=out)
    return Measurement(
        operation=f"repayment_record on a {lenders}-lender loan",
        size=f"{rounds} x {repayments} repayments",
        seconds=1 / result.service_per_second,
        per="repayment",
        rate=result.service_per_second,
        unit="repayments",
        ratio=result.ratio,
        target=f">= {TARGET_PER_SECOND}/s",
        meets=result.service_per_second >= TARGET_PER_SECOND,
    )
