"""Posting journals: balanced, atomic, idempotent, bounded, reversible, immutable."""

from datetime import UTC, datetime

import pytest

from lending.ledger.chart import AccountType, account_code
from lending.ledger.errors import (
    AlreadyReversed,
    CurrencyMismatch,
    IdempotencyConflict,
    ImmutableLedgerRow,
    InsufficientFunds,
    InvalidJournal,
)
from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.ledger.reconcile import reconcile
from lending.ledger.services import (
    Line,
    account_open,
    journal_post,
    journal_reverse,
    lender_wallet,
    platform_account,
)
from tests.factories import LenderFactory

pytestmark = pytest.mark.django_db


def deposit(cash, wallet, cents, key="dep-1"):
    return journal_post(
        idempotency_key=key, kind="deposit", lines=[Line(debit=cash, credit=wallet, amount_cents=cents)]
    )


def refreshed(account):
    account.refresh_from_db()
    return account


def test_deposit_moves_cached_balances_on_both_sides(cash, wallet):
    journal = deposit(cash, wallet, 2500)
    assert journal.transfers.count() == 1
    assert refreshed(wallet).balance_cents == 2500
    assert refreshed(cash).balance_cents == 2500  # an asset: debit-normal
    assert (wallet.debits_posted_cents, wallet.credits_posted_cents) == (0, 2500)
    assert reconcile().ok


def test_same_key_and_content_returns_the_original_and_writes_nothing(cash, wallet):
    first = deposit(cash, wallet, 2500)
    again = deposit(cash, wallet, 2500)
    assert again.pk == first.pk
    assert Journal.objects.count() == 1
    assert Transfer.objects.count() == 1
    assert refreshed(wallet).balance_cents == 2500


def test_same_key_with_other_content_is_a_conflict(cash, wallet):
    deposit(cash, wallet, 2500)
    with pytest.raises(IdempotencyConflict, match="dep-1"):
        deposit(cash, wallet, 2600)
    assert refreshed(wallet).balance_cents == 2500


def test_wallet_cannot_be_overdrawn_and_nothing_is_written(cash, wallet):
    deposit(cash, wallet, 1000)
    with pytest.raises(InsufficientFunds) as caught:
        journal_post(idempotency_key="spend", kind="share", lines=[Line(debit=wallet, credit=cash, amount_cents=1001)])
    assert caught.value.account_code == wallet.code
    assert (caught.value.available_cents, caught.value.requested_cents) == (1000, 1001)
    assert not Journal.objects.filter(idempotency_key="spend").exists()
    assert refreshed(wallet).balance_cents == 1000


def test_spending_exactly_the_balance_leaves_zero(cash, wallet):
    deposit(cash, wallet, 1000)
    journal_post(idempotency_key="spend", kind="share", lines=[Line(debit=wallet, credit=cash, amount_cents=1000)])
    assert refreshed(wallet).balance_cents == 0


def test_a_journal_is_all_or_nothing(cash, wallet):
    other = lender_wallet(user=LenderFactory(), currency="USD")
    deposit(cash, wallet, 500)
    lines = [
        Line(debit=cash, credit=other, amount_cents=700),  # fine on its own
        Line(debit=wallet, credit=other, amount_cents=600),  # overdraws the wallet
    ]
    with pytest.raises(InsufficientFunds):
        journal_post(idempotency_key="mixed", kind="test", lines=lines)
    assert refreshed(other).balance_cents == 0
    assert Transfer.objects.count() == 1


def test_credits_within_the_same_journal_fund_its_debits(cash, wallet):
    escrow = account_open(account_type=AccountType.LOAN_ESCROW, currency="USD", ref="loan:1")
    journal_post(
        idempotency_key="through",
        kind="test",
        lines=[
            Line(debit=cash, credit=wallet, amount_cents=2500),
            Line(debit=wallet, credit=escrow, amount_cents=2500),
        ],
    )
    assert refreshed(wallet).balance_cents == 0
    assert refreshed(escrow).balance_cents == 2500


def test_receivable_cannot_be_credited_below_zero(cash):
    receivable = account_open(account_type=AccountType.LOAN_RECEIVABLE, currency="USD", ref="loan:9")
    with pytest.raises(InsufficientFunds, match="loan:9"):
        journal_post(idempotency_key="r", kind="test", lines=[Line(debit=cash, credit=receivable, amount_cents=1)])


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_non_positive_or_non_integer_amounts_are_refused(cash, wallet, amount):
    with pytest.raises(InvalidJournal, match="line 1"):
        journal_post(
            idempotency_key="bad", kind="deposit", lines=[Line(debit=cash, credit=wallet, amount_cents=amount)]
        )
    assert Journal.objects.count() == 0


def test_an_account_cannot_pay_itself(cash):
    with pytest.raises(InvalidJournal, match="same account"):
        journal_post(idempotency_key="self", kind="test", lines=[Line(debit=cash, credit=cash, amount_cents=1)])


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
def test_idempotency_key_must_be_present_and_short(cash, wallet, key):
    with pytest.raises(InvalidJournal, match="idempotency_key"):
        deposit(cash, wallet, 100, key=key)


