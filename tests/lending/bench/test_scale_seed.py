"""The scale seeder (PostgreSQL): a small portfolio that reconciles, whose positions agree with the loans, and
whose close does what the seeded shape says (defaults the loans past the rule, expires the late fundraisers)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from lending.bench import scale
from lending.jobs.close import close_business_day
from lending.ledger.chart import AccountType
from lending.ledger.models import LedgerAccount
from lending.ledger.reconcile import reconcile
from lending.loans.models import Installment, LenderPosition, LenderSettlement, Loan, RepaymentSplit, Share

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LOANS, LENDERS = 200, 5
S = Loan.Status


@pytest.fixture
def portfolio() -> scale.Portfolio:
    return scale.seed(loans=LOANS, lenders=LENDERS, out=lambda line: None)


def _kinds() -> dict[str, int]:
    """How many loans of each kind the seeder's rule makes, computed here from the rule itself."""
    counts = {"stopped": 0, "late": 0, "on_time": 0}
    for i in range(LOANS):
        h = i * 7919 % 1000
        kind = "stopped" if h < scale.OVERDUE_PER_MILLE else "late" if h < scale.OVERDUE_PER_MILLE + 100 else "on_time"
        counts[kind] += 1
    return counts


def test_seeded_portfolio_reconciles_and_every_reference_holds(portfolio: scale.Portfolio) -> None:
    report = reconcile()
    assert report.ok, report.violations[:5]
    assert scale.orphans() == {}
    fundraising = LOANS // scale.FUNDRAISING_EVERY or 1
    assert Loan.objects.filter(status=S.PAYING_BACK, purpose__startswith="Scale loan").count() == LOANS
    assert Loan.objects.filter(status=S.FUNDRAISING, purpose__startswith="Scale loan").count() == fundraising
    stakes = LOANS * LENDERS + fundraising * (LENDERS // 2)
    assert Share.objects.count() == LenderPosition.objects.count() == stakes
    assert portfolio.rows["shares"] == stakes
    assert portfolio.rows["receipts"] == RepaymentSplit.objects.count() > 0


def test_positions_sum_to_what_each_loan_raised_and_still_owes() -> None:
    scale.seed(loans=LOANS, lenders=LENDERS, out=lambda line: None)
    lent = dict(LenderPosition.objects.values_list("loan").annotate(s=Sum("lent_cents")))
    shares = dict(Share.objects.values_list("loan").annotate(s=Sum("amount_cents")))
    for loan in Loan.objects.filter(purpose__startswith="Scale loan"):
        assert lent[loan.pk] == shares[loan.pk] == loan.raised_cents, loan.pk
        if loan.status == S.PAYING_BACK:
            assert loan.raised_cents == loan.amount_cents
    # Principal the installments still owe = what the positions have outstanding, loan by loan.
    owed = dict(
        Installment.objects.values_list("loan").annotate(s=Sum("principal_cents") - Sum("paid_principal_cents"))
    )
    outstanding = {
        loan_id: lent_cents - repaid
        for loan_id, lent_cents, repaid in LenderPosition.objects.values_list("loan")
        .annotate(a=Sum("lent_cents"), b=Sum("principal_repaid_cents"))
        .values_list("loan", "a", "b")
    }
    assert owed
    assert all(outstanding[loan_id] == cents for loan_id, cents in owed.items())
    # Each escrow holds its lenders' outstanding principal; every wallet what was deposited less lent plus received.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM ledger_ledgeraccount a JOIN loans_loan l ON a.code = 'loan:' || l.id "
            "|| ':loan_escrow:USD' WHERE a.credits_posted_cents - a.debits_posted_cents <> "
            "(SELECT SUM(lent_cents - principal_repaid_cents) FROM loans_lenderposition p WHERE p.loan_id = l.id)"
        )
        assert cursor.fetchone()[0] == 0
    received = dict(RepaymentSplit.objects.values_list("lender").annotate(s=Sum("principal_cents")))
    wallets = LedgerAccount.objects.filter(
        type=AccountType.LENDER_WALLET, holder__email__endswith="@scale.bench.example"
    )
    assert wallets.count() == portfolio_pool()
    assert all(w.balance_cents == scale.IDLE_CENTS + received.get(w.holder_id, 0) for w in wallets)


def portfolio_pool() -> int:
    return max(LENDERS, LOANS * LENDERS // scale.STAKES_PER_LENDER)


def test_the_close_defaults_the_loans_past_the_rule_and_expires_late_fundraisers() -> None:
    scale.seed(loans=LOANS, lenders=LENDERS, out=lambda line: None)
    late_fundraisers = Loan.objects.filter(status=S.FUNDRAISING, fundraising_deadline__lt=scale.CLOSE_ON).count()
    result = close_business_day(on=scale.CLOSE_ON)
    kinds = _kinds()
    assert kinds["stopped"] > 0
    assert late_fundraisers > 0
    assert result.steps["classify_defaults"]["rows"] == kinds["stopped"]
    assert result.steps["expire_fundraising"]["rows"] == late_fundraisers
    assert Loan.objects.filter(status=S.DEFAULTED).count() == kinds["stopped"]
    # Every lender of a defaulted loan lost exactly what was outstanding, through the ledger.
    defaulted = LenderPosition.objects.filter(loan__status=S.DEFAULTED)
    assert defaulted.count() == kinds["stopped"] * LENDERS
    assert all(p.written_off_cents == p.lent_cents - p.principal_repaid_cents > 0 for p in defaulted)
    assert LenderSettlement.objects.filter(kind=LenderSettlement.Kind.WRITE_OFF).count() == defaulted.count()
    delinquent = Loan.objects.filter(status=S.PAYING_BACK).aggregate(
        late=Count("pk", filter=Q(delinquent=True)), on_time=Count("pk", filter=Q(delinquent=False))
    )
    assert 0 < delinquent["late"] <= kinds["late"]
    report = reconcile()
    assert report.ok, report.violations[:5]
