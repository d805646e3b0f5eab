"""Dashboard benchmark: one lender with 2,000 loans and their repayment history, the page timed against raw SQL.

The people, accounts and one template loan are made through the services; the portfolio is then
seeded set-based with generate_series (PostgreSQL), as the close benchmark does, because 2,000 loans
with a year of repayments through the services would take many minutes. Each loan is shared by five
lenders (so the tables hold other lenders' rows too), repaid monthly by installments of $25 ($5 to
each lender) through journals that credit every lender's wallet, and the nightly snapshot is taken.

The figure is the whole page, as a browser gets it: a logged-in GET through Django's test Client
(middleware, session, selectors, SVG charts, template), DEBUG off, median of several rounds. The
reference reads the same figures with hand-written SQL and no rendering, so the ratio is the cost of
everything the page adds to the reads themselves.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as people
from accounts.models import BorrowerProfile, LenderProfile, User
from lending.bench.common import Measurement
from lending.ledger.chart import AccountType, account_code
from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.ledger.services import account_open, lender_wallet, platform_account
from lending.loans.applications import loan_apply
from lending.loans.models import Installment, LenderPosition, Loan, LoanEvent, Repayment, RepaymentSplit, Sector
from lending.metrics.models import PortfolioSnapshot
from lending.metrics.snapshots import snapshot_portfolio

LENDERS_PER_LOAN = 5
STAKE_CENTS = 6_000  # each lender's part of a $300 loan
INSTALLMENT_CENTS = 2_500  # 12 of them: $5 to each lender
SPREAD_DAYS = 540  # loans disbursed over the last year and a half: the oldest are repaid
COUNTRIES = ("KE", "UG", "PE", "PH", "KH", "NG", "TZ", "GH")
PAGE_TARGET_MS = 300


def _t(model: type) -> str:
    return str(model._meta.db_table)  # type: ignore[attr-defined]


def _people() -> tuple[User, list[User], Loan]:
    staff = people.platform_staff_create(email="bench-dashboard@example.org", password=None, full_name="Bench")
    partner = people.field_partner_create(name="Bench Dashboard Partner", country="KE", risk_rating="3.5")
    borrower = people.borrower_create(display_name="Bench Borrower", country="KE", partner=partner)
    lenders = []
    for n in range(LENDERS_PER_LOAN):
        user = User.objects.create_user(email=f"lender-{n}@bench-dashboard.example", password=None,
                                        full_name=f"Bench Lender {n}")  # fmt: skip
        LenderProfile.objects.create(user=user, display_name=f"Bench Lender {n}")
        lenders.append(user)
    template = loan_apply(
        actor=staff, borrower=borrower, amount_cents=LENDERS_PER_LOAN * STAKE_CENTS, currency="USD",
        purpose="bench", sector="retail", repayments=12,
    )  # fmt: skip
    return lenders[0], lenders, template


def _insert_loans(cursor: Any, template: Loan, loans: int, today: date) -> tuple[int, int]:
    """`loans` copies of the template: some fundraising, some defaulted, the oldest repaid, the rest paying back."""
    sectors = "ARRAY[" + ", ".join(f"'{s}'" for s in Sector.values) + "]"
    countries = "ARRAY[" + ", ".join(f"'{c}'" for c in COUNTRIES) + "]"
    overrides = {
        "status": "s.status",
        "sector": f"({sectors})[1 + s.g %% {len(Sector.values)}]",
        "country": f"({countries})[1 + s.g %% {len(COUNTRIES)}]",
        "purpose": "'Bench loan ' || s.g",
        "disbursed_on": "CASE WHEN s.status = 'fundraising' THEN NULL ELSE s.disbursed END",
        "maturity_date": "CASE WHEN s.status = 'fundraising' THEN NULL ELSE s.disbursed + 360 END",
        "fundraising_deadline": "CASE WHEN s.status = 'fundraising' THEN %(today)s::date + 20 ELSE s.disbursed - 5 END",
        "raised_cents": f"CASE WHEN s.status = 'fundraising' THEN {STAKE_CENTS * 3} ELSE t.amount_cents END",
        "delinquent": "s.status = 'paying_back' AND s.g %% 10 = 1",
    }
    columns = [f.column for f in Loan._meta.concrete_fields if f.column != "id"]
    values = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    cursor.execute(
        f"WITH s AS (SELECT g, (%(today)s::date - (g %% {SPREAD_DAYS})) AS disbursed, "
        f"CASE WHEN g %% 40 = 3 THEN 'fundraising' WHEN g %% 50 = 7 THEN 'defaulted' "
        f"WHEN g %% {SPREAD_DAYS} > 365 THEN 'repaid' ELSE 'paying_back' END AS status "
        f"FROM generate_series(1, %(n)s) g) "
        f"INSERT INTO {_t(Loan)} ({', '.join(columns)}) SELECT {values} FROM {_t(Loan)} t CROSS JOIN s "
        f"WHERE t.id = %(template)s ORDER BY s.g",
        {"today": today, "n": loans, "template": template.pk},
    )
    cursor.execute(f"SELECT MIN(id), MAX(id) FROM {_t(Loan)} WHERE id > %s", [template.pk])
    first, last = cursor.fetchone()
    # The status as an event says it (the snapshot reads each loan's status on a date from its events).
    cursor.execute(
        f"INSERT INTO {_t(LoanEvent)} (loan_id, from_status, to_status, actor_id, reason, business_date, created_at) "
        f"SELECT id, 'approved', status, NULL, 'bench', COALESCE(disbursed_on, %(today)s::date - 1), NOW() "
        f"FROM {_t(Loan)} WHERE id BETWEEN %(first)s AND %(last)s",
        {"today": today, "first": first, "last": last},
    )
    return int(first), int(last)


def _insert_schedules(cursor: Any, ids: tuple[int, int], lenders: list[User], today: date) -> None:
    """Twelve monthly installments per disbursed loan, paid when due (a defaulted loan stopped after three,
    a late one missed the last 40 days), and each lender's stake with what it has been repaid."""
    cursor.execute(
        f"INSERT INTO {_t(Installment)} (loan_id, number, due_date, principal_cents, interest_cents, fees_cents, "
        f"paid_principal_cents, paid_interest_cents, paid_fees_cents, paid_on) "
        f"SELECT l.id, n, l.disbursed_on + 30 * n, {INSTALLMENT_CENTS}, 0, 0, "
        f"CASE WHEN paid THEN {INSTALLMENT_CENTS} ELSE 0 END, 0, 0, CASE WHEN paid THEN l.disbursed_on + 30 * n END "
        f"FROM {_t(Loan)} l CROSS JOIN generate_series(1, 12) n CROSS JOIN LATERAL (SELECT "
        f"l.disbursed_on + 30 * n < %(today)s AND (l.status <> 'defaulted' OR n <= 3) "
        f"AND NOT (l.delinquent AND l.disbursed_on + 30 * n >= %(today)s::date - 40) AS paid) p "
        f"WHERE l.id BETWEEN %(first)s AND %(last)s AND l.disbursed_on IS NOT NULL",
        {"today": today, "first": ids[0], "last": ids[1]},
    )
    share = INSTALLMENT_CENTS // LENDERS_PER_LOAN
    cursor.execute(
        f"INSERT INTO {_t(LenderPosition)} (loan_id, lender_id, lent_cents, principal_repaid_cents, "
        f"interest_received_cents, written_off_cents, recovered_cents, refunded_cents) "
        f"SELECT l.id, u.id, {STAKE_CENTS}, {share} * COALESCE(paid.n, 0), 0, "
        f"CASE WHEN l.status = 'defaulted' THEN {STAKE_CENTS} - {share} * COALESCE(paid.n, 0) ELSE 0 END, 0, 0 "
        f"FROM {_t(Loan)} l CROSS JOIN unnest(%(lenders)s::bigint[]) u(id) "
        f"LEFT JOIN (SELECT loan_id, COUNT(*) AS n FROM {_t(Installment)} WHERE paid_on IS NOT NULL GROUP BY loan_id) "
        f"paid ON paid.loan_id = l.id WHERE l.id BETWEEN %(first)s AND %(last)s",
        {"lenders": [u.pk for u in lenders], "first": ids[0], "last": ids[1]},
    )


