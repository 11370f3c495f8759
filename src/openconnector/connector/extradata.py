"""Detail calls per record: the original's ``sourceConfig.extraDataConfigs``.

Many APIs list summaries and need one more call per record for the details (a case
system's zaken, a product catalogue). Each entry of ``extraDataConfigs`` says where
the details are and where to put them::

    "extraDataConfigs": [{
        "staticEndpoint": "/zaken/{{ originId }}",   # or
        "dynamicEndpointLocation": "url",             # a dot path in the record holding the endpoint/URL, or
        "endpointTemplate": "/zaken/{{ object.identificatie }}?expand={{ extraDataConfig.expand }}",
        "endpointIdLocation": "identificatie",        # optional: the id for {{ originId }} comes from here
        "source": "<id|uuid|slug of another source>", # default: the synchronisation's source
        "keyToSetExtraData": "details",               # nest the answer under this key (else merged in)
        "mergeExtraData": true,                       # with keyToSetExtraData: merge into what is there
        "resultsLocation": "documents",               # with extraDataConfigPerResult: the answer's list,
        "extraDataConfigPerResult": {...}             #   each item gets its own detail call(s)
    }]

Configs apply in order, each to the record as the previous left it. The calls of a
page run concurrently, at most ``configuration.detailConcurrency`` (default 8) at a time per
source, every call through ``CallService`` (auth, retries, the source's rate limit,
call logs). A failing call makes that one record invalid, with the reason; the
synchronisation calls only for records whose list entry changed (``connector/sync.py``),
or, with ``fetchExtraDataBeforeConditions``, for every record of a changed page before
the conditions are tested.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openconnector.connector.records import MISSING, get_path
from openconnector.errors import BadRequest, OpenConnectorError

__all__ = ["DEFAULT_CONCURRENCY", "DetailFailed", "ExtraData"]

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
_ORIGIN = re.compile(r"\{\{\s*originId\s*\}\}")
_SUB = re.compile(r"\{\{\s*subObjectId\s*\}\}")


class DetailFailed(Exception):
    """A detail call for one record failed; the message is the record's invalid reason."""


def concurrency_of(source: dict[str, Any]) -> int:
    """The source's ``configuration.detailConcurrency`` (default 8), bounded to 1..64."""
    value = (source.get("configuration") or {}).get("detailConcurrency")
    if value in (None, ""):
        return DEFAULT_CONCURRENCY
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(
            f"configuration.detailConcurrency of source {source.get('name')!r} must be a number, not {value!r}"
        ) from None
    return max(1, min(MAX_CONCURRENCY, number))


