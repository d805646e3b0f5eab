"""The hot paths' SQL helpers: pipelined statements read back in order, errors end the block, int arrays."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from lending.db import int_array, pipeline, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def scratch(db: None) -> str:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE scratch_rows (id INTEGER PRIMARY KEY, label VARCHAR(10) UNIQUE)")
    return "scratch_rows"


def labels(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT label FROM {table} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_statements_sent_together_each_give_back_their_own_rows(scratch):
    with transaction.atomic(), pipeline():
        first = send(f"INSERT INTO {scratch} (id, label) VALUES (%s, %s) RETURNING id", [1, "one"])
        with connection.cursor() as cursor:  # a write nobody reads travels with the next read
            cursor.execute(f"INSERT INTO {scratch} (id, label) VALUES (%s, %s)", [2, "two"])
        count = send(f"SELECT COUNT(*) FROM {scratch}", [])
        nothing = send(f"SELECT label FROM {scratch} WHERE id = %s", [3])
        assert (count(), first(), nothing()) == ([(2,)], [(1,)], [])
    assert labels(scratch) == ["one", "two"]


def test_a_nested_block_joins_the_outer_one(scratch):
    with transaction.atomic(), pipeline():
        with pipeline():
            inner = send(f"INSERT INTO {scratch} (id, label) VALUES (%s, %s) RETURNING label", [1, "inner"])
        outer = send(f"INSERT INTO {scratch} (id, label) VALUES (%s, %s) RETURNING label", [2, "outer"])
        assert (inner(), outer()) == ([("inner",)], [("outer",)])
    assert labels(scratch) == ["inner", "outer"]


@pytest.mark.postgres
def test_on_postgresql_the_connection_is_in_pipeline_mode_until_the_outer_block_ends(db):
    status = lambda: connection.connection.pgconn.pipeline_status  # noqa: E731  # 0: off
    with transaction.atomic(), pipeline():
        with pipeline():
            assert status() != 0
        assert status() != 0
    assert status() == 0


def insert_the_same_label_twice(table: str) -> None:
    """A pipelined block, in its own atomic block, whose second insert breaks the unique label."""
    with transaction.atomic(), pipeline():
        send(f"INSERT INTO {table} (id, label) VALUES (%s, %s) RETURNING id", [10, "same"])
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} (id, label) VALUES (%s, %s)", [11, "same"])


def test_a_database_error_inside_the_block_is_djangos_and_its_transaction_writes_nothing(scratch):
    with pytest.raises(IntegrityError):
        insert_the_same_label_twice(scratch)
    assert labels(scratch) == []


def test_an_error_in_a_block_inside_a_savepoint_leaves_the_outer_transaction_usable(scratch):
    with transaction.atomic():
        send(f"INSERT INTO {scratch} (id, label) VALUES (%s, %s) RETURNING id", [1, "before"])
        with pytest.raises(IntegrityError):
            insert_the_same_label_twice(scratch)
        send(f"INSERT INTO {scratch} (id, label) VALUES (%s, %s) RETURNING id", [3, "after"])
    assert labels(scratch) == ["before", "after"]


def test_int_array_is_a_postgresql_array_literal_of_whole_numbers():
    assert int_array([1, -20, 300]) == "{1,-20,300}"
    assert int_array([None, 7]) == "{NULL,7}"
    assert int_array([]) == "{}"


@pytest.mark.parametrize("bad", [[True], [1.0], ["1"], [1, 2.5]])
def test_int_array_refuses_anything_but_whole_numbers(bad):
    with pytest.raises(TypeError, match="whole numbers"):
        int_array(bad)


@pytest.mark.postgres
def test_int_array_reads_back_as_the_same_numbers_on_postgresql(db):
    values = [9_007_199_254_740_993, 0, None, -1]
    assert send("SELECT %s::bigint[]", [int_array(values)])() == [(values,)]
