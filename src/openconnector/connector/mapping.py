"""The mapping engine: reshape one record (or a list of records) with a Mapping object.

A Mapping is ``{"name", "mapping": {targetKey: rule}, "unset": [...], "cast":
{targetKey: casts}, "passThrough": bool}``. Running it on a record::

    >>> service = MappingService()
    >>> service.execute_mapping(
    ...     {"name": "Pet", "mapping": {"title": "{{ name }}", "id": "id", "kind": "Pet"}},
    ...     {"id": 7, "name": "Bella"},
    ... )
    {'title': 'Bella', 'id': 7, 'kind': 'Pet'}

The semantics are the original's (OpenConnector ``MappingService::executeMapping``),
because production mappings depend on them:

1. ``passThrough`` true: the output starts as a copy of the input, else empty.
2. Each rule, in order. A rule that names an existing dot path in the input
   (``"id"``, ``"category.name"``, ``"tags.0"``) copies that value *with its
   type*. A rule that is an object or list is stored literally. Anything else
   is a Twig template rendered with the input as context, giving a string
   (see :meth:`CompiledMapping.apply` for escaping). A plain path that is not
   found therefore renders as its own text: ``"email": "user.email"`` gives
   ``"user.email"``; production mappings pair that with the cast
   ``unsetIfValue==user.email``. Dotted target keys create nesting.
3. ``unset``: each dot path is deleted.
4. ``cast``: per key, casts applied left to right (:mod:`.casts`).
5. An output whose only key is ``#`` becomes that value (a list or object;
   a scalar is wrapped in a list, ``null`` gives ``[]``).

Input keys that contain a dot stay single keys: ``category.name`` never reads
``{"category.name": ...}``; write ``category&#46;name`` for that.

Where the original is undefined or PHP-specific we chose, on purpose:

* numbers, booleans and ``null`` as rule values are typed literals (PHP would
  render ``5`` as the string ``"5"`` and fail on ``null``);
* the output never shares containers with the input or the mapping (PHP arrays
  are values), so callers may mutate results freely;
* unsetting list elements (``tags.0``) gives a shorter list, not PHP's
  object with the remaining indexes (``{"1": ...}``); indexes stay stable
  while a phase runs, so ``["tags.0", "tags.2"]`` removes the first and third;
* input keys that literally contain ``&#46;`` keep it (PHP decodes it to a dot
  on output, a side effect of its key protection);
* errors from casts that PHP would throw on (``url`` of an array) are
  :class:`MappingError` with the cast as *value*, like template errors;
* ``executeMapping`` nested more than 32 deep is reported as a loop.

Synchronisations map hundreds of thousands of records with one mapping, so
:meth:`MappingService.compile` turns a mapping into a :class:`CompiledMapping`
once (paths split, casts parsed, Twig templates compiled on first use) and
caches it by content; :meth:`MappingService.execute_mapping` uses that cache.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from openconnector.connector import casts as _casts
from openconnector.connector import paths
from openconnector.errors import BadRequest
from openconnector.twig.runtime import deadline as _twig_deadline

__all__ = ["CompiledMapping", "MappingError", "MappingService", "WorkLimits"]

_MISSING: Final = paths.MISSING
_CONTAINERS: Final = (dict, list)
_List: Final = list  # ``list`` is also a parameter name (the original's), so keep the type at hand
_MAX_DEPTH: Final = 32
"""How deep ``executeMapping`` may nest mappings before we call it a loop."""


class MappingError(BadRequest):
    """A rule's template or a cast failed; names the mapping, key and rule.

    The message has the original's shape, which users and the UI know:
    ``Error for mapping: <name>, key: <key>, value: <rule> and with message thrown: <reason>``.
    For a cast the *value* is the cast (``url``), for a template the template.
    """

    error = "Mapping error"

    def __init__(self, mapping_name: str, key: str, value: Any, reason: str) -> None:
        self.mapping_name = mapping_name
        self.key = key
        self.value = value
        self.reason = reason
        shown = _casts.php_string(value)
        super().__init__(
            f"Error for mapping: {mapping_name}, key: {key}, value: {shown} and with message thrown: {reason}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message}


# --------------------------------------------------------------------------- work limits


@dataclass(frozen=True)
class WorkLimits:
    """What mapping one record may cost, all its keys and sub-mappings together.

    The Twig sandbox bounds each template (iterations, output, nesting); these
    bound the record: a mapping of a hundred keys that each render 10 MB, or a
    sub-mapping chain that loops for minutes, is stopped and named. Set with
    ``OPENCONNECTOR_MAPPING_SECONDS`` and ``OPENCONNECTOR_MAPPING_MAX_OUTPUT``.
    """

    seconds: float = 5.0
    """Wall-clock seconds one record's mapping may take."""
    max_output: int = 10_000_000
    """Characters the templates of one record may produce, all keys together."""

    @functools.cached_property
    def time_message(self) -> str:
        return (
            f"The mapping exceeded the work limit of {self.seconds:g} seconds per record "
            "(OPENCONNECTOR_MAPPING_SECONDS)"
        )

    @functools.cached_property
    def output_message(self) -> str:
        return (
            f"The mapping produced more than the work limit of {self.max_output} characters per record "
            "across its keys (OPENCONNECTOR_MAPPING_MAX_OUTPUT)"
        )


