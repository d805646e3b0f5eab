"""Scale seeding: a ledger-consistent portfolio of N paying-back loans with K lenders each, set-based on PostgreSQL.

Seeding 100,000 loans through the services would take hours, so the rows are written by a few large
INSERT ... SELECT statements over generate_series, in the shapes the services write them: lenders
(users, profiles, wallets funded by deposit journals), one share purchase journal and transfer per
stake, lender positions, a disbursement journal per loan, installments, and one repayment per paid
installment with its journal (cash -> receivable, escrow -> each lender's wallet) and each lender's
receipt. So `reconcile()` is clean, every position agrees with its loan's installments, and the
close has real work: arrears on late loans, defaults (per-lender write-offs through the ledger) on
loans that stopped paying long ago, expiries of fundraising loans past their deadline, digests.

Ids are reserved from each table's sequence and computed, not looked up, so no statement joins on a
text key. Foreign-key triggers are off while seeding (`session_replication_role = replica`, what
`pg_restore --disable-triggers` does), since every reference is computed from the same reserved
ranges; `orphans()` proves it, and the tests run it. Unique and CHECK constraints stay on.

Shape of loan i (deterministic, no randomness):
- stake k of loan i: lender (i*K + k) mod P, $25, or $50 when (i + k) mod 4 = 0; the loan is the sum;
- 10 monthly installments (every 30 days) of a tenth of the amount, so each lender's part of an
  installment is exactly a tenth of their stake and every split is exact;
- on time (most loans): disbursed 1 to 300 days before the close, every installment due before it paid;
- late (10%): 1 to 120 days behind, the first late installment half paid;
- stopped (`overdue_per_mille`, 1% by default): disbursed 500 to 560 days before the close, paid 0 to 4
  installments, then nothing: past the 6-month rule, so the close defaults and writes them off. This
  is a backlog (a nightly close of a real portfolio meets a 300th of it), so the step's cost shows;
- fundraising (one loan per 50): half its stakes bought; one in 20 of them past its deadline, so the
  close expires it and returns the shares.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from accounts import services as people
from accounts.models import BorrowerProfile, LenderProfile, Role, User
from lending.bench.close import median_seconds, reference_classification
from lending.bench.common import Measurement, peak_rss_mib, postgres_peak_rss_mib
from lending.jobs.close import close_business_day
from lending.jobs.steps import refresh_arrears
from lending.ledger.chart import CHART, AccountType
from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.ledger.reconcile import reconcile
from lending.ledger.services import account_open, platform_account
from lending.loans.applications import loan_apply
from lending.loans.models import (
    Installment,
    LenderPosition,
    Loan,
    LoanEvent,
    Repayment,
    RepaymentSplit,
    Sector,
    Share,
)

CLOSE_ON = date(2026, 6, 30)
SHARE_CENTS = 2_500
INSTALLMENTS = 10  # a tenth of every stake per installment: exact splits
PERIOD_DAYS = 30
IDLE_CENTS = 10_000  # what each lender keeps in the wallet beyond their stakes
STAKES_PER_LENDER = 50  # the lender pool is loans x K / 50 (at least K)
LATE_PER_MILLE = 100
OVERDUE_PER_MILLE = 10
FUNDRAISING_EVERY = 50
PARTNERS = [("KE", "Scale Kenya MFI"), ("UG", "Scale Uganda MFI"), ("PE", "Scale Peru MFI"),
            ("PH", "Scale Philippines MFI"), ("KH", "Scale Cambodia MFI"), ("NG", "Scale Nigeria MFI"),
            ("TZ", "Scale Tanzania MFI"), ("GH", "Scale Ghana MFI")]  # fmt: skip
CLOSE_SECONDS_PER_100K = 30  # the target: the nightly close of 100,000 loans in 30 s
SEED_SECONDS_PER_100K_X30 = 600  # and seeding 100,000 loans x 30 lenders in 10 minutes


def _t(model: type) -> str:
    return str(model._meta.db_table)  # type: ignore[attr-defined]


@dataclass
class Portfolio:
    """What was seeded: sizes, rows per table, and seconds per stage."""

    close_on: date
    loans: int
    lenders_per_loan: int
    lender_pool: int
    fundraising: int
    rows: dict[str, int] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, name: str, rows: int) -> None:
        self.rows[name] = self.rows.get(name, 0) + rows


@dataclass(frozen=True)
class _Ids:
    """First ids of each reserved range; row n of a range has id first + n."""

    user: int
    profile: int
    borrower: int
    loan: int
    account: int  # wallets of the pool, then three per loan (escrow, receivable, borrower payable)
    journal: int  # deposits, shares, disbursements, then repayments
    repayment: int


@contextmanager
def _bulk_session() -> Iterator[Any]:
    """A cursor with foreign-key triggers off and room to sort; every setting is put back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET synchronous_commit = off")
        try:
            yield cursor
        finally:
            cursor.execute("RESET session_replication_role")
            cursor.execute("RESET work_mem")
            cursor.execute("RESET synchronous_commit")
            cursor.execute("DROP TABLE IF EXISTS seed_loan, seed_lender, seed_payment")


