"""Set-based SQL helpers for hot paths: many rows written in one short statement, on PostgreSQL and SQLite.

On PostgreSQL the rows travel as one array per column (`unnest`), so the statement text is the
same whatever the row count: psycopg parses it once and caches it, where a VALUES list of 41 rows
x 5 placeholders was re-parsed on every call. SQLite has no arrays and gets a VALUES list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models

Rows = list[tuple[Any, ...]]


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)  # fails loudly on a typo
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a concrete column")
    return field


def _columns_as_arrays(
    fields: Sequence[models.Field[Any, Any]], rows: Sequence[tuple[Any, ...]]
) -> tuple[str, list[Any]]:
    types = [field.db_type(connection) for field in fields]
    casts = ", ".join(f"%s::{db_type}[]" for db_type in types)
    columns = zip(*rows, strict=True)
    return f"unnest({casts})", [
        int_array(column) if db_type in _INTEGER_TYPES else list(column)
        for db_type, column in zip(types, columns, strict=True)
    ]


_INTEGER_TYPES = {"bigint", "integer", "smallint"}


def int_array(values: Sequence[int | None]) -> str:
    """Whole numbers (or None) as one PostgreSQL array literal, '{1,NULL,3}', to be cast with ::bigint[].

    psycopg adapts a Python list element by element through a regular expression; for the 40-lender
    columns of a repayment that cost more than the statement took to run. A bool or a float would
    print as something other than a whole number, so only ints are taken.
    """
    if any(type(v) is not int and v is not None for v in values):
        raise TypeError("int_array takes whole numbers (or None) only")
    return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert plain tuples (no model instances) in one statement."""
    if not rows:
        return
    fields = [_field(model, c) for c in columns]
    names = ", ".join(str(f.column) for f in fields)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            source, params = _columns_as_arrays(fields, rows)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT * FROM {source}", params)
        else:
            values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {values}", [v for row in rows for v in row])


def insert_row(model: type[models.Model], instance: models.Model) -> Callable[[], int]:
    """Insert the (unsaved) instance's row without the ORM's save; the function returned gives its id (see `send`)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(str(f.column) for f in fields)
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    rows = send(f"INSERT INTO {model._meta.db_table} ({names}) VALUES ({placeholders}) RETURNING id", params)
    return lambda: int(rows()[0][0])


def add_to_columns(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[int, ...]]) -> int:
    """For each (pk, delta, delta, ...) row, add the deltas to `columns` in one UPDATE; return rows updated
    (-1 inside `pipeline()` on PostgreSQL, where the count is not known until later).

    Django's bulk_update builds a CASE expression per row and column, which for 40 lender
    positions cost more than the whole ledger posting; this is one join instead.
    """
    if not rows:
        return 0
    table = model._meta.db_table
    fields = [_field(model, c) for c in columns]
    sets = ", ".join(f"{f.column} = {table}.{f.column} + v.c{i}" for i, f in enumerate(fields))
    aliases = ", ".join(["id", *(f"c{i}" for i in range(len(fields)))])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            source, params = _columns_as_arrays([model._meta.pk, *fields], rows)
            cursor.execute(f"UPDATE {table} SET {sets} FROM {source} AS v({aliases}) WHERE {table}.id = v.id", params)
        else:
            row_sql = "(" + ", ".join(["CAST(%s AS BIGINT)"] * (len(fields) + 1)) + ")"
            named = ", ".join(f"column{i + 1} AS {alias}" for i, alias in enumerate(aliases.split(", ")))
            values = ", ".join([row_sql] * len(rows))
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM (SELECT {named} FROM (VALUES {values})) AS v WHERE {table}.id = v.id",
                [v for row in rows for v in row],
            )
        return cursor.rowcount


# --- pipelining -----------------------------------------------------------------------------------


@contextmanager
def pipeline() -> Iterator[None]:
    """Send the statements inside to PostgreSQL without waiting for each answer (psycopg's pipeline mode).

    A statement's rows, and any error it raised, arrive when they are read (`send(...)()`) or when
    the block ends, so statements sent one after another share one round trip. A repayment to 40
    lenders was 16 round trips of 0.2 to 0.4 ms each on a 2-core machine, more than half of its time.

    Use it inside the caller's atomic block, around statements whose errors end that block: a
    database error in pipeline mode fails every later statement until the block ends, so code that
    catches a database error and carries on (a savepoint rollback, `get_or_create`) must run outside.
    Reentrant: an inner block joins the outer one. Elsewhere (SQLite, or a libpq older than 14
    without pipeline mode) it is a plain block: the same statements, one round trip each.
    """
    if connection.vendor != "postgresql" or getattr(connection, "_lending_pipeline", False) or not _can_pipeline():
        yield
        return
    connection.ensure_connection()
    connection._lending_pipeline = True  # type: ignore[attr-defined]
    try:
        with connection.wrap_database_errors, connection.connection.pipeline():
            yield
    finally:
        connection._lending_pipeline = False  # type: ignore[attr-defined]


def _can_pipeline() -> bool:
    import psycopg  # the PostgreSQL backend's driver; never imported on SQLite

    return bool(psycopg.capabilities.has_pipeline())


def send(sql: str, params: Sequence[Any]) -> Callable[[], Rows]:
    """Execute `sql`, a statement that returns rows (a SELECT, or RETURNING); the function returned gives them.

    Inside `pipeline()` on PostgreSQL the rows are awaited only when that function is called, with
    everything sent before it; elsewhere they are read at once. Statements that return no rows need
    no `send`: executed inside `pipeline()`, they travel with the next read or the block's end.
    """
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        if not getattr(connection, "_lending_pipeline", False):
            rows = cursor.fetchall()
            cursor.close()
            return lambda: rows
    except BaseException:
        cursor.close()
        raise

    def read() -> Rows:
        with cursor:
            return cursor.fetchall()

    return read
