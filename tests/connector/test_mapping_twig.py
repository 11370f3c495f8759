"""MappingService with the real Twig engine: the tutorial, sub-mappings, escaping, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

twig = pytest.importorskip("openconnector.twig")
if not hasattr(twig, "Environment"):
    pytest.skip("openconnector.twig has no Environment yet", allow_module_level=True)

from openconnector.connector.casts import html_entity_decode  # noqa: E402
from openconnector.connector.mapping import MappingError, MappingService  # noqa: E402

PET = {"id": 7, "name": "Bella", "status": "available", "category": {"name": "Dogs"}}
TUTORIAL = {
    "name": "Pet to dataset",
    "mapping": {
        "title": "{{ name }}",
        "category": "{{ category.name }}",
        "status": "Published",
        "publicatiedatum": '{{ "now"|date("Y-m-d H:i:s") }}',
    },
}


def run(rules: dict[str, Any], record: Any, **mapping: Any) -> Any:
    return MappingService().execute_mapping({"name": "test", "mapping": rules, **mapping}, record)


def test_the_tutorial_mapping_turns_a_pet_into_a_published_dataset() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    result = MappingService(timezone="UTC").execute_mapping(TUTORIAL, PET)
    after = datetime.now(UTC)
    assert {k: v for k, v in result.items() if k != "publicatiedatum"} == {
        "title": "Bella",
        "category": "Dogs",
        "status": "Published",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", result["publicatiedatum"])
    published = datetime.strptime(result["publicatiedatum"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= published <= after + timedelta(seconds=1)


def test_the_tutorial_test_call_maps_a_name_to_a_title() -> None:
    assert run({"title": "{{ name }}"}, {"name": "Bella"}) == {"title": "Bella"}


@pytest.mark.parametrize(
    "template, expected",
    [
        ("{{ name|upper }} ({{ id }})", "BELLA (7)"),
        ("{{ missing }}", ""),
        ("{{ missing ~ 'x' }}", "x"),
        ("{{ true }}|{{ false }}|{{ null }}", "1||"),
        ("{{ category.name|lower }}", "dogs"),
        ("{% if status == 'available' %}yes{% else %}no{% endif %}", "yes"),
        ("{{ name }} the {{ category.name|lower }}", "Bella the dogs"),
        ("Hello {{ name }}!", "Hello Bella!"),
        ("{{ name|lower }}.profile", "bella.profile"),
    ],
)
def test_templates_render_to_strings_with_the_record_as_context(template: str, expected: str) -> None:
    assert run({"out": template}, PET) == {"out": expected}


def test_html_in_data_comes_out_unchanged_through_filters() -> None:
    record = {"bio": "<img src=x onerror=alert(1)>", "quote": 'It\'s "fine" & good'}
    result = run({"a": "{{ bio|trim }}", "b": "{{ quote|lower }}", "c": "<b>{{ bio }}</b>"}, record)
    assert result == {
        "a": "<img src=x onerror=alert(1)>",
        "b": 'it\'s "fine" & good',
        "c": "<b><img src=x onerror=alert(1)></b>",
    }


def test_entities_in_data_survive_a_normal_print_but_raw_output_is_decoded_as_in_the_original() -> None:
    record = {"entity": "A &amp; B"}
    assert run({"a": "{{ entity|trim }}", "b": "{{ entity|raw }}"}, record) == {
        "a": "A &amp; B",
        "b": "A & B",
    }


@pytest.mark.parametrize(
    "value",
    ["plain", "<b>&amp;</b>", "It's", "", 0, 42, -3, True, False, None, "é ü 😀", "a\nb"],
)
@pytest.mark.parametrize("template", ["{{ value }}", "{{ nested.value }}", "{{ items.0 }}", "{{value}}"])
def test_the_plain_print_shortcut_agrees_with_the_engine(template: str, value: Any) -> None:
    record = {"value": value, "nested": {"value": value}, "items": [value]}
    env = twig.Environment(strict_variables=False, autoescape="html", timezone="UTC")
    engine = html_entity_decode(env.from_string(template).render(dict(record)))
    assert run({"out": template}, record) == {"out": engine}


def test_execute_mapping_runs_an_inline_sub_mapping() -> None:
    rules = {
        "owner": "{{ executeMapping({'mapping': {'name': 'owner.name', 'id': 'owner.id'}}, _context)|json_encode }}"
    }
    result = run(rules, {"owner": {"name": "Ann", "id": 3}}, cast={"owner": "jsonToArray"})
    assert result == {"owner": {"name": "Ann", "id": 3}}


def test_execute_mapping_runs_a_stored_sub_mapping_by_reference_in_list_mode() -> None:
    stored = {"tag": {"name": "tag", "mapping": {"label": "name"}}}
    service = MappingService(mapping_resolver=stored.__getitem__)
    mapping = {
        "name": "pet",
        "mapping": {"tags": "{{ executeMapping('tag', tags, true)|json_encode }}"},
        "cast": {"tags": "jsonToArray"},
    }
    result = service.execute_mapping(mapping, {"tags": [{"name": "a"}, {"name": "b"}]})
    assert result == {"tags": [{"label": "a"}, {"label": "b"}]}


def test_call_source_returns_the_body_of_a_source_call() -> None:
    def caller(source: Any, endpoint: str, method: str, configuration: dict[str, Any]) -> str:
        return f'{{"source": {source}, "endpoint": "{endpoint}", "method": "{method}"}}'

    service = MappingService(source_caller=caller)
    mapping = {"mapping": {"remote": "{{ callSource(2, '/pets/' ~ id) }}"}, "cast": {"remote": "jsonToArray"}}
    assert service.execute_mapping(mapping, {"id": 7}) == {
        "remote": {"source": 2, "endpoint": "/pets/7", "method": "GET"}
    }


def test_call_source_without_a_caller_is_a_mapping_error_that_says_so() -> None:
    with pytest.raises(MappingError, match="callSource is not available: no source caller is configured"):
        run({"remote": "{{ callSource(2, '/pets') }}"}, {})


def test_a_twig_syntax_error_is_a_mapping_error_with_the_original_message_shape() -> None:
    with pytest.raises(MappingError) as caught:
        MappingService().execute_mapping({"name": "Pets", "mapping": {"title": "{{ name "}}, {"name": "x"})
    message = str(caught.value)
    assert message.startswith(
        "Error for mapping: Pets, key: title, value: {{ name  and with message thrown: "
    )
    assert len(message) > len(
        "Error for mapping: Pets, key: title, value: {{ name  and with message thrown: "
    )
    assert caught.value.to_dict()["error"] == "Mapping error"


def test_a_template_error_is_raised_for_every_record_not_only_the_first() -> None:
    compiled = MappingService().compile({"name": "Pets", "mapping": {"title": "{% if %}"}})
    for _ in range(2):
        with pytest.raises(MappingError):
            compiled({"name": "x"})


def test_a_set_tag_in_a_template_does_not_change_the_record() -> None:
    record = {"name": "Bella"}
    assert run({"a": "{% set name = 'x' %}{{ name }}", "b": "{{ name }}"}, record) == {"a": "x", "b": "Bella"}
    assert record == {"name": "Bella"}


def test_the_now_date_shortcut_agrees_with_the_engine() -> None:
    from openconnector.context import configured_timezone

    env = twig.Environment(strict_variables=False, autoescape="html", timezone=configured_timezone())
    fmt = "D, d M Y H:i:s e T P"
    for template in (f'{{{{ "now"|date("{fmt}") }}}}', f"{{{{ 'now' | date('{fmt}') }}}}"):
        for _ in range(3):
            engine = env.from_string(template).render({})
            ours = run({"d": template}, {})["d"]
            if ours == engine:
                break
        assert ours == engine


def test_a_now_date_with_microseconds_is_rendered_by_the_engine_every_time() -> None:
    compiled = MappingService().compile({"mapping": {"d": '{{ "now"|date("H:i:s.u") }}'}})
    assert len({compiled({})["d"] for _ in range(5)}) > 1


def test_the_now_date_shortcut_uses_the_timezone_of_the_given_environment() -> None:
    env = twig.Environment(strict_variables=False, autoescape="html", timezone="Europe/Amsterdam")
    result = MappingService(twig_env=env).execute_mapping({"mapping": {"d": '{{ "now"|date("e") }}'}}, {})
    assert result == {"d": "Europe/Amsterdam"}


def test_a_mapping_that_runs_itself_fails_with_one_short_message() -> None:
    loop = {"name": "loop", "mapping": {"a": "{{ executeMapping('loop', _context)|json_encode }}"}}
    service = MappingService(mapping_resolver=lambda ref: loop)
    with pytest.raises(MappingError) as caught:
        service.execute_mapping(loop, {})
    assert str(caught.value) == (
        "Error for mapping: loop, key: a, value: {{ executeMapping('loop', _context)|json_encode }} and with "
        "message thrown: executeMapping nested more than 32 deep; does a mapping call itself?"
    )


def test_an_error_in_a_sub_mapping_names_both_mappings() -> None:
    service = MappingService(mapping_resolver=lambda ref: {"name": "inner", "mapping": {"x": "{{ y }"}})
    with pytest.raises(MappingError) as caught:
        service.execute_mapping({"name": "outer", "mapping": {"a": "{{ executeMapping(2, _context) }}"}}, {})
    message = str(caught.value)
    assert message.startswith("Error for mapping: outer, key: a, value: {{ executeMapping(2, _context) }}")
    assert "Error for mapping: inner, key: x, value: {{ y } and with message thrown: " in message
