"""SOAP sources (``type: soap``): an operation of a WSDL service as a list of records.

The source names the WSDL (``configuration.wsdl``; default: its location + ``?wsdl``);
a synchronisation names the operation as its ``endpoint`` and passes the operation's
arguments as ``sourceConfig.arguments``::

    source:  {"type": "soap", "location": "https://zaken.example.nl/soap",
              "configuration": {"wsdl": "https://zaken.example.nl/soap?wsdl"}}
    sync:    {"sourceConfig": {"endpoint": "ListZaken", "arguments": {"status": "open"},
              "resultsPosition": "_root", "idPosition": "id"}}

zeep reads the WSDL (kept per process, like the original's ``permanentWsdl``) and
builds the envelope and parses the answer; the request itself goes through
``CallService`` like every other call (auth headers, retries, rate limit, call log).
The answer's body becomes plain data (``zeep.helpers.serialize_object``; dates as ISO
text, decimals as text) in which ``resultsPosition`` finds the records. A SOAP Fault
is a failed page: the run ends with the fault's text. zeep's XML parser refuses
DTDs with entities and external references.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from openconnector.connector.pages import Page
from openconnector.connector.records import content_hash, find_records
from openconnector.errors import BadRequest, SourceRejected

__all__ = ["SoapPages", "call_operation"]

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client(wsdl: str, timeout: float) -> Any:
    from zeep import Client, Settings
    from zeep.transports import Transport

    with _clients_lock:
        client = _clients.get(wsdl)
        if client is None:
            settings = Settings(strict=False, forbid_dtd=False, forbid_entities=True, forbid_external=True)
            try:
                client = Client(wsdl, settings=settings, transport=Transport(timeout=timeout))
            except Exception as exc:  # zeep raises requests, lxml and its own errors
                raise SourceRejected(f"Cannot read the WSDL {wsdl}: {type(exc).__name__}: {exc}") from None
            _clients[wsdl] = client
        return client


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def call_operation(calls: Any, source: dict[str, Any], operation: str, arguments: dict[str, Any]) -> Any:
    """Call one operation; returns the answer as plain data."""
    from lxml import etree
    from zeep.exceptions import Error as ZeepError
    from zeep.exceptions import Fault
    from zeep.helpers import serialize_object
    from zeep.wsdl.bindings.soap import Soap12Binding

    configuration = source.get("configuration") or {}
    location = str(source.get("location") or "")
    wsdl = str(configuration.get("wsdl") or (f"{location}?wsdl" if location else ""))
    if not wsdl:
        raise BadRequest(f"Source {source.get('name')!r} is a SOAP source without wsdl or location")
    if not operation:
        raise BadRequest("Set the synchronisation's endpoint to the SOAP operation to call", field="endpoint")
    client = _client(wsdl, float(configuration.get("timeout") or 30))
    service = client.service
    binding = service._binding
    try:
        operation_obj = binding.get(operation)
    except ValueError:
        known = ", ".join(sorted(binding._operations))
        raise BadRequest(
            f"The WSDL has no operation {operation!r}; it offers {known}", field="endpoint"
        ) from None
    try:
        envelope = client.create_message(service, operation, **(arguments or {}))
    except (TypeError, ZeepError) as exc:
        raise BadRequest(f"The arguments do not fit {operation}: {exc}", field="arguments") from None
    address = str(service._binding_options.get("address") or location)
    action = operation_obj.soapaction or ""
    if isinstance(binding, Soap12Binding):
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
    else:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
    result = calls.call_resolved(
        source, address, "POST", body=etree.tostring(envelope, encoding="utf-8"), headers=headers
    )
    reply = SimpleNamespace(
        status_code=result.status_code, content=result.content, headers=result.headers, encoding="utf-8"
    )
    try:
        answer = binding.process_reply(client, operation_obj, reply)
    except Fault as exc:
        raise SourceRejected(
            f"SOAP fault from {operation} at {result.url}: {exc.message}", url=result.url
        ) from None
    except ZeepError as exc:
        raise SourceRejected(
            f"The SOAP answer of {operation} at {result.url} was refused: {exc}", url=result.url
        ) from None
    return _jsonable(serialize_object(answer, target_cls=dict))


class SoapPages(Iterator[Page]):
    """One page: the operation's answer; the same shape as ``Pages``."""

    def __init__(
        self, calls: Any, source: dict[str, Any], operation: str, arguments: Any, results_position: str | None
    ) -> None:
        if arguments is not None and not isinstance(arguments, dict):
            raise BadRequest("sourceConfig.arguments must be an object of the operation's arguments")
        self.calls = calls
        self.source = source
        self.operation = operation
        self.arguments = arguments or {}
        self.results_position = results_position
        self.stop_reason: str | None = None
        self.pages_fetched = 0
        self.records = 0

    def close(self) -> None:
        """Nothing is held open between pages (``Pages.close``'s twin)."""

    def __next__(self) -> Page:
        if self.pages_fetched:
            raise StopIteration
        self.pages_fetched = 1
        data = call_operation(self.calls, self.source, self.operation, self.arguments)
        records, where = find_records(data, self.results_position)
        self.stop_reason = "single answer"
        self.records = len(records)
        if not records:
            raise StopIteration
        return Page(
            number=1,
            records=records,
            raw=data,
            url=self.operation,
            where=f"{where} of the {self.operation} answer",
            fingerprint=content_hash(records),
            stop_reason=self.stop_reason,
        )
