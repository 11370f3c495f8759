"""Database engine, connections and migrations.

SQLite is the embedded default (a file in the data directory, WAL mode, so the
API keeps reading while a synchronisation writes); a ``postgresql+psycopg://``
URL switches to PostgreSQL with no other change. Migrations are Alembic
revisions shipped in the package and run on start and by ``openconnector db upgrade``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from .settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
#: ``conn.info[AFTER_COMMIT]``: callables run once the transaction of ``Database.begin``
#: committed (the outbox wakes its deliverers). A plain list instead of a SQLAlchemy
#: ``commit`` event: any engine event listener puts every statement on a slower path
#: (it cost 15% of a small object write).
AFTER_COMMIT = "openconnector.after_commit"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-16384")  # 16 MB per connection; a run holds three
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA wal_autocheckpoint=8192")  # checkpoint every ~32 MB, not every 4 MB
    # PRAGMA optimize samples this many rows per index instead of reading whole tables: after
    # a first run of a million records it took a second and 15 MB more page cache.
    cursor.execute("PRAGMA analysis_limit=1000")
    cursor.close()


def ensure_statistics(conn: Connection, table: str = "objects", rows: int = 1000) -> bool:
    """SQLite: gather planner statistics for ``table`` when it has ``rows`` or more and none yet.

    A register filled through the API or ``save_objects`` had none (``PRAGMA optimize``
    before SQLite 3.46 only analyses tables its own connection queried), and without them
    the public list at 100,000 datasets walked the ``publicatiedatum`` index and sorted
    every match instead of walking ``ix_objects_register_schema`` in id order: 72-79 ms
    instead of 20-30 in-process, 109 ms instead of 34 over HTTP (``bench/catalog_list.py``).
    ``analysis_limit`` makes this a sample of 1,000 rows per index. True when it ran.
    """
    known = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if known and conn.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = ?", (table,)).first():
        return False
    if not conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1 OFFSET {rows - 1}").first():
        return False
    conn.exec_driver_sql(f"ANALYZE {table}")
    return True


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


JSON_OPTIONS = {"json_serializer": _dumps, "json_deserializer": orjson.loads}


def private_sqlite_file(url: str) -> None:
    """Create the SQLite database file readable by its owner only (0600), like the key
    file, and narrow an existing one and its ``-wal``/``-shm`` files to that mode.

    SQLite creates the WAL and shared-memory files with the database file's mode, so a
    private database file keeps them private too; left to the umask they were 0644,
    readable by every user of the host (source secrets are sealed, but the data is not).
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except OSError:  # absent, or not ours to change: SQLite reports what matters
            pass


def make_engine(settings: Settings) -> Engine:
    url = settings.url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        private_sqlite_file(url)
        # LIFO: the connection just returned (its page cache warm) is the next one handed out,
        # so idle connections stay idle instead of each filling a cache of its own.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_use_lifo=True,
            **JSON_OPTIONS,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=300, **JSON_OPTIONS)


class Database:
    """An engine plus the write lock SQLite needs (one writer at a time, in-process)."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def begin(self, outer: Connection | None = None) -> Iterator[Connection]:
        """A transaction that commits on success; serialised for SQLite writers.

        With ``outer`` (a caller's open transaction) the work joins it instead. After the
        commit, the callables the work put in ``conn.info[AFTER_COMMIT]`` run.
        """
        if outer is not None:
            yield outer
            return
        info: dict[Any, Any] = {}
        try:
            if self._write_lock is not None:
                with self._write_lock, self.engine.begin() as conn:
                    info = conn.info
                    yield conn
            else:
                with self.engine.begin() as conn:
                    info = conn.info
                    yield conn
        except BaseException:
            info.pop(AFTER_COMMIT, None)  # rolled back: nothing to announce
            raise
        for callback in info.pop(AFTER_COMMIT, ()):
            callback()

    @contextmanager
    def connect(self, outer: Connection | None = None) -> Iterator[Connection]:
        """A read connection (no transaction bookkeeping beyond the driver's), or ``outer``."""
        if outer is not None:
            yield outer
            return
        with self.engine.connect() as conn:
            yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        if self.is_sqlite:
            with self.engine.begin() as conn:  # statistics for the planner, cheap when nothing changed
                conn.exec_driver_sql("PRAGMA optimize")
                ensure_statistics(conn)

    def dispose(self) -> None:
        self.engine.dispose()