class ExtraData:
    """Fills records with their details; built once per run by the synchronisation.

    ``call(source, endpoint)`` returns decoded data or raises ``OpenConnectorError``
    (``SynchronizationService`` passes ``CallService.call`` + status check + decode);
    ``resolve(ref)`` looks up another source; ``twig`` renders endpoint templates.
    """

    def __init__(
        self,
        configs: Sequence[dict[str, Any]],
        source: dict[str, Any],
        call: Callable[[dict[str, Any], str], Any],
        resolve: Callable[[Any], dict[str, Any]],
        twig: Any,
    ) -> None:
        if isinstance(configs, dict):
            configs = [configs]
        if not isinstance(configs, list | tuple) or not all(isinstance(c, dict) for c in configs):
            raise BadRequest(
                "sourceConfig.extraDataConfigs must be a list of objects", field="extraDataConfigs"
            )
        self.configs = list(configs)
        self.source = source
        self._call = call
        self._twig = twig
        self._templates: dict[str, Any] = {}
        self._sources: dict[str, dict[str, Any]] = {}
        for config in self._all(self.configs):
            if not any(
                k in config for k in ("staticEndpoint", "dynamicEndpointLocation", "endpointTemplate")
            ):
                raise BadRequest(
                    "Each extraDataConfigs entry needs staticEndpoint, dynamicEndpointLocation or "
                    f"endpointTemplate; got keys {sorted(config)}",
                    field="extraDataConfigs",
                )
            template = config.get("endpointTemplate")
            if template and template not in self._templates:
                self._templates[template] = twig.from_string(str(template))
            ref = config.get("source")
            if ref not in (None, "") and str(ref) not in self._sources:
                self._sources[str(ref)] = resolve(ref)
        self.concurrency = concurrency_of(source)

    def _all(self, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for config in configs:
            out.append(config)
            nested = config.get("extraDataConfigPerResult")
            if isinstance(nested, dict):
                out.extend(self._all([nested]))
            elif isinstance(nested, list):
                out.extend(self._all([c for c in nested if isinstance(c, dict)]))
        return out

    def fill_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any] | DetailFailed]:
        """Each ``(originId, record)`` with its details, in order; a ``DetailFailed`` where a call failed."""
        if not items:
            return []
        workers = min(self.concurrency, len(items))
        if workers == 1:
            return [self._safe(origin, record) for origin, record in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="details") as pool:
            return list(pool.map(lambda item: self._safe(*item), items))

    def _safe(self, origin: str, record: dict[str, Any]) -> dict[str, Any] | DetailFailed:
        try:
            return self.fill(origin, record)
        except DetailFailed as exc:
            return exc

    def fill(self, origin: str, record: dict[str, Any]) -> dict[str, Any]:
        """The record with every config's details added; raises ``DetailFailed``."""
        for config in self.configs:
            record = self._apply(config, origin, record)
        return record

    def _apply(self, config: dict[str, Any], origin: str, record: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint(config, origin, record)
        ref = config.get("source")
        source = self._sources[str(ref)] if ref not in (None, "") else self.source
        try:
            data = self._call(source, endpoint)
        except OpenConnectorError as exc:
            raise DetailFailed(f"Detail call {endpoint} failed: {exc.message}") from None
        per_result = config.get("extraDataConfigPerResult")
        if per_result:
            data = self._per_result(config, per_result, origin, data)
        if not isinstance(data, dict) and not config.get("keyToSetExtraData"):
            raise DetailFailed(
                f"Detail call {endpoint} answered {type(data).__name__}, not an object; "
                "set keyToSetExtraData to keep it under a key"
            )
        key = config.get("keyToSetExtraData")
        out = dict(record)
        if key:
            existing = out.get(key)
            merge = config.get("mergeExtraData") in (True, 1, "1", "true")
            if merge and isinstance(existing, dict) and isinstance(data, dict):
                out[key] = {**existing, **data}
            else:
                out[key] = data
        else:
            out.update(data)
        return out

    def _per_result(self, config: dict[str, Any], nested: Any, origin: str, data: Any) -> Any:
        """Recursion: each item of the answer's list (``resultsLocation``) gets its own details."""
        location = config.get("resultsLocation")
        results = get_path(data, location) if location else data
        if not isinstance(results, list):
            return data
        nested_configs = nested if isinstance(nested, list) else [nested]
        filled = []
        for item in results:
            if isinstance(item, dict):
                for sub in nested_configs:
                    item = self._apply(sub, origin, item)
            filled.append(item)
        if not location:
            return filled
        out = dict(data)
        node = out
        *parents, last = str(location).split(".")
        for part in parents:
            node[part] = dict(node[part])
            node = node[part]
        node[last] = filled
        return out

    def _endpoint(self, config: dict[str, Any], origin: str, record: dict[str, Any]) -> str:
        ident: Any = origin
        if config.get("endpointIdLocation"):
            ident = get_path(record, str(config["endpointIdLocation"]))
            if ident is MISSING or ident is None:
                raise DetailFailed(
                    f"No id for the detail call at endpointIdLocation {config['endpointIdLocation']!r}"
                )
        if config.get("dynamicEndpointLocation"):
            found = get_path(record, str(config["dynamicEndpointLocation"]))
            if not isinstance(found, str) or not found:
                raise DetailFailed(
                    f"No endpoint at dynamicEndpointLocation {config['dynamicEndpointLocation']!r}"
                )
            endpoint = found
        elif config.get("endpointTemplate"):
            template = self._templates[config["endpointTemplate"]]
            try:
                endpoint = template.render(
                    {
                        "object": record,
                        "originId": ident,
                        "extraDataConfig": config,
                        "endpoint": config.get("staticEndpoint", ""),
                    }
                ).strip()
            except Exception as exc:
                raise DetailFailed(f"endpointTemplate failed: {exc}") from None
        else:
            endpoint = str(config["staticEndpoint"])
        endpoint = _ORIGIN.sub(str(ident), endpoint)
        sub = config.get("subObjectId")
        if sub not in (None, ""):
            endpoint = _SUB.sub(str(sub), endpoint)
        return endpoint
