"""Funding under contention: several threads buy the last shares of the same loans at once (PostgreSQL).

Every thread walks the same loans in the same order and buys one share at a time until the loan is
full, so they queue on each loan's row lock, as lenders racing for a popular loan do. One lender's
wallet holds only a few shares, so that lender is refused for funds mid-run. The figure is
purchases per second of wall time, all threads together; the run then proves that no loan took more
than it asked for (raised = amount = the sum of its shares and of its positions), that no wallet went
below zero at any moment (`reconcile` replays every bounded account's history), and that the short
lender was refused.

The reference does the same locked writes as hand-written SQL on each thread's own connection: lock
the loan, check what is left, look up the key, insert the journal, lock wallet and escrow in id order,
check the wallet, insert the transfer, update both balances, insert the share, upsert the position,
update the loan (funded when full, with its audit event), commit. Threads, not processes: each has
its own database connection and waits on the database with the GIL released, which is where the
contention is.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.db.models import F
from django.utils import timezone

from accounts import services as people
from accounts.models import LenderProfile, Role, User
from lending.bench.common import Measurement, RawSQL
from lending.ledger.chart import AccountType
from lending.ledger.errors import InsufficientFunds
from lending.ledger.models import LedgerAccount
from lending.ledger.reconcile import reconcile
from lending.ledger.services import Line, journal_post, lender_wallet, platform_account
from lending.ledger.sql import ACCOUNT, JOURNAL, TRANSFER
from lending.loans import books
from lending.loans.applications import loan_apply, loan_approve, loan_publish, loan_submit
from lending.loans.errors import ShareRefused
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderPosition, Loan, LoanEvent, Share

SHARE = 2_500
SHORT_SHARES = 3  # the short lender's wallet: this many shares per run
TARGET_PER_SECOND = 50  # a matching campaign's peak: ~100x Kiva's average of well under one purchase a second


@dataclass(frozen=True)
class Outcome:
    bought: int
    full: int  # refused: the loan was full (or funded) by the time the lock was ours
    broke: int  # refused: the wallet could not pay


@dataclass(frozen=True)
class Run:
    per_second: float
    outcomes: list[Outcome]


def _buyers(threads: int, runs: int, loans_per_run: int, shares: int) -> list[User]:
    cash = platform_account(AccountType.PROCESSOR_CASH, settings.PLATFORM_CURRENCY)
    plenty = SHARE * shares * loans_per_run * runs  # enough to fund every loan of every run alone
    lenders = []
    for t in range(threads):
        user = User.objects.create_user(email=f"buyer-{t}@funding.bench.example", password=None, role=Role.LENDER)
        LenderProfile.objects.create(user=user, display_name=f"Buyer {t}")
        wallet = lender_wallet(user=user, currency=settings.PLATFORM_CURRENCY)
        amount = SHARE * SHORT_SHARES * runs if t == 0 else plenty
        journal_post(idempotency_key=f"funding-bench:deposit:{t}", kind="deposit", lines=[Line(cash, wallet, amount)])
        lenders.append(user)
    return lenders


def _loans(count: int, shares: int) -> list[Loan]:
    staff = User.objects.get(email="funding-staff@bench.example")
    borrower = people.borrower_create(display_name="Funding Borrower", country="KE")
    today = timezone.localdate()
    loans = []
    for _ in range(count):
        loan = loan_apply(
            actor=staff, borrower=borrower, amount_cents=SHARE * shares, currency=settings.PLATFORM_CURRENCY,
            purpose="Funding benchmark", sector="retail", repayments=6,
        )  # fmt: skip
        loan_submit(loan=loan, actor=staff, on=today)
        loan_approve(loan=loan, actor=staff, on=today)
        loans.append(loan_publish(loan=loan, actor=staff, on=today))
    return loans


def _together(threads: int, work: Callable[[int], Outcome]) -> Run:
    """Run work(t) on `threads` threads released at once; purchases per second of the whole run's wall time."""
    barrier = threading.Barrier(threads + 1)

    def call(t: int) -> Outcome:
        try:
            barrier.wait()
            return work(t)
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(call, t) for t in range(threads)]
        barrier.wait()
        started = time.perf_counter()
        outcomes = [f.result() for f in futures]
        seconds = time.perf_counter() - started
    return Run(sum(o.bought for o in outcomes) / seconds, outcomes)


def _service_buyer(lenders: list[User], loans: list[Loan], label: str) -> Callable[[int], Outcome]:
    def work(t: int) -> Outcome:
        bought = full = 0
        for loan in loans:
            while True:
                try:
                    share_purchase(
                        loan=loan, lender=lenders[t], amount_cents=SHARE, idempotency_key=f"{label}:{t}:{bought}"
                    )
                except ShareRefused:
                    full += 1
                    break
                except InsufficientFunds:
                    return Outcome(bought, full, 1)
                bought += 1
        return Outcome(bought, full, 0)

    return work