# The tables that take millions of rows. Their secondary indexes are dropped for the load and rebuilt
# after it (one sort each), because maintaining them row by row in random key order took most of the
# time; primary keys stay, since reserved ids arrive in order. Unique constraints are rebuilt as
# constraints, which also proves the seeded keys unique. A failed load leaves them dropped: seed only
# a scratch database (or a test's, whose transaction rolls back).
BULK = [Journal, Transfer, Share, LenderPosition, RepaymentSplit, Installment, Repayment, LoanEvent]


@contextmanager
def _indexes_rebuilt_after(cursor: Any, models: Sequence[type]) -> Iterator[None]:
    tables = [_t(m) for m in models]
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'u' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) ORDER BY 1",
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    cursor.execute("SET maintenance_work_mem = '1GB'")
    for _, definition in indexes:
        cursor.execute(definition)
    for table, name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    cursor.execute("RESET maintenance_work_mem")


def _reserve(cursor: Any, model: type, count: int) -> int:
    """Take `count` ids from the table's sequence at once; returns the first."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_t(model)])
    sequence = cursor.fetchone()[0]
    cursor.execute("SELECT nextval(%s)", [sequence])
    first = int(cursor.fetchone()[0])
    if count > 1:
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first


class _Seeder:
    def __init__(self, cursor: Any, portfolio: Portfolio, overdue_per_mille: int, out: Callable[[str], None]) -> None:
        self.cursor, self.p, self.out = cursor, portfolio, out
        n, k = portfolio.loans, portfolio.lenders_per_loan
        self.params: dict[str, Any] = {
            "n": n, "k": k, "kf": max(1, k // 2), "f": portfolio.fundraising, "pool": portfolio.lender_pool,
            "d": portfolio.close_on, "tz": settings.TIME_ZONE, "cur": settings.PLATFORM_CURRENCY,
            "share": SHARE_CENTS, "parts": INSTALLMENTS, "period": PERIOD_DAYS, "idle": IDLE_CENTS,
            "stopped": overdue_per_mille, "late": LATE_PER_MILLE, "npartners": len(PARTNERS),
        }  # fmt: skip

    def run(self, label: str, sql: str, table: str | None = None) -> int:
        started = time.perf_counter()
        self.cursor.execute(sql, self.params)
        rows = max(self.cursor.rowcount, 0)
        seconds = time.perf_counter() - started
        if table:
            self.p.count(table, rows)
        self.p.stages[label] = self.p.stages.get(label, 0.0) + seconds
        self.out(f"  {label}: {f'{rows:,} {table}' if table else 'done'} in {seconds:.1f}s")  # progress of a long load
        return rows

    # --- the stake relation: every (loan, lender) pair, computed, never stored ------------------

    STAKES = """(SELECT i, k, s, ((i * %(k)s + k) %% %(pool)s) AS j,
                        %(share)s * (1 + ((i + k) %% 4 = 0)::int) AS cents
                 FROM (SELECT i, k, i * %(k)s + k AS s
                       FROM generate_series(0::bigint, %(n)s - 1) i CROSS JOIN generate_series(0::bigint, %(k)s - 1) k
                       UNION ALL
                       SELECT %(n)s + f, k, %(n)s * %(k)s + f * %(kf)s + k
                       FROM generate_series(0::bigint, %(f)s - 1) f
                       CROSS JOIN generate_series(0::bigint, %(kf)s - 1) k) g)"""

    def stakes(self) -> int:
        return self.p.loans * self.p.lenders_per_loan + self.p.fundraising * int(self.params["kf"])

    def templates(self) -> None:
        """Through the services: staff, partners and their payable accounts, one borrower, loan and lender."""
        staff = people.platform_staff_create(email="scale-staff@bench.example", password=None, full_name="Scale")
        partners = [people.field_partner_create(name=name, country=c, risk_rating="3.0") for c, name in PARTNERS]
        borrower = people.borrower_create(display_name="Scale Borrower", country="KE", partner=partners[0])
        loan = loan_apply(
            actor=staff, borrower=borrower, amount_cents=SHARE_CENTS * 40, currency=settings.PLATFORM_CURRENCY,
            purpose="Scale benchmark", sector="retail", repayments=INSTALLMENTS,
        )  # fmt: skip
        lender = User.objects.create_user(email="scale-template@bench.example", password=None, role=Role.LENDER)
        LenderProfile.objects.create(user=lender, display_name="Scale Template")
        cur = settings.PLATFORM_CURRENCY
        payables = [
            account_open(account_type=AccountType.PARTNER_PAYABLE, currency=cur, ref=f"partner:{p.pk}")
            for p in partners
        ]
        self.params.update(
            template_loan=loan.pk, template_user=lender.pk, template_borrower=borrower.pk,
            partner_ids=[p.pk for p in partners], partner_countries=[p.country for p in partners],
            payable_ids=[a.pk for a in payables], sectors=list(Sector.values),
            cash=platform_account(AccountType.PROCESSOR_CASH, cur).pk,
        )  # fmt: skip

    def reserve(self) -> _Ids:
        c, n, f, pool = self.cursor, self.p.loans, self.p.fundraising, self.p.lender_pool
        payments = self._plan()
        ids = _Ids(
            user=_reserve(c, User, pool),
            profile=_reserve(c, LenderProfile, pool),
            borrower=_reserve(c, BorrowerProfile, n + f),
            loan=_reserve(c, Loan, n + f),
            account=_reserve(c, LedgerAccount, pool + 3 * (n + f)),
            journal=_reserve(c, Journal, pool + self.stakes() + n + payments),
            repayment=_reserve(c, Repayment, payments),
        )
        self.params.update(
            u0=ids.user, lp0=ids.profile, b0=ids.borrower, l0=ids.loan, w0=ids.account,
            a0=ids.account + pool, jd0=ids.journal, js0=ids.journal + pool,
            jb0=ids.journal + pool + self.stakes(), jr0=ids.journal + pool + self.stakes() + n, r0=ids.repayment,
        )  # fmt: skip
        return ids

    def _plan(self) -> int:
        """The per-loan plan (kind, dates, amount, installments paid) and the payments, as temporary tables."""
        self.run(
            "plan",
            """CREATE TEMP TABLE seed_loan AS
            WITH c AS (
                SELECT i, CASE WHEN i >= %(n)s THEN 'fundraising'
                               WHEN (i::bigint * 7919) %% 1000 < %(stopped)s THEN 'stopped'
                               WHEN (i::bigint * 7919) %% 1000 < %(stopped)s + %(late)s THEN 'late'
                               ELSE 'on_time' END AS kind
                FROM generate_series(0, %(n)s + %(f)s - 1) i
            ), d AS (
                SELECT i, kind,
                       CASE kind WHEN 'stopped' THEN %(d)s::date - 500 - (i %% 60)
                                 WHEN 'fundraising' THEN NULL ELSE %(d)s::date - 1 - (i %% 300) END AS disbursed,
                       CASE WHEN kind = 'late' THEN 1 + (i %% 120) ELSE 0 END AS lateness,
                       (SELECT SUM(%(share)s * (1 + ((i + k) %% 4 = 0)::int))
                        FROM generate_series(0::bigint, %(k)s - 1) k) AS amount,
                       (SELECT SUM(%(share)s * (1 + ((i + k) %% 4 = 0)::int))
                        FROM generate_series(0::bigint, %(kf)s - 1) k) AS raised_if_fundraising
                FROM c
            ), due AS (
                SELECT *, LEAST(%(parts)s, GREATEST(0, (%(d)s::date - disbursed - 1) / %(period)s)) AS due_count,
                       LEAST(%(parts)s, GREATEST(0, (%(d)s::date - lateness - disbursed - 1) / %(period)s)) AS paid_late
                FROM d
            )
            SELECT i, kind, disbursed, lateness, amount,
                   CASE WHEN kind <> 'fundraising' THEN disbursed - 5
                        WHEN i %% 20 = 0 THEN %(d)s::date - 1 - (i %% 3)
                        ELSE %(d)s::date + 1 + (i %% 30) END AS deadline,
                   CASE kind WHEN 'fundraising' THEN raised_if_fundraising ELSE amount END AS raised,
                   CASE kind WHEN 'on_time' THEN due_count WHEN 'late' THEN paid_late
                             WHEN 'stopped' THEN i %% 5 ELSE 0 END AS paid_full,
                   kind = 'late' AND paid_late < due_count AS half
            FROM due""",
        )
        self.run("plan", "CREATE UNIQUE INDEX ON seed_loan (i)")
        self.run(
            "plan",
            """CREATE TEMP TABLE seed_payment AS
            SELECT (row_number() OVER (ORDER BY l.i, p.n) - 1) AS rn, l.i, p.n, p.full,
                   l.disbursed + %(period)s * p.n AS received_on,
                   CASE WHEN p.full THEN l.amount / %(parts)s ELSE l.amount / (2 * %(parts)s) END AS principal
            FROM seed_loan l CROSS JOIN LATERAL (
                SELECT n, true AS full FROM generate_series(1, l.paid_full) n
                UNION ALL SELECT l.paid_full + 1, false WHERE l.half
            ) p""",
        )
        self.cursor.execute("SELECT COUNT(*) FROM seed_payment")
        return int(self.cursor.fetchone()[0])

    def people(self) -> None:
        self.run(
            "lenders",
            f"""INSERT INTO {_t(User)} (id, password, last_login, is_superuser, email, full_name, role, is_active,
                                        is_staff, date_joined)
            SELECT %(u0)s + j, t.password, NULL, false, 'lender-' || j || '@scale.bench.example',
                   'Scale Lender ' || j, t.role, true, false, t.date_joined
            FROM {_t(User)} t CROSS JOIN generate_series(0::bigint, %(pool)s - 1) j WHERE t.id = %(template_user)s""",
            "users",
        )
        self.run(
            "lenders",
            f"""INSERT INTO {_t(LenderProfile)} (id, user_id, display_name, country, town, is_public, created_at)
            SELECT %(lp0)s + j, %(u0)s + j, 'Scale Lender ' || j, '', '', j %% 5 <> 0, NOW()
            FROM generate_series(0::bigint, %(pool)s - 1) j""",
            "lender profiles",
        )
        self.run(
            "borrowers",
            f"""INSERT INTO {_t(BorrowerProfile)} (id, user_id, display_name, country, town, partner_id, created_at)
            SELECT %(b0)s + i, NULL, 'Scale Borrower ' || i, (%(partner_countries)s::varchar[])[1 + i %% %(npartners)s],
                   '', (%(partner_ids)s::bigint[])[1 + i %% %(npartners)s], NOW()
            FROM generate_series(0::bigint, %(n)s + %(f)s - 1) i""",
            "borrowers",
        )

    def loans(self) -> None:
        overrides = {
            "id": "%(l0)s + s.i",
            "borrower_id": "%(b0)s + s.i",
            "partner_id": "(%(partner_ids)s::bigint[])[1 + s.i %% %(npartners)s]",
            "country": "(%(partner_countries)s::varchar[])[1 + s.i %% %(npartners)s]",
            "sector": f"(%(sectors)s::varchar[])[1 + s.i %% {len(Sector.values)}]",
            "purpose": "'Scale loan ' || s.i",
            "status": "CASE WHEN s.kind = 'fundraising' THEN 'fundraising' ELSE 'paying_back' END",
            "amount_cents": "s.amount",
            "raised_cents": "s.raised",
            "lender_count": "CASE WHEN s.kind = 'fundraising' THEN %(kf)s ELSE %(k)s END",
            "repayments": "%(parts)s",
            "fundraising_deadline": "s.deadline",
            "funded_on": "s.disbursed - 5",
            "disbursed_on": "s.disbursed",
            "first_repayment_date": "s.disbursed + %(period)s",
            "maturity_date": "s.disbursed + %(period)s * %(parts)s",
            "ended_on": "NULL",
            "days_past_due": "0",
            "amount_past_due_cents": "0",
            "delinquent": "false",
            "arrears_as_of": "NULL",
            "written_off_cents": "0",
        }
        columns = [f.column for f in Loan._meta.concrete_fields]
        values = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
        self.run(
            "loans",
            f"INSERT INTO {_t(Loan)} ({', '.join(columns)}) SELECT {values} FROM {_t(Loan)} t "
            f"CROSS JOIN seed_loan s WHERE t.id = %(template_loan)s",
            "loans",
        )
        self.run(
            "loans",
            f"""INSERT INTO {_t(LoanEvent)} (loan_id, from_status, to_status, actor_id, reason, business_date,
                created_at)
            SELECT %(l0)s + s.i, e.f, e.t, NULL, e.why, e.on_, NOW()
            FROM seed_loan s CROSS JOIN LATERAL (VALUES
                ('approved', 'fundraising', 'published', s.deadline - 30, 1),
                ('fundraising', 'funded', 'fully funded', s.disbursed - 5, 2),
                ('funded', 'paying_back', 'disbursed', s.disbursed, 3)
            ) e(f, t, why, on_, step)
            WHERE s.kind <> 'fundraising' OR e.step = 1
            ORDER BY s.i, e.step""",
            "loan events",
        )
        self.run(
            "loans",
            f"""INSERT INTO {_t(Installment)} (loan_id, number, due_date, principal_cents, interest_cents, fees_cents,
                paid_principal_cents, paid_interest_cents, paid_fees_cents, paid_on)
            SELECT %(l0)s + s.i, n, s.disbursed + %(period)s * n, s.amount / %(parts)s, 0, 0,
                   CASE WHEN n <= s.paid_full THEN s.amount / %(parts)s
                        WHEN s.half AND n = s.paid_full + 1 THEN s.amount / (2 * %(parts)s) ELSE 0 END, 0, 0,
                   CASE WHEN n <= s.paid_full THEN s.disbursed + %(period)s * n END
            FROM seed_loan s CROSS JOIN generate_series(1, %(parts)s) n WHERE s.kind <> 'fundraising'""",
            "installments",
        )

    def accounts(self) -> None:
        cur = settings.PLATFORM_CURRENCY
        wallet, escrow = CHART[AccountType.LENDER_WALLET], CHART[AccountType.LOAN_ESCROW]
        receivable, payable = CHART[AccountType.LOAN_RECEIVABLE], CHART[AccountType.BORROWER_PAYABLE]
        table = _t(LedgerAccount)
        columns = "id, code, type, currency, normal_side, bound, name, holder_id, debits_posted_cents, " \
            "credits_posted_cents, created_at"  # fmt: skip
        self.run(
            "accounts",
            f"""INSERT INTO {table} ({columns})
            SELECT %(w0)s + j, 'lender:' || (%(u0)s + j) || ':{AccountType.LENDER_WALLET}:{cur}',
                   '{AccountType.LENDER_WALLET}', %(cur)s, '{wallet.normal_side}', '{wallet.bound}',
                   'Wallet of lender ' || (%(u0)s + j), %(u0)s + j, 0, 0, NOW()
            FROM generate_series(0::bigint, %(pool)s - 1) j""",
            "ledger accounts",
        )
        for offset, kind, rule, ref in (
            (0, AccountType.LOAN_ESCROW, escrow, "'loan:' || (%(l0)s + i)"),
            (1, AccountType.LOAN_RECEIVABLE, receivable, "'loan:' || (%(l0)s + i)"),
            (2, AccountType.BORROWER_PAYABLE, payable, "'borrower:' || (%(b0)s + i)"),
        ):
            self.run(
                "accounts",
                f"""INSERT INTO {table} ({columns})
                SELECT %(a0)s + 3 * i + {offset}, {ref} || ':{kind}:{cur}', '{kind}', %(cur)s,
                       '{rule.normal_side}', '{rule.bound}', '{rule.label.replace("'", "''")}', NULL, 0, 0, NOW()
                FROM generate_series(0::bigint, %(n)s + %(f)s - 1) i""",
                "ledger accounts",
            )

    def _journals(self, label: str, select: str) -> None:
        columns = "id, idempotency_key, kind, description, effective_at, created_at, fingerprint, reverses_id, metadata"
        self.run(label, f"INSERT INTO {_t(Journal)} ({columns}) {select}", "journals")

    def _transfers(self, label: str, select: str) -> None:
        columns = "journal_id, debit_account_id, credit_account_id, amount_cents, currency"
        self.run(label, f"INSERT INTO {_t(Transfer)} ({columns}) {select}", "transfers")

    def money_in(self) -> None:
        """Each lender's deposit: their stakes and a little idle credit, before anything is lent."""
        noon = "((%(d)s::date - 600) + time '12:00') AT TIME ZONE %(tz)s"
        self.run(
            "deposits",
            f"""CREATE TEMP TABLE seed_lender AS SELECT j, SUM(cents) + %(idle)s AS deposit
            FROM {self.STAKES} st GROUP BY j""",
        )
        self._journals(
            "deposits",
            f"""SELECT %(jd0)s + j, 'seed:deposit:' || (%(u0)s + j), 'deposit', 'Card deposit', {noon}, NOW(),
                       'seeded', NULL, '{{}}'::jsonb FROM seed_lender""",
        )
        self._transfers("deposits", "SELECT %(jd0)s + j, %(cash)s, %(w0)s + j, deposit, %(cur)s FROM seed_lender")

    def shares(self) -> None:
        """One purchase journal, transfer (wallet -> escrow) and share per stake; one position per stake."""
        bought = "(COALESCE(l.disbursed - 10, %(d)s::date - 5) + time '12:00') AT TIME ZONE %(tz)s"
        joined = f"{self.STAKES} st JOIN seed_loan l ON l.i = st.i"
        self._journals(
            "shares",
            f"""SELECT %(js0)s + st.s, 'share:' || (%(u0)s + st.j) || ':seed-' || (%(l0)s + st.i), 'share_purchase',
                       'Loan ' || (%(l0)s + st.i) || ': ' || (st.cents / %(share)s) || ' share(s)', {bought}, NOW(),
                       'seeded', NULL, '{{}}'::jsonb FROM {joined}""",
        )
        self._transfers(
            "shares", f"SELECT %(js0)s + s, %(w0)s + j, %(a0)s + 3 * i, cents, %(cur)s FROM {self.STAKES} st"
        )
        self.run(
            "shares",
            f"""INSERT INTO {_t(Share)} (loan_id, lender_id, amount_cents, journal_id, created_at)
            SELECT %(l0)s + i, %(u0)s + j, cents, %(js0)s + s, NOW() FROM {self.STAKES} st""",
            "shares",
        )
        self.run(
            "positions",
            f"""INSERT INTO {_t(LenderPosition)} (loan_id, lender_id, lent_cents, principal_repaid_cents,
                interest_received_cents, written_off_cents, recovered_cents, refunded_cents)
            SELECT %(l0)s + st.i, %(u0)s + st.j, st.cents,
                   st.cents * l.paid_full / %(parts)s + CASE WHEN l.half THEN st.cents / (2 * %(parts)s) ELSE 0 END,
                   0, 0, 0, 0
            FROM {joined}""",
            "lender positions",
        )

    def disbursements(self) -> None:
        noon = "(l.disbursed + time '12:00') AT TIME ZONE %(tz)s"
        paying = "FROM seed_loan l WHERE l.kind <> 'fundraising'"
        self._journals(
            "disbursements",
            f"""SELECT %(jb0)s + l.i, 'loan:' || (%(l0)s + l.i) || ':disbursement', 'disbursement',
                       'Loan ' || (%(l0)s + l.i) || ' disbursed', {noon}, NOW(), 'seeded', NULL,
                       jsonb_build_object('loan', %(l0)s + l.i) {paying}""",
        )
        self._transfers(
            "disbursements",
            f"""SELECT %(jb0)s + l.i, %(a0)s + 3 * l.i + 1, (%(payable_ids)s::bigint[])[1 + l.i %% %(npartners)s],
                       l.amount, %(cur)s {paying}""",
        )

    def repayments(self) -> None:
        """One repayment per paid installment (and per half payment), split to every lender of the loan."""
        key = "(%(l0)s + p.i) || ':seed-' || p.n || CASE WHEN p.full THEN '' ELSE '-part' END"
        self._journals(
            "repayments",
            f"""SELECT %(jr0)s + p.rn, 'repayment:' || {key}, 'repayment',
                       'Loan ' || (%(l0)s + p.i) || ': repayment received ' || p.received_on,
                       (p.received_on + time '12:00') AT TIME ZONE %(tz)s, NOW(), 'seeded', NULL,
                       jsonb_build_object('loan', %(l0)s + p.i, 'source', 'partner') FROM seed_payment p""",
        )
        self.run(
            "repayments",
            f"""INSERT INTO {_t(Repayment)} (id, loan_id, amount_cents, currency, received_on, source, idempotency_key,
                recorded_by_id, principal_cents, interest_cents, fees_cents, overpayment_cents, lender_interest_cents,
                platform_cents, is_recovery, journal_id, created_at)
            SELECT %(r0)s + p.rn, %(l0)s + p.i, p.principal, %(cur)s, p.received_on, 'partner', {key}, NULL,
                   p.principal, 0, 0, 0, 0, 0, false, %(jr0)s + p.rn, NOW() FROM seed_payment p""",
            "repayments",
        )
        # Each lender's part of an installment is a tenth (a twentieth for a half payment) of their stake.
        part = "%(share)s * (1 + ((p.i + k) %% 4 = 0)::int) / CASE WHEN p.full THEN %(parts)s ELSE 2 * %(parts)s END"
        lender = "%(u0)s + ((p.i * %(k)s + k) %% %(pool)s)"
        wallet = "%(w0)s + ((p.i * %(k)s + k) %% %(pool)s)"
        self._transfers(
            "repayments",
            f"""SELECT %(jr0)s + p.rn, d, c, a, %(cur)s FROM seed_payment p CROSS JOIN LATERAL (
                    SELECT %(cash)s AS d, %(a0)s + 3 * p.i + 1 AS c, p.principal AS a, -1 AS k
                    UNION ALL
                    SELECT %(a0)s + 3 * p.i, {wallet}, {part}, k FROM generate_series(0::bigint, %(k)s - 1) k
                    ORDER BY k
                ) t""",
        )
        self.run(
            "receipts",
            f"""INSERT INTO {_t(RepaymentSplit)} (repayment_id, lender_id, principal_cents, interest_cents)
            SELECT %(r0)s + p.rn, {lender}, {part}, 0
            FROM seed_payment p CROSS JOIN generate_series(0::bigint, %(k)s - 1) k""",
            "receipts",
        )

    def balances(self) -> None:
        """The cached totals, from the log: what the posting service would have left."""
        t = _t(Transfer)
        self.run(
            "balances",
            f"""UPDATE {_t(LedgerAccount)} a SET debits_posted_cents = COALESCE(x.d, 0),
                       credits_posted_cents = COALESCE(x.c, 0)
            FROM (SELECT COALESCE(d.id, c.id) AS id, d.total AS d, c.total AS c
                  FROM (SELECT debit_account_id AS id, SUM(amount_cents) AS total FROM {t} GROUP BY 1) d
                  FULL JOIN (SELECT credit_account_id AS id, SUM(amount_cents) AS total FROM {t} GROUP BY 1) c
                  ON c.id = d.id) x
            WHERE a.id = x.id""",
        )