def test_empty_journal_is_refused():
    with pytest.raises(InvalidJournal, match="at least one"):
        journal_post(idempotency_key="empty", kind="test", lines=[])


def test_currencies_cannot_mix(cash, lender):
    kes_wallet = lender_wallet(user=lender, currency="KES")
    with pytest.raises(CurrencyMismatch, match="KES"):
        journal_post(idempotency_key="fx", kind="test", lines=[Line(debit=cash, credit=kes_wallet, amount_cents=1)])
    assert Journal.objects.count() == 0


def test_unknown_currency_cannot_open_an_account():
    with pytest.raises(ValueError, match="unsupported currency"):
        platform_account(AccountType.FEE_INCOME, "XYZ")


def test_account_open_is_idempotent_and_follows_the_chart(lender):
    first = lender_wallet(user=lender, currency="USD")
    again = lender_wallet(user=lender, currency="USD")
    assert first.pk == again.pk
    assert first.code == account_code(AccountType.LENDER_WALLET, "USD", ref=f"lender:{lender.pk}")
    assert (first.normal_side, first.bound, first.holder_id) == ("credit", "debits_le_credits", lender.pk)
    assert LedgerAccount.objects.count() == 1


def test_platform_accounts_take_no_reference_and_holders_need_one():
    with pytest.raises(ValueError, match="needs a reference"):
        account_open(account_type=AccountType.LOAN_ESCROW, currency="USD")
    with pytest.raises(ValueError, match="takes no reference"):
        account_open(account_type=AccountType.FEE_INCOME, currency="USD", ref="x")


def test_reversal_mirrors_the_journal_and_restores_balances(cash, wallet):
    original = deposit(cash, wallet, 2500)
    reversal = journal_reverse(journal=original, idempotency_key="rev-1", reason="card charged back")
    assert reversal.reverses_id == original.pk
    transfer = reversal.transfers.get()
    assert (transfer.debit_account_id, transfer.credit_account_id, transfer.amount_cents) == (wallet.pk, cash.pk, 2500)
    assert refreshed(wallet).balance_cents == 0
    assert refreshed(cash).balance_cents == 0
    assert reconcile().ok


def test_reversal_is_idempotent_and_happens_once(cash, wallet):
    original = deposit(cash, wallet, 2500)
    first = journal_reverse(journal=original, idempotency_key="rev-1", reason="mistake")
    assert journal_reverse(journal=original, idempotency_key="rev-1", reason="mistake").pk == first.pk
    with pytest.raises(AlreadyReversed):
        journal_reverse(journal=original, idempotency_key="rev-2", reason="again")
    with pytest.raises(AlreadyReversed, match="itself a reversal"):
        journal_reverse(journal=first, idempotency_key="rev-3", reason="undo the undo")
    assert refreshed(wallet).balance_cents == 0


def test_reversal_respects_bounds(cash, wallet):
    original = deposit(cash, wallet, 2500)
    journal_post(idempotency_key="spent", kind="share", lines=[Line(debit=wallet, credit=cash, amount_cents=2000)])
    with pytest.raises(InsufficientFunds):
        journal_reverse(journal=original, idempotency_key="rev", reason="chargeback after lending")
    assert refreshed(wallet).balance_cents == 500


def test_reversal_needs_a_reason(cash, wallet):
    original = deposit(cash, wallet, 100)
    with pytest.raises(InvalidJournal, match="reason"):
        journal_reverse(journal=original, idempotency_key="rev", reason=" ")


def test_journals_and_transfers_refuse_updates_and_deletes_in_python(cash, wallet):
    journal = deposit(cash, wallet, 100)
    transfer = journal.transfers.get()
    journal.description = "edited"
    with pytest.raises(ImmutableLedgerRow):
        journal.save()
    with pytest.raises(ImmutableLedgerRow):
        transfer.delete()
    with pytest.raises(ImmutableLedgerRow):
        Transfer.objects.filter(pk=transfer.pk).update(amount_cents=1)
    with pytest.raises(ImmutableLedgerRow):
        Journal.objects.all().delete()
    assert Transfer.objects.get().amount_cents == 100


def test_posting_inside_a_callers_transaction_replays_after_the_key_is_taken(cash, wallet, django_db_blocker):
    from django.db import transaction

    with transaction.atomic():
        first = deposit(cash, wallet, 300)
        assert deposit(cash, wallet, 300).pk == first.pk
    assert refreshed(wallet).balance_cents == 300


def test_effective_at_and_metadata_are_kept(cash, wallet):
    when = datetime(2026, 3, 1, 12, tzinfo=UTC)
    journal = journal_post(
        idempotency_key="meta",
        kind="deposit",
        lines=[Line(debit=cash, credit=wallet, amount_cents=1)],
        effective_at=when,
        description="Card deposit",
        metadata={"payment_intent": "pi_123"},
    )
    journal.refresh_from_db()
    assert journal.effective_at == when
    assert journal.metadata == {"payment_intent": "pi_123"}
