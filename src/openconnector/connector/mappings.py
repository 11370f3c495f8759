"""Mappings as the application uses them: sub-mappings looked up in the register,
``callSource`` wired to stored sources, dates in the configured timezone, the
instance's work limits, and the "Test mapping" action (``POST /api/mappings/test``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..context import Context, get_context
from ..errors import BadRequest
from ..register.objects import ObjectService
from .entities import EntityService
from .mapping import MappingService as BaseMappingService
from .mapping import WorkLimits

T = TypeVar("T")

#: Mapping tests run here, at most two at a time, whoever asks: a user testing a
#: heavy mapping (or many at once) waits for these threads instead of taking the
#: server's request threads, so other users' requests keep theirs.
_TEST_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mapping-test")


async def in_test_pool(fn: Callable[[], T]) -> T:
    """Run ``fn`` (a mapping test) in the bounded mapping-test pool, off the event loop."""
    return await asyncio.wrap_future(_TEST_POOL.submit(fn))


def work_limits(context: Context) -> WorkLimits:
    settings = context.settings
    return WorkLimits(seconds=settings.mapping_seconds, max_output=settings.mapping_max_output)


def _twig_env(timezone: str) -> Any:
    from ..twig import Environment

    return Environment(strict_variables=False, autoescape="html", timezone=timezone)


class MappingService(BaseMappingService):
    """``execute_mapping`` with the running instance's mappings and sources at hand::

    MappingService().execute_mapping(mapping, {"name": "Bella", "category": {"name": "Dogs"}})
    """

    def __init__(self, context: Context | None = None, **options: Any) -> None:
        self.context = context or get_context()
        self._mappings = EntityService("mapping", self.context)
        options.setdefault("mapping_resolver", self._mappings.get)
        options.setdefault("source_caller", self._call_source)
        if "twig_env" not in options:
            options["twig_env"] = _twig_env(self.context.settings.timezone)
        options.setdefault("limits", work_limits(self.context))
        super().__init__(**options)

    def execute_mapping(self, mapping: Any, input: Any, list: bool = False) -> Any:
        """Accepts a mapping object or a reference (id, uuid, slug) to a stored one."""
        if not isinstance(mapping, dict):
            mapping = self._mappings.get(mapping)
        return super().execute_mapping(mapping, input, list=list)

    def _call_source(
        self, source_id: Any, endpoint: str, method: str = "GET", configuration: Any = None
    ) -> str:
        from .sources import CallService

        calls = CallService(self.context)
        try:
            source = calls.resolve(source_id)
            location = source.get("location") or ""
            if location and endpoint.startswith(location):
                endpoint = endpoint[len(location) :]
            return calls.call(source, endpoint, method, config=configuration or None).body
        finally:
            calls.close()


class MappingTester:
    """``POST /api/mappings/test``: run a mapping on a sample and optionally validate the result."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.mappings = MappingService(self.context)

    def test(self, mapping: Any, input: Any, schema: Any = None, register: Any = None) -> dict[str, Any]:
        if not isinstance(mapping, dict):
            raise BadRequest(
                'mapping must be a mapping object, e.g. {"mapping": {"title": "{{ name }}"}}',
                parameter="mapping",
            )
        if "mapping" not in mapping or not isinstance(mapping.get("mapping"), dict):
            mapping = {"name": mapping.get("name", "test"), "mapping": mapping}  # bare rules are accepted too
        if not isinstance(input, dict | list):
            raise BadRequest("inputObject must be a JSON object", parameter="inputObject")
        result = self.mappings.execute_mapping(mapping, input)
        errors: list[dict[str, Any]] = []
        if schema not in (None, "", 0):
            objects = ObjectService(self.context)
            registers = objects.registers
            sch = registers.get_schema(schema)
            validator = registers.validator(sch)
            data = dict(result) if isinstance(result, dict) else {}
            validator.normalise(data)
            errors = validator.errors(data)
        return {
            "resultObject": result,
            "isValid": not errors,
            "validationErrors": errors,
            "warnings": missing_variables(mapping, input),
        }


def missing_variables(mapping: dict[str, Any], input: Any) -> list[dict[str, Any]]:
    """Warnings for template reads the input cannot satisfy: ``{{ nmae }}`` renders as ""
    without a word, so the test says ``title reads nmae, which the input does not have``."""
    from ..twig.errors import Error as TwigError
    from ..twig.variables import read_paths

    warnings: list[dict[str, Any]] = []
    for key, value in (mapping.get("mapping") or {}).items():
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            continue
        try:
            paths = read_paths(value)
        except TwigError:
            continue  # a syntax error is reported as an error, not as a warning
        for path in paths:
            missing = _first_missing(input, path)
            if missing is not None:
                warnings.append(
                    {
                        "property": str(key),
                        "variable": path,
                        "message": f"{key} reads {path}, which the input does not have"
                        + (f" (no {missing})" if missing != path else ""),
                    }
                )
    return warnings


def _first_missing(data: Any, path: str) -> str | None:
    """The shortest prefix of ``path`` that ``data`` lacks, or None when all of it is there.

    A key holding null counts as present (as the mapping engine treats it)."""
    current = data
    parts = path.split(".")
    for i, part in enumerate(parts):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict | list) or current is None or i == 0:
            return ".".join(parts[: i + 1])
        else:
            return None  # an attribute of a scalar (e.g. a string's length): not a field read
    return None
