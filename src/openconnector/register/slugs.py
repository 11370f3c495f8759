"""Slugs derived from titles, as OpenRegister and OpenConnector derive them."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str) -> str:
    """Lowercase ASCII, runs of other characters become one ``-``, trimmed."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