class _Budget:
    """One record's spending against :class:`WorkLimits` (shared by its sub-mappings)."""

    __slots__ = ("limits", "deadline", "chars")

    def __init__(self, limits: WorkLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.chars = 0


_budget = threading.local()
_DEFAULT_LIMITS = WorkLimits()


# --------------------------------------------------------------------------- templates

_TWIG_SYNTAX: Final = re.compile(r"\{[{%#]")
# ``{{ name }}`` / ``{{ category.name }}`` / ``{{ tags.0 }}``: printed without the
# Twig engine when the value found is a string, int, bool or null (see _FastPrint).
_PLAIN_PRINT: Final = re.compile(
    r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+))*)\s*-?\}\}"
)
# ``{{ "now"|date("Y-m-d H:i:s") }}``, the usual publication date: formatted
# without the engine and reused within the same second (see _now_formatter).
_NOW_DATE: Final = re.compile(r"""\{\{-?\s*(["'])now\1\s*\|\s*date\(\s*(["'])([^"'\\#]*)\2\s*\)\s*-?\}\}""")
# Words a lone name cannot be in Twig: constants, special variables, operators.
_NOT_VARIABLES: Final = frozenset(
    [
        "true",
        "false",
        "null",
        "none",
        "_self",
        "_context",
        "_charset",
        "not",
        "and",
        "or",
        "xor",
        "in",
        "is",
        "matches",
        "starts",
        "ends",
        "has",
        "same",
    ]
)


def _plain_print_path(template: str) -> tuple[str, ...] | None:
    match = _PLAIN_PRINT.fullmatch(template)
    if match is None:
        return None
    segments = tuple(match.group(1).split("."))
    if segments[0].lower() in _NOT_VARIABLES:
        return None
    for first, second in zip(segments, segments[1:], strict=False):
        if first.isdigit() and second.isdigit():  # "a.0.1" lexes as a.(0.1) in Twig
            return None
    return segments


# --------------------------------------------------------------------------- rules


@dataclass(slots=True)
class _Rule:
    """One ``targetKey: value`` of a mapping, classified at compile time."""

    key: str
    target: tuple[str, ...]
    value: Any
    lookup: tuple[str, ...] | None  # dot path to try in the input first (strings only)
    kind: str  # "literal" | "text" | "print" | "now" | "template"
    constant: Any = None  # literal value, or the decoded text
    print_path: tuple[str, ...] = ()
    template: Any = None  # compiled Twig template, filled on first render


@dataclass(slots=True)
class _CastRule:
    key: str
    target: tuple[str, ...]
    spec: str
    casts: list[tuple[str, _casts.Cast]]


