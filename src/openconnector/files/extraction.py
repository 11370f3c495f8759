"""The text extractor: fills ``file_texts`` in the background, never in an upload.

Reading a 300-page PDF takes seconds; an upload or a synchronisation should not
wait for it, so files get their text afterwards. The scheduler (``serve``) and
every ``openconnector worker`` start a :class:`TextExtractor` thread that looks
for files without text, or whose bytes changed since their text was taken
(the checksum differs), a few at a time::

    TextExtractor(context).extract_pending()   # one pass, e.g. from a test or a script
    TextExtractor(context).start()             # a thread that keeps at it (poll every 2 s)

A file that is not a PDF, DOCX, ODT or plain text, or is larger than
:data:`MAX_BYTES`, gets a row with status ``none``; a file the parser gives up
on gets ``failed`` with the reason (logged at info level): both are looked at
once per checksum, never again. Several processes may run extractors: at worst
two extract the same file and the second write wins with the same text.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import IntegrityError

from ..clock import now_iso
from ..context import Context
from ..errors import OpenConnectorError
from ..store import tables as t
from . import search_text
from .text import Limits, extract, kind_of

log = logging.getLogger("openconnector.files.extraction")

#: Files larger than this are not read for text (a PDF must be read whole to find its pages).
MAX_BYTES = 256 * 1024 * 1024
#: Bytes of a document kept in memory while extracting; beyond, a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024

_WAKE = threading.Event()


def wake() -> None:
    """Look for files to extract now (a file was added or replaced in this process)."""
    _WAKE.set()


class TextExtractor:
    """Extracts the text of files that have none yet; ``extract_pending()`` once, or ``start()``."""

    def __init__(
        self, context: Context, *, poll: float = 2.0, batch: int = 20, limits: Limits | None = None
    ) -> None:
        self.context = context
        self.poll = poll
        self.batch = batch
        self.limits = limits or Limits()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.extracted = 0

    def start(self) -> TextExtractor:
        self._thread = threading.Thread(target=self._loop, name="file-text", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        _WAKE.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        from .. import shutdown

        shutdown.work_until_stopped(
            self.extract_pending, self.stopping, _WAKE, self.poll, "file text extraction"
        )

    def pending(self) -> list[Any]:
        """Up to ``batch`` files without text for their current bytes, oldest first."""
        f, x = t.files.c, t.file_texts.c
        with self.context.db.connect() as conn:
            return conn.execute(
                select(f.id, f.object_id, f.checksum, f.content_type, f.name, f.size, f.storage_key)
                .select_from(t.files.outerjoin(t.file_texts, x.file_id == f.id))
                .where(or_(x.file_id.is_(None), x.checksum != f.checksum))
                .order_by(f.id)
                .limit(self.batch)
            ).all()

    def extract_pending(self) -> int:
        """One pass over :meth:`pending`; returns how many files were looked at."""
        rows = self.pending()
        for row in rows:
            if self.stopping.is_set():
                break
            self._store(row, *self._extract(row))
            self.extracted += 1
        return len(rows)

    def _extract(self, row: Any) -> tuple[str, str, bool, str | None]:
        """(status, text, truncated, error) for one file."""
        if kind_of(row.content_type, row.name) is None:
            return "none", "", False, None
        if row.size > MAX_BYTES:
            return "none", "", False, f"larger than {MAX_BYTES} bytes: not read for text"
        try:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                for chunk in self.context.storage.open(row.storage_key):
                    spool.write(chunk)
                spool.seek(0)
                result = extract(spool, row.content_type, row.name, self.limits)
        except OpenConnectorError as exc:  # the bytes are missing or the storage is away
            log.warning("file %s: cannot read its bytes for text: %s", row.id, exc.message)
            return "failed", "", False, exc.message
        if result.error:
            log.info("file %s (%s): no text: %s", row.id, row.name, result.error)
            return "failed", result.text, result.truncated, result.error
        return "done", result.text, result.truncated, None

    def _store(self, row: Any, status: str, text: str, truncated: bool, error: str | None) -> None:
        values = {
            "file_id": row.id,
            "checksum": row.checksum,
            "status": status,
            "text": text or None,
            "characters": len(text),
            "truncated": truncated,
            "error": error,
            "extracted": now_iso(),
        }
        try:
            with self.context.db.begin() as conn:
                # the file may have been deleted meanwhile: then there is nothing to store
                if conn.execute(select(t.files.c.id).where(t.files.c.id == row.id)).first() is None:
                    return
                conn.execute(delete(t.file_texts).where(t.file_texts.c.file_id == row.id))
                conn.execute(insert(t.file_texts).values(**values))
                search_text.refresh(conn, row.object_id)
        except IntegrityError:  # another process stored this file's text (or deleted the file) meanwhile
            log.debug("file %s: text stored by another extractor", row.id)