def _raw_buyer(lenders: list[User], loans: list[Loan], label: str) -> Callable[[int], Outcome]:
    """The same purchase as share_purchase, as hand-written SQL on the thread's own raw connection."""
    loan_t, share_t, position_t, event_t = (
        Loan._meta.db_table, Share._meta.db_table, LenderPosition._meta.db_table, LoanEvent._meta.db_table,
    )  # fmt: skip
    wallets = {u.pk: lender_wallet(user=u, currency=settings.PLATFORM_CURRENCY).pk for u in lenders}
    escrows = {loan.pk: books.escrow(loan).pk for loan in loans}

    def buy(db: RawSQL, lender_id: int, loan_id: int, key: str) -> str:
        """'ok', 'full' or 'broke', in one transaction."""
        cur = db.begin()
        cur.execute(f"SELECT status, amount_cents, raised_cents FROM {loan_t} WHERE id = %s FOR UPDATE", [loan_id])
        status, amount, raised = cur.fetchone()
        cur.execute(
            f"SELECT s.id FROM {share_t} s JOIN {JOURNAL} j ON j.id = s.journal_id WHERE j.idempotency_key = %s", [key]
        )
        if cur.fetchone() is not None or status != Loan.Status.FUNDRAISING or amount - raised < SHARE:
            cur.execute("ROLLBACK")
            return "full"
        wallet, escrow = wallets[lender_id], escrows[loan_id]
        now = timezone.now()
        fingerprint = hashlib.sha256(f"share_purchase|{wallet}>{escrow}:{SHARE}".encode()).hexdigest()
        cur.execute(
            f"INSERT INTO {JOURNAL} (idempotency_key, kind, description, effective_at, created_at, fingerprint, "
            "reverses_id, metadata) VALUES (%s, 'share_purchase', %s, %s, %s, %s, NULL, '{}') "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            [key, f"Loan {loan_id}: 1 share(s)", now, now, fingerprint],
        )
        journal_id = cur.fetchone()[0]
        cur.execute(
            f"SELECT id, debits_posted_cents, credits_posted_cents FROM {ACCOUNT} WHERE id = ANY(%s) "
            "ORDER BY id FOR UPDATE",
            [sorted((wallet, escrow))],
        )
        balances = {row[0]: row[2] - row[1] for row in cur.fetchall()}
        if balances[wallet] < SHARE:
            cur.execute("ROLLBACK")
            return "broke"
        cur.execute(
            f"INSERT INTO {TRANSFER} (journal_id, debit_account_id, credit_account_id, amount_cents, currency) "
            "VALUES (%s, %s, %s, %s, %s)",
            [journal_id, wallet, escrow, SHARE, settings.PLATFORM_CURRENCY],
        )
        cur.execute(
            f"UPDATE {ACCOUNT} SET debits_posted_cents = debits_posted_cents + CASE WHEN id = %s THEN %s ELSE 0 END, "
            f"credits_posted_cents = credits_posted_cents + CASE WHEN id = %s THEN %s ELSE 0 END WHERE id IN (%s, %s)",
            [wallet, SHARE, escrow, SHARE, wallet, escrow],
        )
        cur.execute(
            f"INSERT INTO {share_t} (loan_id, lender_id, amount_cents, journal_id, created_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            [loan_id, lender_id, SHARE, journal_id, now],
        )
        cur.execute(
            f"INSERT INTO {position_t} AS p (loan_id, lender_id, lent_cents, principal_repaid_cents, "
            "interest_received_cents, written_off_cents, recovered_cents, refunded_cents) "
            "VALUES (%s, %s, %s, 0, 0, 0, 0, 0) ON CONFLICT (loan_id, lender_id) "
            "DO UPDATE SET lent_cents = p.lent_cents + EXCLUDED.lent_cents RETURNING xmax = 0",
            [loan_id, lender_id, SHARE],
        )
        new_lender = bool(cur.fetchone()[0])
        full = raised + SHARE == amount
        today = timezone.localdate()
        cur.execute(
            f"UPDATE {loan_t} SET raised_cents = raised_cents + %s, lender_count = lender_count + %s, "
            "status = CASE WHEN %s THEN 'funded' ELSE status END, "
            "funded_on = CASE WHEN %s THEN %s ELSE funded_on END WHERE id = %s",
            [SHARE, int(new_lender), full, full, today, loan_id],
        )
        if full:
            cur.execute(
                f"INSERT INTO {event_t} (loan_id, from_status, to_status, actor_id, reason, business_date, created_at) "
                "VALUES (%s, 'fundraising', 'funded', NULL, 'fully funded', %s, %s)",
                [loan_id, today, now],
            )
        db.commit(cur)
        return "ok"

    def work(t: int) -> Outcome:
        db = RawSQL()
        bought = full = 0
        lender_id = lenders[t].pk
        for loan in loans:
            while True:
                result = buy(db, lender_id, loan.pk, f"share:{lender_id}:{label}:{t}:{bought}")
                if result == "broke":
                    return Outcome(bought, full, 1)
                if result == "full":
                    full += 1
                    break
                bought += 1
        return Outcome(bought, full, 0)

    return work


