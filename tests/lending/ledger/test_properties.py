"""Random sequences of journals, replays and reversals keep every ledger invariant.

Hypothesis drives the real services against a simple model (a dict of expected balances);
after every step the cache must equal the model and `reconcile` must find nothing. Each example
runs in its own transaction, rolled back afterwards. On failure Hypothesis prints the seed blob.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lending.ledger.chart import AccountType
from lending.ledger.errors import AlreadyReversed, IdempotencyConflict, InsufficientFunds
from lending.ledger.models import Journal, LedgerAccount
from lending.ledger.reconcile import reconcile
from lending.ledger.services import Line, account_open, journal_post, journal_reverse, platform_account

N_ACCOUNTS = 5  # 0: processor cash (unbounded), 1..4: wallets / escrow (bounded at zero)

post_op = st.tuples(
    st.just("post"),
    st.lists(
        st.tuples(st.integers(0, N_ACCOUNTS - 1), st.integers(0, N_ACCOUNTS - 1), st.integers(1, 5_000)).filter(
            lambda t: t[0] != t[1]
        ),
        min_size=1,
        max_size=6,
    ),
)
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 50))
replay_op = st.tuples(st.just("replay"), st.integers(0, 50))
conflict_op = st.tuples(st.just("conflict"), st.integers(0, 50))
operations = st.lists(st.one_of(post_op, post_op, reverse_op, replay_op, conflict_op), min_size=1, max_size=25)


@dataclass
class Model:
    accounts: list[LedgerAccount]
    balances: list[int] = field(default_factory=lambda: [0] * N_ACCOUNTS)  # debits minus credits
    posted: list[tuple[Journal, list[tuple[int, int, int]]]] = field(default_factory=list)
    reversed: set[int] = field(default_factory=set)

    def bounded_ok(self, balances: list[int]) -> bool:
        # Accounts 1.. are credit-normal and floored at zero: debits may never exceed credits.
        return all(b <= 0 for b in balances[1:])

    def apply(self, triples: list[tuple[int, int, int]]) -> list[int]:
        after = list(self.balances)
        for d, c, amount in triples:
            after[d] += amount
            after[c] -= amount
        return after


def lines_for(model: Model, triples: list[tuple[int, int, int]]) -> list[Line]:
    return [Line(debit=model.accounts[d], credit=model.accounts[c], amount_cents=a) for d, c, a in triples]


def step(model: Model, op: tuple, n: int) -> None:  # type: ignore[type-arg]
    kind, arg = op
    if kind == "post":
        after = model.apply(arg)
        try:
            journal = journal_post(idempotency_key=f"k{n}", kind="test", lines=lines_for(model, arg))
        except InsufficientFunds:
            assert not model.bounded_ok(after)
            return
        assert model.bounded_ok(after)
        model.balances = after
        model.posted.append((journal, arg))
    elif kind in ("replay", "conflict") and model.posted:
        journal, triples = model.posted[arg % len(model.posted)]
        if kind == "replay":
            again = journal_post(idempotency_key=journal.idempotency_key, kind="test", lines=lines_for(model, triples))
            assert again.pk == journal.pk
        else:
            d, c, a = triples[0]
            with pytest.raises(IdempotencyConflict):
                journal_post(
                    idempotency_key=journal.idempotency_key, kind="test", lines=lines_for(model, [(d, c, a + 1)])
                )
    elif kind == "reverse" and model.posted:
        journal, triples = model.posted[arg % len(model.posted)]
        mirrored = [(c, d, a) for d, c, a in triples]
        after = model.apply(mirrored)
        try:
            journal_reverse(journal=journal, idempotency_key=f"r{journal.pk}-{n}", reason="property test")
        except AlreadyReversed:
            assert journal.pk in model.reversed
            return
        except InsufficientFunds:
            assert journal.pk not in model.reversed
            assert not model.bounded_ok(after)
            return
        assert journal.pk not in model.reversed
        model.reversed.add(journal.pk)
        model.balances = after


def check(model: Model) -> None:
    for account, expected in zip(model.accounts, model.balances, strict=True):
        account.refresh_from_db()
        assert account.debits_posted_cents - account.credits_posted_cents == expected
    report = reconcile()
    assert report.ok, report.violations


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_random_journals_and_reversals_keep_every_invariant(ops):
    with transaction.atomic():
        accounts = [platform_account(AccountType.PROCESSOR_CASH, "USD")] + [
            account_open(account_type=AccountType.LOAN_ESCROW, currency="USD", ref=f"prop:{i}")
            for i in range(1, N_ACCOUNTS)
        ]
        model = Model(accounts=accounts)
        for n, op in enumerate(ops):
            step(model, op, n)
            check(model)
        transaction.set_rollback(True)
