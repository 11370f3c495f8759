"""Prepared writes: SQL with its parameters, built in one thread and run in another.

A synchronisation builds a page's writes while it maps records (Python work that
needs the GIL) and hands them to its writer thread, which then only runs them
(driver work that releases the GIL): the two overlap instead of taking turns.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def values_statements(prefix: str, rows: list[tuple[Any, ...]], width: int) -> list[Statement]:
    """``prefix VALUES (?, ...), (?, ...), ...`` for SQLite, as few statements as the parameter
    limit allows. One statement binds all its rows and then runs in C without the GIL,
    where ``executemany`` takes the GIL back after every row."""
    per = max(1, MAX_SQLITE_PARAMS // width)
    group = "(" + ", ".join(["?"] * width) + ")"
    out = []
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        out.append(
            Statement(f"{prefix} VALUES {', '.join([group] * len(chunk))}", [v for row in chunk for v in row])
        )
    return out