def _insert_money(cursor: Any, ids: tuple[int, int], lender: User, lenders: list[User], today: date) -> None:
    """The journals: one deposit, a share purchase per loan, and a repayment per paid installment crediting
    every lender's wallet, with the Repayment rows and each lender's receipt."""
    cash = platform_account(AccountType.PROCESSOR_CASH, "USD")
    escrow = account_open(account_type=AccountType.LOAN_ESCROW, currency="USD", ref="loan:bench")
    wallets = [lender_wallet(user=u, currency="USD").pk for u in lenders]
    j, t, r, s = _t(Journal), _t(Transfer), _t(Repayment), _t(RepaymentSplit)
    p = {"today": today, "first": ids[0], "last": ids[1], "cash": cash.pk, "escrow": escrow.pk,
         "wallet": wallets[0], "wallets": wallets, "lender": lender.pk, "share": INSTALLMENT_CENTS // len(lenders),
         "deposit": STAKE_CENTS * (ids[1] - ids[0] + 1) + 1_000_000}  # fmt: skip
    journal = f"INSERT INTO {j} (idempotency_key, kind, description, effective_at, created_at, fingerprint, metadata) "
    noon = "(({day})::timestamp + interval '12 hours') AT TIME ZONE 'UTC'"
    cursor.execute(journal + f"VALUES ('bench:deposit', 'deposit', 'Card deposit', "
                   f"{noon.format(day='%(today)s::date - 600')}, NOW(), 'bench', '{{}}')", p)  # fmt: skip
    transfer = f"INSERT INTO {t} (journal_id, debit_account_id, credit_account_id, amount_cents, currency) "
    cursor.execute(
        transfer
        + f"SELECT id, %(cash)s, %(wallet)s, %(deposit)s, 'USD' FROM {j} WHERE idempotency_key = 'bench:deposit'",
        p,
    )
    cursor.execute(
        journal + f"SELECT 'bench:share:' || l.id, 'share_purchase', 'Loan ' || l.id || ': ' || "
        f"({STAKE_CENTS} / l.share_size_cents) || ' share(s)', "
        f"{noon.format(day='LEAST(l.fundraising_deadline - 10, %(today)s::date - 1)')}, NOW(), 'bench', '{{}}' "
        f"FROM {_t(Loan)} l WHERE l.id BETWEEN %(first)s AND %(last)s",
        p,
    )
    cursor.execute(
        transfer + f"SELECT id, %(wallet)s, %(escrow)s, {STAKE_CENTS}, 'USD' FROM {j} "
        "WHERE idempotency_key LIKE 'bench:share:%%'",
        p,
    )
    cursor.execute(
        journal + f"SELECT 'bench:repayment:' || i.id, 'repayment', 'Loan ' || i.loan_id || ': repayment received ' "
        f"|| i.paid_on, {noon.format(day='i.paid_on')}, NOW(), 'bench', jsonb_build_object('loan', i.loan_id) "
        f"FROM {_t(Installment)} i WHERE i.paid_on IS NOT NULL AND i.loan_id BETWEEN %(first)s AND %(last)s",
        p,
    )
    cursor.execute(
        f"INSERT INTO {r} (loan_id, amount_cents, currency, received_on, source, idempotency_key, principal_cents, "
        f"interest_cents, fees_cents, overpayment_cents, lender_interest_cents, platform_cents, is_recovery, "
        f"journal_id, created_at) SELECT i.loan_id, i.principal_cents, 'USD', i.paid_on, 'partner', "
        f"'bench:' || i.id, i.principal_cents, 0, 0, 0, 0, 0, false, j.id, NOW() FROM {_t(Installment)} i "
        f"JOIN {j} j ON j.idempotency_key = 'bench:repayment:' || i.id",
        p,
    )
    cursor.execute(
        transfer + f"SELECT r.journal_id, %(cash)s, w.id, %(share)s, 'USD' FROM {r} r "
        f"CROSS JOIN unnest(%(wallets)s::bigint[]) w(id) "
        f"WHERE r.idempotency_key LIKE 'bench:%%'",
        p,
    )
    cursor.execute(
        f"INSERT INTO {s} (repayment_id, lender_id, principal_cents, interest_cents) "
        f"SELECT r.id, p.lender_id, %(share)s, 0 FROM {r} r JOIN {_t(LenderPosition)} p ON p.loan_id = r.loan_id "
        f"WHERE r.idempotency_key LIKE 'bench:%%'",
        p,
    )
    # The cached totals, as the ledger keeps them (reconcile would find them equal to the log).
    cursor.execute(
        f"UPDATE {_t(LedgerAccount)} a SET "
        f"debits_posted_cents = COALESCE((SELECT SUM(amount_cents) FROM {t} WHERE debit_account_id = a.id), 0), "
        f"credits_posted_cents = COALESCE((SELECT SUM(amount_cents) FROM {t} WHERE credit_account_id = a.id), 0)"
    )


