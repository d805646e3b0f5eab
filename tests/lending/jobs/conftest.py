"""Fixtures of the close-of-business tests."""

from __future__ import annotations

import pytest

from tests.lending.jobs.scaleout import build_every_state


@pytest.fixture
def every_state(make_lenders, listed, disbursed, apply, officer) -> dict[str, int]:
    return build_every_state(
        make_lenders=make_lenders, listed=listed, disbursed=disbursed, apply=apply, officer=officer
    )