@dataclass(eq=False)
class CompiledMapping:
    """A mapping prepared for many records: ``compiled(record)`` maps one.

    Build it with :meth:`MappingService.compile`; it keeps a reference to the
    service for Twig rendering and sub-mappings.
    """

    name: str
    pass_through: bool
    rules: list[_Rule]
    unsets: list[tuple[str, ...]]
    cast_rules: list[_CastRule]
    unknown_casts: list[str] = field(default_factory=list)
    """Casts the engine ignores (as the original does); worth a warning in a UI."""
    _service: MappingService | None = field(default=None, repr=False)
    _holes_possible: bool = field(default=False, repr=False)
    _steps: list[tuple[str | None, tuple[str, ...], Callable[[Any, Any], Any]]] = field(
        default_factory=list, repr=False
    )

    def __post_init__(self) -> None:
        # One closure per rule, specialised at compile time: per record there is
        # no re-classifying, only the lookups the semantics require.
        self._steps = [
            (rule.target[0] if len(rule.target) == 1 else None, rule.target, self._resolver(rule))
            for rule in self.rules
        ]

    def apply(self, input: Any) -> dict[str, Any] | list[Any]:
        """Map one record.

        Template output is a string. Twig autoescapes it for HTML and the
        original then HTML-entity-decodes the result, so values come out raw:
        ``<img src=x onerror=alert(1)>`` in the data stays exactly that (escaping
        is the UI's job). The decode also hits entities that were not produced by
        escaping, which we copy on purpose: ``&amp;`` typed in a template's text,
        or printed with ``|raw``, comes out as ``&``; a value printed normally
        keeps its entities (``{{ name }}`` of ``"A &amp; B"`` is ``"A &amp; B"``).
        """
        if getattr(_budget, "current", None) is not None:  # a sub-mapping: the record's budget runs
            return self._apply(input)
        service = self._service
        limits = service.limits if service is not None else _DEFAULT_LIMITS
        budget = _budget.current = _Budget(limits)
        _twig_deadline.at, _twig_deadline.message = budget.deadline, limits.time_message
        try:
            return self._apply(input)
        finally:
            _budget.current = None
            _twig_deadline.at = 0.0

    __call__ = apply

    def _apply(self, input: Any) -> dict[str, Any] | list[Any]:
        output: Any = paths.clone(input) if self.pass_through else {}
        if type(output) is not dict and type(output) is not list:
            output = {}
        record = input if type(input) is dict else None
        for key, target, resolve in self._steps:
            if key is not None and type(output) is dict:
                output[key] = resolve(input, record)
            else:
                output = paths.set_value(output, target, resolve(input, record))
        if self.unsets:
            holes = False
            for segments in self.unsets:
                if paths.delete(output, segments) and self._holes_possible:
                    holes = True
            if holes:
                paths.compact(output)
        if self.cast_rules:
            output = self._cast(output)
        if type(output) is dict and len(output) == 1 and "#" in output:
            root = output["#"]
            if root is None:
                return []
            return root if type(root) is dict or type(root) is list else [root]
        return output

    def apply_list(self, input: Any) -> dict[str, Any] | list[Any]:
        """Map each item of a list (the original's ``list=true``).

        ``{"listInput": [...], "extra": 1}`` maps each item of ``listInput`` with
        the other top-level keys (except ``value``) as extra values. An item that
        is not an object, and every item when there are extra values, becomes
        ``item ∪ {"value": item} ∪ extra`` (a scalar item lands under ``"0"`` as
        PHP's ``(array)`` puts it). A list gives a list; an object (``listInput``
        keyed by id) gives an object with the same keys, as PHP keeps them.
        """
        extra: dict[str, Any] = {}
        items = input
        if type(input) is dict and "listInput" in input:
            extra = {k: v for k, v in input.items() if k not in ("listInput", "value")}
            items = input["listInput"]
        if type(items) is dict:
            return {key: self.apply(self._list_item(item, extra)) for key, item in items.items()}
        if type(items) is list:
            return [self.apply(self._list_item(item, extra)) for item in items]
        return []

    @staticmethod
    def _list_item(item: Any, extra: dict[str, Any]) -> Any:
        if type(item) is dict and not extra:
            return item
        if type(item) is dict:
            base = dict(item)
        elif type(item) is list:
            base = {str(i): v for i, v in enumerate(item)}
        elif item is None:
            base = {}
        else:
            base = {"0": item}
        base["value"] = item
        base.update(extra)
        return base

    # -- internals -----------------------------------------------------------------

    def _resolver(self, rule: _Rule) -> Callable[[Any, Any], Any]:
        """``resolve(input, record)`` for one rule: the input's value at the rule's path, else the fallback.

        ``record`` is the input when it is a dict (the usual case), else ``None``.
        """
        fallback = self._fallback(rule)
        lookup = rule.lookup
        if lookup is None:
            return lambda input, record: fallback(record)
        if len(lookup) == 1:
            first = lookup[0]

            def resolve_key(input: Any, record: Any) -> Any:
                found = record.get(first, _MISSING) if record is not None else paths.get(input, lookup)
                if found is _MISSING:
                    return fallback(record)
                return paths.clone(found) if type(found) in _CONTAINERS else found

            return resolve_key

        def resolve_path(input: Any, record: Any) -> Any:
            found = paths.get(input, lookup)
            if found is _MISSING:
                return fallback(record)
            return paths.clone(found) if type(found) in _CONTAINERS else found

        return resolve_path

    def _fallback(self, rule: _Rule) -> Callable[[Any], Any]:
        """What a rule gives when its value is not a path in the input."""
        constant = rule.constant
        if rule.kind == "text":
            return lambda record: constant
        if rule.kind == "literal":
            if type(constant) in _CONTAINERS:
                return lambda record: paths.clone(constant)
            return lambda record: constant
        if rule.kind == "print":
            print_path = rule.print_path

            def print_or_render(record: Any) -> Any:
                printed = _print_value(record, print_path)
                return printed if printed is not None else self._render(rule, record)

            return print_or_render
        if rule.kind == "now":
            return self._now_formatter(rule)
        return lambda record: self._render(rule, record)

    def _now_formatter(self, rule: _Rule) -> Callable[[Any], Any]:
        """``{{ "now"|date(format) }}`` for formats without sub-second characters.

        Twig would parse ``"now"`` and format it for every record; the value only
        changes once a second, so it is formatted with the engine's own PHP date
        formatting in the engine's timezone and kept until the second changes.
        """
        format = rule.constant
        cache: list[Any] = [None, ""]
        zone: list[Any] = []

        def now_date(record: Any) -> str:
            now = time.time()
            second = int(now)
            if cache[0] == second:
                return cache[1]
            from openconnector.twig.dates import get_timezone, php_date_format

            if not zone:
                service = self._service
                env = service._twig() if service is not None else None
                zone.append(get_timezone(getattr(env, "timezone", "UTC")))
            text = _casts.html_entity_decode(php_date_format(datetime.fromtimestamp(now, zone[0]), format))
            cache[0], cache[1] = second, text
            return text

        return now_date

    def _render(self, rule: _Rule, record: dict[str, Any] | None) -> str:
        service = self._service
        if service is None:  # pragma: no cover - CompiledMapping is built by the service
            raise MappingError(self.name, rule.key, rule.value, "no MappingService to render Twig")
        try:
            if rule.template is None:
                rule.template = service._twig().from_string(rule.value)
            # The engine never modifies the context (it renders on its own copy).
            rendered = rule.template.render(record if record is not None else {})
        except MappingError as error:
            raise MappingError(self.name, rule.key, rule.value, error.message) from error
        except Exception as error:  # any template failure becomes a mapping error
            reason = _reason(error)
            loop = getattr(service._depth, "loop", None)
            if loop is not None and not getattr(service._depth, "value", 0):
                # A mapping that runs itself fails 32 levels down; report that once
                # at the top instead of 32 nested "exception thrown" wrappers.
                service._depth.loop = None
                reason = loop
            raise MappingError(self.name, rule.key, rule.value, reason) from error
        budget = getattr(_budget, "current", None)
        if budget is not None:
            # only templates can spend much: the limits are checked after each render
            budget.chars += len(rendered)
            if budget.chars > budget.limits.max_output:
                raise MappingError(self.name, rule.key, rule.value, budget.limits.output_message)
            if time.monotonic() > budget.deadline:
                raise MappingError(self.name, rule.key, rule.value, budget.limits.time_message)
        return _casts.html_entity_decode(rendered)

    def _cast(self, output: Any) -> Any:
        holes = False
        for rule in self.cast_rules:
            target = rule.target
            value = paths.get(output, target)
            if value is _MISSING:
                continue
            present = True
            for spec, cast in rule.casts:
                try:
                    value = cast(value, output)
                except (_casts.CastError, TypeError, ValueError, ArithmeticError) as error:
                    raise MappingError(self.name, rule.key, spec, str(error)) from error
                if value is _casts.DELETE:
                    value = None
                    if present:
                        present = False
                        if paths.delete(output, target) and self._holes_possible:
                            holes = True
                elif present:
                    if len(target) == 1 and type(output) is dict:
                        output[target[0]] = value
                    else:
                        output = paths.set_value(output, target, value)
        if holes:
            paths.compact(output)
        return output


