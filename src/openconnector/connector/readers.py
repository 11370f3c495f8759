"""One place that knows how each source type is read: its pages of records.

``api``/``json``/``xml`` sources are paginated HTTP answers (``CallService.pages``),
``soap`` an operation's answer (``connector/soap.py``), ``csv``/``jsonl``/``xlsx``
streamed files (``connector/files.py``), ``dcat`` a harvested feed
(``connector/dcat_harvest.py``). Every reader yields ``Page`` objects and has a
``stop_reason``; a synchronisation and a source's Test both read through here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openconnector.connector.files import FILE_TYPES, file_pages
from openconnector.connector.pages import Page
from openconnector.connector.pagination import from_source_config

__all__ = ["source_pages"]


def source_pages(
    calls: Any,
    source: dict[str, Any],
    endpoint: str,
    config: dict[str, Any],
    data_dir: Path,
    *,
    max_pages: int | None = None,
    concurrency: int = 1,
) -> Iterator[Page]:
    """The pages of ``source`` as a synchronisation with ``sourceConfig`` ``config`` reads them.

    ``max_pages`` overrides ``config["maxPages"]``; without either, HTTP APIs stop after 50
    pages (the original's default) while files and feeds are read to the end.
    ``concurrency``: HTTP API pages fetched at once (files and feeds are read in order).
    """
    kind = str(source.get("type") or "").lower()
    pagination, default_max = from_source_config(config)
    limit = max_pages if max_pages is not None else (default_max if config.get("maxPages") else None)
    if kind == "dcat":
        from openconnector.connector.dcat_harvest import DcatPages

        return DcatPages(calls, source, endpoint, limit or 1000)
    if kind == "soap":
        from openconnector.connector.soap import SoapPages

        return SoapPages(
            calls, source, endpoint, config.get("arguments"), config.get("resultsPosition") or None
        )
    if kind in FILE_TYPES:
        return file_pages(calls, source, endpoint, config, data_dir, limit)
    return calls.pages(
        source,
        endpoint,
        query=config.get("query") or None,
        headers=config.get("headers") or None,
        pagination=pagination,
        results_position=config.get("resultsPosition") or None,
        max_pages=limit or default_max,
        concurrency=concurrency,
    )
