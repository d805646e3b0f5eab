"""Balances as of a past moment and statements come from the transfer log."""

from datetime import UTC, date, datetime

import pytest

from lending.ledger.selectors import account_balance, account_statement, lender_wallet_find
from lending.ledger.services import Line, journal_post

pytestmark = pytest.mark.django_db


def post(key, debit, credit, cents, day):
    return journal_post(
        idempotency_key=key,
        kind="test",
        lines=[Line(debit=debit, credit=credit, amount_cents=cents)],
        effective_at=datetime(2026, 1, day, 15, tzinfo=UTC),
        description=key,
    )


@pytest.fixture
def history(cash, wallet):
    post("d1", cash, wallet, 10_000, 5)
    post("s1", wallet, cash, 2_500, 10)
    post("d2", cash, wallet, 1_000, 20)
    return wallet


def test_balance_as_of_dates_and_moments(history):
    assert account_balance(account=history, as_of=date(2026, 1, 4)) == 0
    assert account_balance(account=history, as_of=date(2026, 1, 5)) == 10_000
    assert account_balance(account=history, as_of=datetime(2026, 1, 10, 14, 59, tzinfo=UTC)) == 10_000
    assert account_balance(account=history, as_of=datetime(2026, 1, 10, 15, tzinfo=UTC)) == 7_500
    assert account_balance(account=history, as_of=date(2026, 1, 31)) == 8_500
    assert account_balance(account=history) == 8_500


def test_balance_on_a_debit_normal_account_has_the_other_sign(history, cash):
    assert account_balance(account=cash, as_of=date(2026, 1, 10)) == 7_500


def test_statement_has_opening_lines_running_balance_and_closing(history, cash):
    statement = account_statement(account=history, start=date(2026, 1, 6), end=date(2026, 1, 20))
    assert statement.opening_balance_cents == 10_000
    assert [(ln.description, ln.debit_cents, ln.credit_cents, ln.balance_cents) for ln in statement.lines] == [
        ("s1", 2_500, 0, 7_500),
        ("d2", 0, 1_000, 8_500),
    ]
    assert statement.closing_balance_cents == 8_500
    assert statement.lines[0].counterparty_code == cash.code
    assert (statement.total_debits_cents, statement.total_credits_cents) == (2_500, 1_000)


def test_statement_of_a_quiet_range_is_just_the_balance(history):
    statement = account_statement(account=history, start=date(2026, 1, 11), end=date(2026, 1, 19))
    assert statement.lines == []
    assert statement.opening_balance_cents == statement.closing_balance_cents == 7_500


def test_statement_refuses_an_inverted_range(history):
    with pytest.raises(ValueError, match="before its start"):
        account_statement(account=history, start=date(2026, 1, 10), end=date(2026, 1, 9))


def test_wallet_lookup_never_opens_an_account(lender, wallet):
    assert lender_wallet_find(user_id=lender.pk, currency="USD") == wallet
    assert lender_wallet_find(user_id=lender.pk, currency="KES") is None
