"""Import tests: run an import with its printed output captured, once per module where it is slow."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command

from lending.imports.summary import ImportSummary


@dataclass
class Run:
    summary: ImportSummary
    out: str  # the summary and the comparison
    err: str  # progress lines and skipped records


def run(importer: Callable[..., ImportSummary], *args: Any, **kwargs: Any) -> Run:
    out, err = io.StringIO(), io.StringIO()
    summary = importer(*args, out=out, err=err, **kwargs)
    return Run(summary, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def module_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """A module's import committed as in production (a transaction per loan), the database emptied after it.

    A module imports its file once (the 500-loan snapshot takes a while) and every test reads the
    result in its own transaction, so what one test writes the next never sees. After the module's
    last test every table is emptied as TransactionTestCase does (TRUNCATE on PostgreSQL, which the
    ledger's immutability triggers leave alone). Not one transaction around the whole module: on
    PostgreSQL each service's savepoint is a subtransaction, and thousands in one transaction
    overflow its subtransaction cache, which made the 500-loan import take hours instead of minutes.
    """
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)