def seed(loans: int, today: date) -> User:
    """The lender, their `loans` stakes and history; returns the lender."""
    lender, lenders, template = _people()
    with connection.cursor() as cursor:
        ids = _insert_loans(cursor, template, loans, today)
        _insert_schedules(cursor, ids, lenders, today)
        _insert_money(cursor, ids, lender, lenders, today)
    snapshot_portfolio(today)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return lender


def reference_sql(lender_id: int, wallet_id: int, today: date) -> list[list[Any]]:
    """The dashboard's figures read by hand-written SQL, no rendering: what the page could at best cost."""
    lp, loan, inst, rep, split = _t(LenderPosition), _t(Loan), _t(Installment), _t(Repayment), _t(RepaymentSplit)
    codes = [account_code(kind, "USD", ref=f"lender:{lender_id}") for kind in (
        AccountType.LENDER_WALLET, AccountType.PENDING_WITHDRAWAL, AccountType.DISPUTE_HELD,
        AccountType.LENDER_RECEIVABLE)]  # fmt: skip
    first_month = date(today.year - (1 if today.month < 12 else 0), today.month % 12 + 1, 1)
    p: dict[str, Any] = {"lender": lender_id, "wallet": wallet_id, "codes": codes, "today": today, "since": first_month,
         "month": today.replace(day=1), "until": date(today.year + 1, today.month, 1)}  # fmt: skip
    statements = [
        f"SELECT code, debits_posted_cents, credits_posted_cents FROM {_t(LedgerAccount)} WHERE code = ANY(%(codes)s)",
        f"SELECT l.status, COUNT(*), SUM(p.lent_cents), SUM(p.principal_repaid_cents), SUM(p.interest_received_cents), "
        f"SUM(p.written_off_cents), SUM(p.recovered_cents), SUM(p.refunded_cents) FROM {lp} p JOIN {loan} l "
        f"ON l.id = p.loan_id WHERE p.lender_id = %(lender)s AND p.lent_cents > 0 AND l.currency = 'USD' GROUP BY 1",
        f"SELECT * FROM {_t(PortfolioSnapshot)} WHERE currency = 'USD' AND (dimension = 'platform' OR "
        f"(dimension = 'lender' AND key = %(lender)s::text)) AND as_of = (SELECT MAX(as_of) FROM "
        f"{_t(PortfolioSnapshot)} WHERE dimension = 'platform' AND currency = 'USD')",
        f"SELECT l.status, l.sector, l.country, COUNT(*), SUM(p.lent_cents), SUM(p.lent_cents - "
        f"p.principal_repaid_cents - p.written_off_cents - p.refunded_cents) FROM {lp} p JOIN {loan} l ON "
        f"l.id = p.loan_id WHERE p.lender_id = %(lender)s AND p.lent_cents > 0 AND l.currency = 'USD' GROUP BY 1, 2, 3",
        f"SELECT date_trunc('month', r.received_on), SUM(s.principal_cents + s.interest_cents) FROM {split} s "
        f"JOIN {rep} r ON r.id = s.repayment_id WHERE s.lender_id = %(lender)s AND r.currency = 'USD' "
        f"AND r.received_on BETWEEN %(since)s AND %(today)s GROUP BY 1",
        f"SELECT date_trunc('month', i.due_date), SUM((i.principal_cents - i.paid_principal_cents) * p.lent_cents "
        f"/ l.amount_cents) FROM {inst} i JOIN {loan} l ON l.id = i.loan_id JOIN {lp} p ON p.loan_id = l.id "
        f"WHERE p.lender_id = %(lender)s AND p.lent_cents > 0 AND l.status = 'paying_back' AND l.currency = 'USD' "
        f"AND i.paid_on IS NULL AND i.due_date < %(until)s GROUP BY 1",
        f"SELECT COUNT(*) FROM {lp} p JOIN {loan} l ON l.id = p.loan_id WHERE p.lender_id = %(lender)s "
        f"AND p.lent_cents > 0 AND l.currency = 'USD'",
        f"SELECT p.*, l.*, b.*, n.due_date, n.unpaid * p.lent_cents / l.amount_cents FROM {lp} p "
        f"JOIN {loan} l ON l.id = p.loan_id JOIN {_t(BorrowerProfile)} b ON b.id = l.borrower_id "
        f"LEFT JOIN LATERAL (SELECT due_date, principal_cents - paid_principal_cents AS unpaid FROM {inst} "
        f"WHERE loan_id = l.id AND paid_on IS NULL ORDER BY number LIMIT 1) n ON true WHERE p.lender_id = %(lender)s "
        f"AND p.lent_cents > 0 AND l.currency = 'USD' ORDER BY p.loan_id DESC LIMIT 20",
        f"SELECT t.journal_id, j.effective_at, j.kind, j.description, SUM(CASE WHEN t.credit_account_id = "
        f"%(wallet)s THEN t.amount_cents ELSE -t.amount_cents END) FROM {_t(Transfer)} t JOIN {_t(Journal)} j "
        f"ON j.id = t.journal_id WHERE t.debit_account_id = %(wallet)s OR t.credit_account_id = %(wallet)s "
        f"GROUP BY 1, 2, 3, 4 ORDER BY 2 DESC, 1 DESC LIMIT 10",
    ]
    with connection.cursor() as cursor:
        results = []
        for sql in statements:
            cursor.execute(sql, p)
            results.append(cursor.fetchall())
    return results