#: Types Twig prints exactly as PHP's ``(string)`` does; the rest goes to the engine.
_PRINTED_AS_IS = frozenset({str, bool, int})


def _print_value(record: dict[str, Any] | None, segments: tuple[str, ...]) -> str | None:
    """``{{ a.b }}`` without the Twig engine, or ``None`` to let Twig do it.

    Twig prints a missing variable or attribute as ``""`` (non-strict), a string
    as itself (escaping then decoding is the identity), an int as digits, a
    bool as ``"1"``/``""``. Floats, arrays and objects go to the engine so its
    PHP formatting stays the single source of truth.
    """
    value: Any = record
    if value is None:
        return ""
    for segment in segments:
        kind = type(value)
        if kind is dict:
            value = value.get(segment)
        elif kind is list:
            position = paths.index(segment)
            value = value[position] if position is not None and position < len(value) else None
        else:
            return ""
        if value is None:
            return ""
    return _casts.php_string(value) if type(value) in _PRINTED_AS_IS else None


def _reason(error: BaseException) -> str:
    text = str(error)
    return text if text else type(error).__name__


# --------------------------------------------------------------------------- the service


class MappingService:
    """Runs mappings; registers ``executeMapping`` and ``callSource`` for Twig.

    ``mapping_resolver(ref)`` turns an id, uuid, slug or reference URL into a
    mapping object (the storage layer supplies it); ``source_caller(source_id,
    endpoint, method, configuration)`` performs a source call and returns the
    response body (the CallService supplies it). Both are optional: templates
    that need them fail with a clear error when they are missing.
    """

    def __init__(
        self,
        *,
        twig_env: Any = None,
        mapping_resolver: Callable[[Any], Mapping[str, Any]] | None = None,
        source_caller: Callable[..., str] | None = None,
        cache_size: int = 256,
        limits: WorkLimits | None = None,
        timezone: str | None = None,
    ) -> None:
        self.limits = limits or WorkLimits()
        self.mapping_resolver = mapping_resolver
        #: Where dates without a zone (Twig's ``"now"``) are read and shown; default the
        #: instance's (``OPENCONNECTOR_TIMEZONE``), as everywhere else.
        self.timezone = timezone
        self.source_caller = source_caller
        self._env = twig_env
        self._env_ready = False
        self._cache: OrderedDict[bytes, CompiledMapping] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._depth = threading.local()
        self._last: tuple[dict[str, Any], dict[str, Any], CompiledMapping] | None = None

    # -- public API ----------------------------------------------------------------

    def execute_mapping(
        self, mapping: Mapping[str, Any], input: dict[str, Any] | list[Any], list: bool = False
    ) -> dict[str, Any] | list[Any]:
        """Map ``input`` with ``mapping``; with ``list=True`` map each item (see :meth:`CompiledMapping.apply_list`).

        Compiles (cached by content) and applies. For many records, call
        :meth:`compile` once and the compiled mapping per record instead.
        """
        compiled = self.compile(mapping)
        return compiled.apply_list(input) if list else compiled.apply(input)

    def compile(self, mapping: Mapping[str, Any]) -> CompiledMapping:
        """Prepare ``mapping`` for repeated use; the same content gives the same object."""
        mapping = _as_dict(mapping)
        last = self._last
        if last is not None and last[0] is mapping and last[1] == mapping:
            return last[2]  # the same, unchanged mapping object as the previous call
        try:
            key = orjson.dumps(mapping, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            key = repr(mapping).encode()
        with self._lock:
            compiled = self._cache.get(key)
            if compiled is not None:
                self._cache.move_to_end(key)
        if compiled is None:
            compiled = self._compile(mapping)
            with self._lock:
                self._cache[key] = compiled
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        self._last = (mapping, paths.clone(mapping), compiled)
        return compiled

    def resolve(self, reference: Any) -> dict[str, Any]:
        """The mapping object for an id, uuid, slug or reference, via ``mapping_resolver``."""
        if self.mapping_resolver is None:
            raise LookupError(f"cannot look up mapping {reference!r}: no mapping resolver is configured")
        return _as_dict(self.mapping_resolver(reference))

    # -- Twig functions --------------------------------------------------------------

    def twig_execute_mapping(self, mapping: Any, input: Any, list: bool = False) -> Any:
        """Twig ``executeMapping(mapping, input, list=false)``: inline object or reference."""
        if not isinstance(input, (dict, _List)):
            raise TypeError(
                f"executeMapping needs an object or a list as input, got {_casts._php_type(input)}"
            )
        definition = mapping if isinstance(mapping, Mapping) else self.resolve(mapping)
        depth = getattr(self._depth, "value", 0)
        if depth >= _MAX_DEPTH:
            self._depth.loop = (
                f"executeMapping nested more than {_MAX_DEPTH} deep; does a mapping call itself?"
            )
            raise RecursionError(self._depth.loop)
        self._depth.value = depth + 1
        try:
            return self.execute_mapping(definition, input, list=bool(list))
        finally:
            self._depth.value = depth

    def twig_call_source(
        self, source_id: Any, endpoint: str, method: str = "GET", configuration: Any = None
    ) -> str:
        """Twig ``callSource(sourceId, endpoint, method='GET', configuration={})``: the response body."""
        if self.source_caller is None:
            raise LookupError("callSource is not available: no source caller is configured")
        return self.source_caller(source_id, endpoint, method, configuration or {})

    # -- internals -----------------------------------------------------------------

    def _twig(self) -> Any:
        """The Twig environment, created on first use with our functions added."""
        if self._env_ready:
            return self._env
        with self._lock:
            if self._env is None:
                from openconnector.context import configured_timezone
                from openconnector.twig import Environment

                self._env = Environment(
                    strict_variables=False, autoescape="html", timezone=self.timezone or configured_timezone()
                )
            self._env.add_function("executeMapping", self.twig_execute_mapping)
            self._env.add_function("callSource", self.twig_call_source)
            self._env_ready = True
        return self._env

    def _compile(self, mapping: dict[str, Any]) -> CompiledMapping:
        name = _casts.php_string(mapping.get("name"))
        rules = [_compile_rule(str(key), value) for key, value in _as_object(mapping.get("mapping")).items()]
        unsets = [paths.split(_casts.php_string(path)) for path in _as_items(mapping.get("unset"))]
        cast_rules: list[_CastRule] = []
        unknown: list[str] = []
        for key, spec in _as_object(mapping.get("cast")).items():
            key = str(key)
            if spec is None:
                continue
            compiled, missing = _casts.compile_casts(key, spec if isinstance(spec, str) else _as_items(spec))
            unknown.extend(f"{key}: {item}" for item in missing)
            if compiled:
                cast_rules.append(_CastRule(key, paths.split(key), _casts.php_string(spec), compiled))
        holes_possible = any(
            paths.index(segment) is not None
            for segments in [*unsets, *(rule.target for rule in cast_rules)]
            for segment in segments
        )
        return CompiledMapping(
            name=name,
            pass_through=_truthy(mapping.get("passThrough")),
            rules=rules,
            unsets=unsets,
            cast_rules=cast_rules,
            unknown_casts=unknown,
            _service=self,
            _holes_possible=holes_possible,
        )


def _compile_rule(key: str, value: Any) -> _Rule:
    target = paths.split(key)
    if type(value) is not str:
        # Objects and lists are literals (original); so, by our choice, are numbers,
        # booleans and null, where PHP would have rendered them as strings.
        return _Rule(key, target, value, None, "literal", constant=value)
    lookup = paths.split(value)
    if _TWIG_SYNTAX.search(value) is None:
        # Twig would print text without tags verbatim; the decode still applies.
        return _Rule(key, target, value, lookup, "text", constant=_casts.html_entity_decode(value))
    now = _NOW_DATE.fullmatch(value)
    if now is not None and "u" not in now.group(3) and "v" not in now.group(3):
        return _Rule(key, target, value, lookup, "now", constant=now.group(3))
    print_path = _plain_print_path(value)
    if print_path is not None:
        return _Rule(key, target, value, lookup, "print", print_path=print_path)
    return _Rule(key, target, value, lookup, "template")


def _as_dict(mapping: Any) -> dict[str, Any]:
    if isinstance(mapping, dict):
        return mapping
    if isinstance(mapping, Mapping):
        return dict(mapping)
    for method in ("to_dict", "model_dump", "jsonSerialize"):
        if hasattr(mapping, method):
            return dict(getattr(mapping, method)())
    raise TypeError(f"a mapping must be an object, got {type(mapping).__name__}")


def _as_object(value: Any) -> dict[Any, Any]:
    """A stored ``mapping``/``cast`` field as a dict; PHP stores an empty one as ``[]``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        decoded = orjson.loads(value)
        return decoded if isinstance(decoded, dict) else {}
    return {}


def _as_items(value: Any) -> Iterable[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return value
    return [value]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)