def seed(
    *, loans: int, lenders: int, overdue_per_mille: int = OVERDUE_PER_MILLE, out: Callable[[str], None] = print
) -> Portfolio:
    """Seed the portfolio on the connected (scratch) PostgreSQL database; returns what was written."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the scale seeder needs PostgreSQL (generate_series, arrays, sequences)")
    if not 1 <= lenders <= 200:
        raise ValueError("lenders: between 1 and 200 per loan (a loan is at most LOAN_MAX_CENTS)")
    portfolio = Portfolio(
        close_on=CLOSE_ON,
        loans=loans,
        lenders_per_loan=lenders,
        lender_pool=max(lenders, loans * lenders // STAKES_PER_LENDER),
        fundraising=max(1, loans // FUNDRAISING_EVERY),
    )
    started = time.perf_counter()
    with _bulk_session() as cursor:
        seeder = _Seeder(cursor, portfolio, overdue_per_mille, out)
        seeder.templates()
        seeder.reserve()
        with _indexes_rebuilt_after(cursor, BULK):
            for stage in (seeder.people, seeder.loans, seeder.accounts, seeder.money_in, seeder.shares,
                          seeder.disbursements, seeder.repayments, seeder.balances):  # fmt: skip
                stage()
            started_load = time.perf_counter()
        portfolio.stages["indexes"] = time.perf_counter() - started_load
        # A live database has been vacuumed: hint bits set and pages all-visible, so reads neither write
        # nor visit the heap for index-only scans. Without it the close pays for the load's first touch.
        # (A test's transaction cannot VACUUM; ANALYZE alone is enough for its plans.)
        seeder.run("vacuum", "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")
    portfolio.seconds = time.perf_counter() - started
    return portfolio


# Every foreign key the seeder writes, checked with anti-joins (the triggers were off while seeding).
_REFERENCES = [
    (Share, "journal_id", Journal), (Share, "loan_id", Loan), (Share, "lender_id", User),
    (LenderPosition, "loan_id", Loan), (LenderPosition, "lender_id", User),
    (Transfer, "journal_id", Journal), (Transfer, "debit_account_id", LedgerAccount),
    (Transfer, "credit_account_id", LedgerAccount), (Repayment, "journal_id", Journal), (Repayment, "loan_id", Loan),
    (RepaymentSplit, "repayment_id", Repayment), (RepaymentSplit, "lender_id", User), (Installment, "loan_id", Loan),
    (LoanEvent, "loan_id", Loan), (Loan, "borrower_id", BorrowerProfile), (LenderProfile, "user_id", User),
    (LedgerAccount, "holder_id", User),
]  # fmt: skip


def orphans() -> dict[str, int]:
    """Rows whose foreign key points nowhere, per table.column (empty when every reference holds)."""
    found = {}
    with connection.cursor() as cursor:
        for model, column, target in _REFERENCES:
            cursor.execute(
                f"SELECT COUNT(*) FROM {_t(model)} x WHERE x.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {_t(target)} y WHERE y.id = x.{column})"
            )
            missing = int(cursor.fetchone()[0])
            if missing:
                found[f"{_t(model)}.{column}"] = missing
    return found


def _database_mib() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0]) / 2**20


def run(
    *,
    loans: int,
    lenders: int,
    rounds: int,
    overdue_per_mille: int = OVERDUE_PER_MILLE,
    check: bool = True,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Seed, close the business day, and (with `check`) reconcile; print every figure and return them."""
    portfolio = seed(loans=loans, lenders=lenders, overdue_per_mille=overdue_per_mille, out=out)
    rows = sum(portfolio.rows.values())
    out(f"seeded in {portfolio.seconds:.1f}s: {rows:,} rows, database {_database_mib() / 1024:.2f} GiB, "
        f"lender pool {portfolio.lender_pool:,}, {portfolio.fundraising:,} loans fundraising")  # fmt: skip
    out("  rows: " + ", ".join(f"{n} {v:,}" for n, v in portfolio.rows.items()))
    out("  seconds: " + ", ".join(f"{n} {v:.1f}" for n, v in portfolio.stages.items()))
    out(f"  peak RSS after seeding: this process {peak_rss_mib():.0f} MiB, "
        f"PostgreSQL backend {_fmt_mib(postgres_peak_rss_mib())}")  # fmt: skip
    # The digests go nowhere: a bench must not print thousands of emails, but still builds and "sends" them.
    out(f"load average before the close: {_load()} (a shared machine: compare with the cores)")
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        started = time.perf_counter()
        result = close_business_day(on=portfolio.close_on)
        close_seconds = time.perf_counter() - started
    for name, step in result.steps.items():
        out(f"  step {name:<20} {step['rows']:>9,.0f} rows {step['seconds']:8.2f}s")
    out(f"close of {portfolio.close_on}: {close_seconds:.1f}s; load average after: {_load()}")
    service = median_seconds(lambda: refresh_arrears(portfolio.close_on), rounds)
    reference = median_seconds(lambda: reference_classification(portfolio.close_on), rounds)
    out(f"arrears step {service:.2f}s vs single-statement SQL {reference:.2f}s (median of {rounds})")
    figures: dict[str, Any] = {
        "portfolio": portfolio, "close_seconds": close_seconds, "steps": result.steps, "arrears_seconds": service,
        "reference_seconds": reference, "ratio": reference / service, "rows": rows,
    }  # fmt: skip
    if check:
        started = time.perf_counter()
        report = reconcile()
        figures["reconcile_seconds"] = time.perf_counter() - started
        figures["reconciled"] = report.ok
        verdict = "clean" if report.ok else "VIOLATIONS"
        out(f"reconcile after the close: {verdict} ({report.journals:,} journals, {report.transfers:,} transfers) "
            f"in {figures['reconcile_seconds']:.1f}s")  # fmt: skip
        for violation in report.violations[:5]:
            out(f"  {violation}")
    figures["peak_rss_mib"] = peak_rss_mib()
    figures["postgres_peak_rss_mib"] = postgres_peak_rss_mib()
    out(f"peak RSS: this process {figures['peak_rss_mib']:.0f} MiB, "
        f"PostgreSQL backend {_fmt_mib(figures['postgres_peak_rss_mib'])}")  # fmt: skip
    return figures


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _fmt_mib(value: float | None) -> str:
    return "not readable" if value is None else f"{value:.0f} MiB (VmHWM, shared buffers included)"


def measure(*, out: Callable[[str], None], loans: int, lenders: int, rounds: int) -> Measurement:
    """The table's close row: seed at this size, close once, reconcile."""
    figures = run(loans=loans, lenders=lenders, rounds=rounds, out=out)
    if not figures["reconciled"]:
        raise RuntimeError("the seeded portfolio does not reconcile after the close")
    target = CLOSE_SECONDS_PER_100K * loans / 100_000
    return Measurement(
        operation=f"close of business ({lenders} lenders a loan, ledger-consistent)",
        size=f"{loans:,} loans",
        seconds=figures["close_seconds"],
        per="close",
        rate=loans / figures["close_seconds"],
        unit="loans",
        ratio=figures["ratio"],
        target=f"<= {target:g} s",
        meets=figures["close_seconds"] <= target,
        note=f"arrears step vs one SQL statement; seeded in {figures['portfolio'].seconds:.0f} s",
    )