def _ms(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def run(*, loans: int, rounds: int, out: Callable[[str], None]) -> dict[str, float]:
    """Seed, warm up, then time the page and the reference in alternating rounds; report medians in ms."""
    today = timezone.localdate()
    started = time.perf_counter()
    lender = seed(loans, today)
    wallet = LedgerAccount.objects.get(code=account_code(AccountType.LENDER_WALLET, "USD", ref=f"lender:{lender.pk}"))
    counts = {m.__name__: m.objects.count() for m in (Loan, Installment, Repayment, RepaymentSplit, Journal, Transfer)}
    out(f"seeded in {time.perf_counter() - started:.1f}s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    client = Client()
    client.force_login(lender)

    def page() -> None:
        response = client.get("/dashboard/")
        if response.status_code != 200:
            raise RuntimeError(f"the dashboard answered {response.status_code}")

    for _ in range(3):  # warm: templates compiled, connection and caches hot
        page()
        reference_sql(lender.pk, wallet.pk, today)
    with CaptureQueriesContext(connection) as captured:
        page()
    queries = len(captured)  # now: the next request resets the connection's log
    size = len(client.get("/dashboard/").content)
    out(f"lender {lender.email}: {loans} loans; the page runs {queries} queries and weighs {size / 1024:.0f} KiB")
    page_times: list[float] = []
    raw_times: list[float] = []
    for n in range(1, rounds + 1):
        order = [("page", page, page_times), ("raw", lambda: reference_sql(lender.pk, wallet.pk, today), raw_times)]
        for name, work, times in order if n % 2 else reversed(order):
            times.append(_ms(work))
            out(f"  round {n} {name:<4} {times[-1]:7.1f} ms")
    page_ms, raw_ms = statistics.median(page_times), statistics.median(raw_times)
    return {"page_ms": page_ms, "raw_ms": raw_ms, "ratio": page_ms / raw_ms, "queries": queries,
            "target_ms": PAGE_TARGET_MS, "loans": loans}  # fmt: skip


def report(figures: dict[str, float], out: Callable[[str], None]) -> None:
    out(f"dashboard page:    {figures['page_ms']:7.1f} ms (median, logged-in GET, DEBUG off)")
    out(f"raw SQL reference: {figures['raw_ms']:7.1f} ms (median, the same figures, no rendering)")
    out(f"ratio page/raw: {figures['ratio']:.1f}")
    meets = figures["page_ms"] <= figures["target_ms"]
    out(f"target: a lender with {figures['loans']:.0f} loans under {figures['target_ms']:.0f} ms: "
        f"{'meets' if meets else 'MISSES'}")  # fmt: skip


def measure(*, out: Callable[[str], None], loans: int, rounds: int) -> Measurement:
    figures = run(loans=loans, rounds=rounds, out=out)
    return Measurement(
        operation=f"lender dashboard page ({figures['queries']:.0f} queries, logged in)",
        size=f"a lender with {loans:,} loans",
        seconds=figures["page_ms"] / 1000,
        per="page",
        rate=1000 / figures["page_ms"],
        unit="pages",
        ratio=figures["raw_ms"] / figures["page_ms"],
        target=f"<= {PAGE_TARGET_MS} ms",
        meets=figures["page_ms"] <= PAGE_TARGET_MS,
    )
