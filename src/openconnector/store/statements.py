"""Prepared writes: SQL with its parameters, built in one thread and run in another.

A synchronisation builds a page's writes while it maps records (Python work that
needs the GIL) and hands them to its writer thread, which then only runs them
(driver work that releases the GIL): the two overlap instead of taking turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection


class Statement(NamedTuple):
    sql: str
    params: Any
    #: ``params`` is a list of parameter rows for ``executemany``.
    many: bool = False
    #: ``sql`` is a PostgreSQL ``COPY ... FROM STDIN`` and ``params`` its rows.
    copy: bool = False


def run_statements(conn: Connection, statements: Iterable[Statement]) -> None:
    """Run on the driver's own cursor, inside ``conn``'s transaction (no per-row
    SQLAlchemy parameter processing)."""
    cursor = conn.connection.cursor()
    try:
        for statement in statements:
            if statement.copy:
                with cursor.copy(statement.sql) as copy:
                    for row in statement.params:
                        copy.write_row(row)
            elif statement.many:
                if statement.params:
                    cursor.executemany(statement.sql, statement.params)
            else:
                cursor.execute(statement.sql, statement.params)
    finally:
        cursor.close()


#: Bound parameters per SQLite statement; SQLite allows 32,766 since version 3.32.
MAX_SQLITE_PARAMS = 30_000


def insert_statements(
    dialect: str,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    shared: Mapping[str, Any] | None = None,
) -> list[Statement]:
    """``INSERT INTO table`` one row per entry of ``rows`` (values for ``columns``), each
    also taking the ``shared`` column values, which are sent once per statement.

    On SQLite: multi-row ``VALUES``, as few statements as the parameter limit allows;
    the driver binds a statement's values (holding the GIL) and then runs it in C
    without the GIL, where ``executemany`` takes the GIL back after every row (5 ms a
    row when another thread is busy). Shared values are bound once, not per row: a
    synchronisation's contract binds 4 values of its own, and the 10 its page shares once. On PostgreSQL:
    ``COPY ... FROM STDIN``, which the server parses per column type (text into
    ``jsonb`` too); psycopg's pipelined ``executemany`` spent six times the client CPU
    (2.3 s against 0.35 s for a first run of 100,000 records).
    """
    if not rows:
        return []
    shared = shared or {}
    names = ", ".join([*columns, *shared])
    if dialect == "sqlite":
        picks = ", ".join([*(f"column{i + 1}" for i in range(len(columns))), *(["?"] * len(shared))])
        return [
            Statement(f"INSERT INTO {table} ({names}) SELECT {picks} FROM ({values})", params)
            for values, params in sqlite_values(rows, shared)
        ]
    tail = tuple(shared.values())
    return [Statement(f"COPY {table} ({names}) FROM STDIN", [(*row, *tail) for row in rows], copy=True)]


def update_statements(
    dialect: str,
    table: str,
    key: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    shared: Mapping[str, Any] | None = None,
    casts: Mapping[str, str] | None = None,
) -> list[Statement]:
    """``UPDATE table SET columns`` for every row ``(key value, *column values)``, and
    ``SET`` the ``shared`` columns to the same value in each.

    On SQLite one ``UPDATE ... FROM (VALUES ...)`` per chunk (see :func:`insert_statements`),
    on PostgreSQL ``executemany``; ``casts`` adds a PostgreSQL cast to a column by name.
    """
    if not rows:
        return []
    shared = shared or {}
    if dialect == "sqlite":
        sets = ", ".join(
            [
                *(f"{column} = v.column{i + 2}" for i, column in enumerate(columns)),
                *(f"{column} = ?" for column in shared),
            ]
        )
        return [
            Statement(
                f"UPDATE {table} SET {sets} FROM ({values}) AS v WHERE {table}.{key} = v.column1", params
            )
            for values, params in sqlite_values(rows, shared)
        ]
    casts = casts or {}
    sets = ", ".join(f"{column} = %s{casts.get(column, '')}" for column in [*columns, *shared])
    tail = tuple(shared.values())
    return [
        Statement(
            f"UPDATE {table} SET {sets} WHERE {key} = %s",
            [(*row[1:], *tail, row[0]) for row in rows],
            many=True,
        )
    ]


def sqlite_values(rows: list[tuple[Any, ...]], shared: Mapping[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """``VALUES (?, ...), ...`` for as many rows as fit SQLite's parameter limit, and its
    parameters: the ``shared`` values first (the statement's ``?`` before its ``VALUES``
    take them), then the rows'."""
    width = len(rows[0])
    group = "(" + ", ".join(["?"] * width) + ")"
    fixed = list(shared.values())
    size = max(1, (MAX_SQLITE_PARAMS - len(fixed)) // width)
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        yield f"VALUES {', '.join([group] * len(chunk))}", [*fixed, *(v for row in chunk for v in row)]
