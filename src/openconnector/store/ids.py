"""Row identifiers: time-ordered uuids (RFC 9562 version 7).

Objects, contracts and logs are keyed by a uuid with a unique index. Random
(version 4) uuids land all over that index, so every page of 1,000 inserts
dirties most of its b-tree pages and a commit rewrites them all: on SQLite that
was half the time of a first synchronisation. A version 7 uuid starts with the
millisecond it was made, so new rows append at the end of the index. It is still
a standard uuid, unguessable in its 74 random bits.
"""

from __future__ import annotations

import os
import threading
import time

_entropy = threading.local()


def _random_bytes(count: int) -> bytes:
    """``count`` random bytes from a per-thread pool (one system call per 4 KiB)."""
    pool = getattr(_entropy, "pool", b"")
    if len(pool) < count:
        pool = os.urandom(4096)
    _entropy.pool = pool[count:]
    return pool[:count]


def new_uuid() -> str:
    """A version 7 uuid: 48 bits of unix milliseconds, then random bits."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + _random_bytes(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
