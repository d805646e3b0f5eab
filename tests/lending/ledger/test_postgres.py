"""On PostgreSQL, where locks, constraints and triggers are real: concurrency and immutability."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from lending.ledger.errors import InsufficientFunds
from lending.ledger.models import Journal, LedgerAccount, Transfer
from lending.ledger.reconcile import reconcile
from lending.ledger.services import Line, journal_post, lender_wallet
from tests.concurrency import run_together
from tests.factories import LenderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_many_threads_spending_one_wallet_never_overdraw_it(cash, wallet):
    journal_post(idempotency_key="fund", kind="deposit", lines=[Line(debit=cash, credit=wallet, amount_cents=10_000)])
    results = run_together(
        16,
        lambda i: journal_post(
            idempotency_key=f"spend-{i}", kind="share", lines=[Line(debit=wallet, credit=cash, amount_cents=2_500)]
        ),
    )
    posted = [r for r in results if isinstance(r, Journal)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(posted) == 4, results
    assert len(refused) == 12, results
    wallet.refresh_from_db()
    assert wallet.balance_cents == 0
    assert reconcile().ok


def test_concurrent_deposits_lose_no_update(cash):
    wallets = [lender_wallet(user=LenderFactory(), currency="USD") for _ in range(4)]
    results = run_together(
        12,
        lambda i: journal_post(
            idempotency_key=f"dep-{i}",
            kind="deposit",
            lines=[Line(debit=cash, credit=w, amount_cents=100 + i) for w in wallets],
        ),
    )
    assert all(isinstance(r, Journal) for r in results), results
    expected = sum(100 + i for i in range(12))
    for w in wallets:
        w.refresh_from_db()
        assert w.balance_cents == expected
    cash.refresh_from_db()
    assert cash.balance_cents == expected * 4
    assert reconcile().ok


def test_transfers_in_opposite_directions_do_not_deadlock(cash):
    a = lender_wallet(user=LenderFactory(), currency="USD")
    b = lender_wallet(user=LenderFactory(), currency="USD")
    journal_post(
        idempotency_key="fund",
        kind="deposit",
        lines=[Line(debit=cash, credit=a, amount_cents=100_000), Line(debit=cash, credit=b, amount_cents=100_000)],
    )

    def swap(i: int) -> Journal:
        src, dst = (a, b) if i % 2 else (b, a)
        return journal_post(
            idempotency_key=f"swap-{i}", kind="test", lines=[Line(debit=src, credit=dst, amount_cents=7)]
        )

    results = run_together(16, swap)
    assert all(isinstance(r, Journal) for r in results), results
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.balance_cents + b.balance_cents == 200_000
    assert a.balance_cents == 100_000  # eight each way
    assert reconcile().ok


def test_the_same_key_arriving_concurrently_posts_exactly_one_journal(cash, wallet):
    results = run_together(
        12,
        lambda i: journal_post(
            idempotency_key="webhook-evt-1", kind="deposit", lines=[Line(debit=cash, credit=wallet, amount_cents=2_500)]
        ),
    )
    assert all(isinstance(r, Journal) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Journal.objects.filter(idempotency_key="webhook-evt-1").count() == 1
    wallet.refresh_from_db()
    assert wallet.balance_cents == 2_500


def test_the_database_refuses_update_and_delete_on_ledger_rows(cash, wallet):
    journal = journal_post(idempotency_key="d", kind="deposit", lines=[Line(debit=cash, credit=wallet, amount_cents=1)])
    statements = [
        ("UPDATE ledger_journal SET description = 'x' WHERE id = %s", journal.pk),
        ("DELETE FROM ledger_journal WHERE id = %s", journal.pk),
        ("UPDATE ledger_transfer SET amount_cents = 1000 WHERE journal_id = %s", journal.pk),
        ("DELETE FROM ledger_transfer WHERE journal_id = %s", journal.pk),
    ]
    for sql, pk in statements:
        with pytest.raises(IntegrityError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [pk])
    assert Transfer.objects.get(journal=journal).amount_cents == 1


def test_the_database_refuses_to_overdraw_a_wallet_behind_the_services_back(wallet):
    with pytest.raises(IntegrityError, match="debits_le_credits"), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.pk).update(debits_posted_cents=1)
