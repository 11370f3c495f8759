"""Prepared writes: SQL with its parameters, built in one thread and run in another.

A synchronisation builds a page's writes while it maps records (Python work that
needs the GIL) and hands them to its writer thread, which then only runs them
(driver work that releases the GIL): the two overlap instead of taking turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection


class Statement(NamedTuple):
    sql: str
    params: Any
    #: ``params`` is a list of parameter rows for ``executemany``.
    many: bool = False


def run_statements(conn: Connection, statements: Iterable[Statement]) -> None:
    """Run on the driver's own cursor, inside ``conn``'s transaction (no per-row
    SQLAlchemy parameter processing)."""
    cursor = conn.connection.cursor()
    try:
        for statement in statements:
            if statement.many:
                if statement.params:
                    cursor.executemany(statement.sql, statement.params)
            else:
                cursor.execute(statement.sql, statement.params)
    finally:
        cursor.close()


#: Bound parameters per SQLite statement; SQLite allows 32,766 since version 3.32.
MAX_SQLITE_PARAMS = 30_000


def insert_statements(
    dialect: str, head: str, rows: list[tuple[Any, ...]], casts: Mapping[int, str] | None = None
) -> list[Statement]:
    """``head VALUES ...`` for every row.

    On SQLite: multi-row ``VALUES``, as few statements as the parameter limit allows;
    the driver binds a statement's rows and then runs it in C without the GIL, where
    ``executemany`` takes the GIL back after every row (5 ms a row when another thread
    is busy). On PostgreSQL: ``executemany``, which psycopg pipelines. ``casts`` adds a
    PostgreSQL cast to a column by position (``{3: "::jsonb"}``).
    """
    if not rows:
        return []
    width = len(rows[0])
    if dialect == "sqlite":
        group = "(" + ", ".join(["?"] * width) + ")"
        return [
            Statement(f"{head} VALUES {', '.join([group] * len(chunk))}", [v for row in chunk for v in row])
            for chunk in _chunks(rows, max(1, MAX_SQLITE_PARAMS // width))
        ]
    group = "(" + ", ".join("%s" + (casts or {}).get(i, "") for i in range(width)) + ")"
    return [Statement(f"{head} VALUES {group}", rows, many=True)]


def update_statements(
    dialect: str,
    table: str,
    key: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    casts: Mapping[str, str] | None = None,
) -> list[Statement]:
    """``UPDATE table SET columns`` for every row ``(key value, *column values)``.

    On SQLite one ``UPDATE ... FROM (VALUES ...)`` per chunk (see :func:`insert_statements`),
    on PostgreSQL ``executemany``; ``casts`` adds a PostgreSQL cast to a column by name.
    """
    if not rows:
        return []
    if dialect == "sqlite":
        sets = ", ".join(f"{column} = v.column{i + 2}" for i, column in enumerate(columns))
        group = "(" + ", ".join(["?"] * (len(columns) + 1)) + ")"
        return [
            Statement(
                f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([group] * len(chunk))}) AS v "
                f"WHERE {table}.{key} = v.column1",
                [v for row in chunk for v in row],
            )
            for chunk in _chunks(rows, max(1, MAX_SQLITE_PARAMS // (len(columns) + 1)))
        ]
    sets = ", ".join(f"{column} = %s{(casts or {}).get(column, '')}" for column in columns)
    return [
        Statement(
            f"UPDATE {table} SET {sets} WHERE {key} = %s", [(*row[1:], row[0]) for row in rows], many=True
        )
    ]


def _chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]