def check(loans: list[Loan]) -> list[str]:
    """What went wrong with these loans' funding, if anything: over- or under-funding, shares and positions adrift."""
    ids = [loan.pk for loan in loans]
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.id, l.status, l.amount_cents, l.raised_cents, "
            f"(SELECT COALESCE(SUM(amount_cents), 0) FROM {Share._meta.db_table} WHERE loan_id = l.id), "
            f"(SELECT COALESCE(SUM(lent_cents), 0) FROM {LenderPosition._meta.db_table} WHERE loan_id = l.id), "
            f"(SELECT credits_posted_cents - debits_posted_cents FROM {ACCOUNT} WHERE code = 'loan:' || l.id || "
            f"':{AccountType.LOAN_ESCROW}:' || l.currency) "
            f"FROM {Loan._meta.db_table} l WHERE l.id = ANY(%s) ORDER BY l.id",
            [ids],
        )
        for loan_id, status, amount, raised, shares, lent, escrow in cursor.fetchall():
            if status != Loan.Status.FUNDED or not amount == raised == shares == lent == escrow:
                problems.append(
                    f"loan {loan_id} ({status}): amount {amount}, raised {raised}, shares {shares}, "
                    f"positions {lent}, escrow {escrow}"
                )
    overdrawn = LedgerAccount.objects.filter(
        type=AccountType.LENDER_WALLET, debits_posted_cents__gt=F("credits_posted_cents")
    )
    problems += [f"wallet {a.code} overdrawn" for a in overdrawn]
    return problems


def run(*, threads: int, loans: int, shares: int, rounds: int, out: Callable[[str], None]) -> dict[str, Any]:
    """Service and reference in alternating rounds, each on fresh loans; medians of purchases per second."""
    people.platform_staff_create(email="funding-staff@bench.example", password=None, full_name="Funding Staff")
    lenders = _buyers(threads, rounds * 2, loans, shares)
    rates: dict[str, list[float]] = {"service": [], "raw": []}
    broke = {"service": 0, "raw": 0}
    for n in range(1, rounds + 1):
        order = [("service", _service_buyer), ("raw", _raw_buyer)]
        for method, make in order if n % 2 else reversed(order):
            batch = _loans(loans, shares)
            result = _together(threads, make(lenders, batch, f"{method}-{n}"))
            problems = check(batch)
            if problems:
                raise RuntimeError(f"funding under contention ({method}): " + "; ".join(problems[:5]))
            broke[method] += sum(o.broke for o in result.outcomes)
            rates[method].append(result.per_second)
            bought = sum(o.bought for o in result.outcomes)
            out(f"  round {n} {method:<8} {result.per_second:8.1f} purchases/s ({bought} bought by {threads} "
                f"threads, {sum(o.full for o in result.outcomes)} found the loan full)")  # fmt: skip
    report = reconcile()
    if not report.ok:
        raise RuntimeError(f"funding under contention left the ledger inconsistent: {report.violations[:3]}")
    if not broke["service"] or not broke["raw"]:
        raise RuntimeError("the short lender was never refused for funds: the overdraft path was not exercised")
    service, raw = statistics.median(rates["service"]), statistics.median(rates["raw"])
    out(f"  no loan over- or under-funded, no wallet below zero at any journal (reconcile), short lender refused "
        f"{broke['service']}x (service) and {broke['raw']}x (raw)")  # fmt: skip
    return {"service": service, "raw": raw, "ratio": service / raw}


def measure(*, out: Callable[[str], None], threads: int, loans: int, shares: int, rounds: int) -> Measurement:
    figures = run(threads=threads, loans=loans, shares=shares, rounds=rounds, out=out)
    return Measurement(
        operation=f"share_purchase under contention ({threads} threads, same loans)",
        size=f"{loans} loans x {shares} shares",
        seconds=1 / figures["service"],
        per="purchase",
        rate=figures["service"],
        unit="purchases",
        ratio=figures["ratio"],
        target=f">= {TARGET_PER_SECOND}/s, never over-funded or overdrawn",
        meets=figures["service"] >= TARGET_PER_SECOND,
        note="checked: raised = shares = positions = escrow; reconcile clean",
    )
