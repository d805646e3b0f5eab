"""Set-based SQL helpers for hot paths: many rows written in one short statement, on PostgreSQL and SQLite.

On PostgreSQL the rows travel as one array per column (`unnest`), so the statement text is the
same whatever the row count: psycopg parses it once and caches it, where a VALUES list of 41 rows
x 5 placeholders was re-parsed on every call. SQLite has no arrays and gets a VALUES list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)  # fails loudly on a typo
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a concrete column")
    return field


def _columns_as_arrays(
    fields: Sequence[models.Field[Any, Any]], rows: Sequence[tuple[Any, ...]]
) -> tuple[str, list[list[Any]]]:
    casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    return f"unnest({casts})", [list(column) for column in zip(*rows, strict=True)]


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


def insert_row(model: type[models.Model], values: dict[str, Any]) -> int:
    """Insert one row from {field name: value} and return its id, without building a model instance."""
    fields = [_field(model, name) for name in values]
    names = ", ".join(str(f.column) for f in fields)
    params = [f.get_db_prep_save(v, connection) for f, v in zip(fields, values.values(), strict=True)]
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {model._meta.db_table} ({names}) VALUES ({placeholders}) RETURNING id", params)
        return int(cursor.fetchone()[0])


def add_to_columns(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[int, ...]]) -> int:
    """For each (pk, delta, delta, ...) row, add the deltas to `columns` in one UPDATE; return rows updated.

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
