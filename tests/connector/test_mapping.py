"""MappingService: rules, typed copies, unset, list mode, ``#`` root, caching, errors.

Rendering through the real Twig engine is in ``test_mapping_twig.py``; here a
template is either a plain ``{{ path }}`` print (handled without the engine) or
goes to a small stand-in environment that records what it was asked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openconnector.connector.mapping import CompiledMapping, MappingError, MappingService
from openconnector.errors import BadRequest

CASES = json.loads((Path(__file__).parent / "data" / "mapping_cases.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[case["it"] for case in CASES])
def test_mapping_case(case: dict[str, Any]) -> None:
    result = MappingService().execute_mapping(
        {"name": "case", **case["mapping"]}, case["input"], list=case.get("list", False)
    )
    assert result == case["expect"]


def test_a_template_printing_one_field_gives_its_value() -> None:
    assert MappingService().execute_mapping({"mapping": {"title": "{{ name }}"}}, {"name": "Bella"}) == {
        "title": "Bella"
    }


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ category.name }}", "Dogs"),
        ("{{category.name}}", "Dogs"),
        ("{{- tags.1 -}}", "b"),
        ("{{ id }}", "7"),
        ("{{ flag }}", "1"),
        ("{{ off }}", ""),
        ("{{ nothing }}", ""),
        ("{{ unknown }}", ""),
        ("{{ unknown.deeper }}", ""),
        ("{{ name.length }}", ""),
        ("{{ html }}", "<img src=x onerror=alert(1)>"),
        ("{{ entity }}", "A &amp; B"),
    ],
)
def test_a_plain_print_renders_a_string_without_the_engine(template: str, expected: str) -> None:
    record = {
        "id": 7,
        "name": "Bella",
        "flag": True,
        "off": False,
        "nothing": None,
        "category": {"name": "Dogs"},
        "tags": ["a", "b"],
        "html": "<img src=x onerror=alert(1)>",
        "entity": "A &amp; B",
    }
    service = MappingService(twig_env=ExplodingEnvironment())
    assert service.execute_mapping({"mapping": {"out": template}}, record) == {"out": expected}


def test_html_in_data_comes_out_unchanged_when_copied_by_path() -> None:
    record = {"bio": "<img src=x onerror=alert(1)>"}
    assert MappingService().execute_mapping({"mapping": {"bio": "bio"}}, record) == record


def test_the_output_shares_nothing_with_the_input_or_the_mapping() -> None:
    record = {"category": {"name": "Dogs"}, "tags": ["a"]}
    mapping = {
        "mapping": {"category": "category", "tags": "tags", "fixed": {"list": [1]}},
        "passThrough": True,
    }
    service = MappingService()
    first = service.execute_mapping(mapping, record)
    first["category"]["name"] = "Cats"
    first["tags"].append("b")
    first["fixed"]["list"].append(2)
    assert record == {"category": {"name": "Dogs"}, "tags": ["a"]}
    assert service.execute_mapping(mapping, record)["fixed"] == {"list": [1]}


def test_unsetting_inside_a_copied_object_leaves_the_input_alone() -> None:
    record = {"meta": {"a": 1, "b": 2}}
    result = MappingService().execute_mapping({"mapping": {"m": "meta"}, "unset": ["m.a"]}, record)
    assert result == {"m": {"b": 2}}
    assert record == {"meta": {"a": 1, "b": 2}}


def test_compile_returns_the_same_compiled_mapping_for_the_same_content() -> None:
    service = MappingService()
    compiled = service.compile({"name": "m", "mapping": {"a": "b"}})
    assert isinstance(compiled, CompiledMapping)
    assert service.compile({"name": "m", "mapping": {"a": "b"}}) is compiled
    assert service.compile({"name": "m", "mapping": {"a": "c"}}) is not compiled


def test_a_changed_mapping_is_recompiled_even_when_it_is_the_same_object() -> None:
    service = MappingService()
    mapping: dict[str, Any] = {"mapping": {"a": "x"}}
    assert service.execute_mapping(mapping, {"x": 1}) == {"a": 1}
    mapping["mapping"]["a"] = "y"
    assert service.execute_mapping(mapping, {"y": 2}) == {"a": 2}


def test_a_compiled_mapping_is_callable_per_record() -> None:
    compiled = MappingService().compile({"mapping": {"n": "name"}})
    assert [compiled(record) for record in ({"name": "a"}, {"name": "b"})] == [{"n": "a"}, {"n": "b"}]
    assert compiled.apply_list([{"name": "c"}]) == [{"n": "c"}]


def test_a_mapping_object_with_to_dict_is_accepted() -> None:
    class StoredMapping:
        def to_dict(self) -> dict[str, Any]:
            return {"name": "stored", "mapping": {"n": "name"}}

    assert MappingService().execute_mapping(StoredMapping(), {"name": "x"}) == {"n": "x"}  # type: ignore[arg-type]


# --------------------------------------------------------------------------- with a stand-in Twig


class RecordingTemplate:
    def __init__(self, source: str, env: RecordingEnvironment) -> None:
        self.source = source
        self.env = env

    def render(self, context: dict[str, Any]) -> str:
        self.env.rendered.append((self.source, context))
        return self.env.output


class RecordingEnvironment:
    """Answers every template with ``output``; remembers templates and contexts."""

    def __init__(self, output: str = "") -> None:
        self.output = output
        self.compiled: list[str] = []
        self.rendered: list[tuple[str, dict[str, Any]]] = []
        self.functions: dict[str, Any] = {}

    def from_string(self, source: str) -> RecordingTemplate:
        self.compiled.append(source)
        return RecordingTemplate(source, self)

    def add_function(self, name: str, function: Any) -> None:
        self.functions[name] = function


class ExplodingEnvironment(RecordingEnvironment):
    def from_string(self, source: str) -> RecordingTemplate:
        raise AssertionError(f"the engine was asked to compile {source!r}")


class FailingEnvironment(RecordingEnvironment):
    def from_string(self, source: str) -> RecordingTemplate:
        raise SyntaxError(
            'Unexpected token "end of template" of value "" in "__string_template__" at line 1.'
        )


def test_templates_are_compiled_once_and_rendered_per_record() -> None:
    env = RecordingEnvironment("out")
    compiled = MappingService(twig_env=env).compile({"mapping": {"a": "{{ name|upper }}"}})
    records = [{"name": "a"}, {"name": "b"}]
    assert [compiled(record) for record in records] == [{"a": "out"}, {"a": "out"}]
    assert env.compiled == ["{{ name|upper }}"]
    assert [context for _, context in env.rendered] == records


def test_rendered_output_is_html_entity_decoded_once() -> None:
    env = RecordingEnvironment("&lt;img src=x onerror=alert(1)&gt; &amp;amp; &#039;")
    result = MappingService(twig_env=env).execute_mapping({"mapping": {"a": "{{ x|e }}"}}, {})
    assert result == {"a": "<img src=x onerror=alert(1)> &amp; '"}


def test_the_service_registers_execute_mapping_and_call_source_for_twig() -> None:
    env = RecordingEnvironment()
    MappingService(twig_env=env).execute_mapping({"mapping": {"a": "{{ x|e }}"}}, {})
    assert {"executeMapping", "callSource"} <= set(env.functions)


def test_a_template_error_is_a_mapping_error_naming_mapping_key_and_value() -> None:
    service = MappingService(twig_env=FailingEnvironment())
    with pytest.raises(MappingError) as caught:
        service.execute_mapping({"name": "Pets", "mapping": {"title": "{{ name "}}, {"name": "x"})
    error = caught.value
    assert str(error) == (
        'Error for mapping: Pets, key: title, value: {{ name  and with message thrown: Unexpected token "end of '
        'template" of value "" in "__string_template__" at line 1.'
    )
    assert (error.mapping_name, error.key, error.value) == ("Pets", "title", "{{ name ")
    assert isinstance(error, BadRequest) and error.status == 400
    assert error.to_dict() == {"error": "Mapping error", "message": str(error)}


def test_execute_mapping_function_runs_an_inline_mapping() -> None:
    env = RecordingEnvironment()
    service = MappingService(twig_env=env)
    service.execute_mapping({"mapping": {"a": "{{ x|e }}"}}, {})
    run = env.functions["executeMapping"]
    assert run({"mapping": {"n": "name"}}, {"name": "a"}) == {"n": "a"}
    assert run({"mapping": {"n": "name"}}, [{"name": "a"}], True) == [{"n": "a"}]


def test_execute_mapping_function_looks_up_a_mapping_by_reference() -> None:
    stored = {"pet": {"name": "pet", "mapping": {"n": "name"}}}
    service = MappingService(mapping_resolver=stored.__getitem__)
    assert service.twig_execute_mapping("pet", {"name": "a"}) == {"n": "a"}


def test_execute_mapping_function_without_a_resolver_says_so() -> None:
    with pytest.raises(LookupError, match="cannot look up mapping 2: no mapping resolver is configured"):
        MappingService().twig_execute_mapping(2, {})


class LoopEnvironment(RecordingEnvironment):
    """Each template calls ``executeMapping('loop', {})``: a mapping that runs itself."""

    def from_string(self, source: str) -> Any:
        env = self

        class Template:
            def render(self, context: dict[str, Any]) -> str:
                return str(env.functions["executeMapping"]("loop", {}))

        return Template()


def test_execute_mapping_function_stops_a_mapping_that_calls_itself() -> None:
    loop = {"name": "loop", "mapping": {"a": "{{ executeMapping('loop', {}) }}"}}
    service = MappingService(twig_env=LoopEnvironment(), mapping_resolver=lambda ref: loop)
    with pytest.raises(
        MappingError, match="executeMapping nested more than 32 deep; does a mapping call itself"
    ):
        service.execute_mapping(loop, {})


def test_call_source_function_delegates_to_the_source_caller() -> None:
    calls: list[tuple[Any, ...]] = []

    def caller(source: Any, endpoint: str, method: str, configuration: dict[str, Any]) -> str:
        calls.append((source, endpoint, method, configuration))
        return '{"ok": true}'

    service = MappingService(source_caller=caller)
    assert service.twig_call_source(3, "/pets") == '{"ok": true}'
    assert service.twig_call_source("uuid", "/pets", "POST", {"json": {}}) == '{"ok": true}'
    assert calls == [(3, "/pets", "GET", {}), ("uuid", "/pets", "POST", {"json": {}})]


def test_call_source_function_without_a_source_caller_says_so() -> None:
    with pytest.raises(LookupError, match="callSource is not available: no source caller is configured"):
        MappingService().twig_call_source(1, "/x")
