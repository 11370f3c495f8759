"""The public API: Environment, Template, render(), caching, errors and their messages."""

from __future__ import annotations

import threading

import pytest

import openconnector.twig as twig
from openconnector.twig import Environment, Error, LoaderError, RuntimeError, SyntaxError, render


def test_all_is_sorted_and_complete() -> None:
    assert twig.__all__ == sorted(twig.__all__)
    assert {
        "Environment",
        "Error",
        "LoaderError",
        "RuntimeError",
        "SyntaxError",
        "Template",
        "render",
    } <= set(twig.__all__)
    for name in twig.__all__:
        assert hasattr(twig, name)


def test_error_classes_are_our_own_and_share_a_base() -> None:
    import builtins

    for cls in (SyntaxError, RuntimeError, LoaderError):
        assert issubclass(cls, Error)
    assert SyntaxError is not builtins.SyntaxError and RuntimeError is not builtins.RuntimeError


def test_module_level_render_uses_options() -> None:
    assert render("{{ a ~ b }}", {"a": 1, "b": "<x>"}) == "1&lt;x&gt;"
    assert render("{{ b }}", {"b": "<x>"}, autoescape=False) == "<x>"
    with pytest.raises(RuntimeError):
        render("{{ nope }}", {}, strict_variables=True)


def test_templates_are_cached_by_source_and_name() -> None:
    env = Environment()
    a = env.from_string("{{ x }}")
    assert env.from_string("{{ x }}") is a
    assert env.from_string("{{ y }}") is not a
    assert env.from_string("{{ x }}", name="other.twig") is not a


def test_adding_a_filter_invalidates_the_cache() -> None:
    env = Environment()
    with pytest.raises(SyntaxError, match='Unknown "shout" filter'):
        env.from_string("{{ x|shout }}")
    env.add_filter("shout", lambda v: str(v).upper() + "!")
    assert env.from_string("{{ x|shout }}").render({"x": "hi"}) == "HI!"


def test_registered_functions_receive_positional_and_named_arguments() -> None:
    calls = []

    def execute_mapping(mapping, input, list=False):  # noqa: A002 - the connector's signature
        calls.append((mapping, input, list))
        return {"ok": 1}

    env = Environment()
    env.add_function("executeMapping", execute_mapping)
    out = env.from_string("{{ executeMapping('m', {a: 1}, list=true).ok }}").render({})
    assert out == "1" and calls == [("m", {"a": 1}, True)]
    with pytest.raises(SyntaxError, match='Unknown argument "nope" for function "executeMapping'):
        env.from_string("{{ executeMapping('m', {}, nope=1) }}")


def test_errors_from_registered_callables_become_twig_runtime_errors() -> None:
    env = Environment()
    env.add_function("boom", lambda: 1 / 0)
    with pytest.raises(
        RuntimeError,
        match=r"An exception has been thrown during the rendering of a template "
        r'\("division by zero"\) in "index.twig" at line 3\.',
    ):
        env.from_string("a\nb\n{{ boom() }}").render({})


@pytest.mark.parametrize(
    "source, cls, message",
    [
        ("{{ foo", SyntaxError, 'Unclosed "variable" in "index.twig" at line 1.'),
        (
            "{% if x %}",
            SyntaxError,
            'Unexpected end of template (unclosed "if" tag opened at line 1) in "index.twig" at line 1.',
        ),
        ("{% foo %}", SyntaxError, 'Unknown "foo" tag in "index.twig" at line 1.'),
        ("\n{{ x|nope }}", SyntaxError, 'Unknown "nope" filter in "index.twig" at line 2.'),
        ("{{ nope() }}", SyntaxError, 'Unknown "nope" function in "index.twig" at line 1.'),
        ("{{ x is nope }}", SyntaxError, 'Unknown "nope" test in "index.twig" at line 1.'),
        (
            "{{ 1 === 2 }}",
            SyntaxError,
            'Unexpected operator of value "=". Did you try to use "===" or "!==" for '
            'strict comparison? Use "is same as(value)" instead in "index.twig" at line 1.',
        ),
        (
            "{% for x in 1..3 %}{% endif %}",
            SyntaxError,
            'Unexpected "endif" tag (expecting closing tag for the "for" '
            'tag defined near line 1) in "index.twig" at line 1.',
        ),
        ("\n\n{{ 1 / 0 }}", RuntimeError, 'Division by zero in "index.twig" at line 3.'),
        (
            "{{ 'a' - 1 }}",
            RuntimeError,
            'Unsupported operand types: string - string in "index.twig" at line 1.',
        ),
        (
            "{{ include('x.twig') }}",
            LoaderError,
            'Template "x.twig" is not defined in "index.twig" at line 1.',
        ),
        (
            "{% with 'x' %}{% endwith %}",
            RuntimeError,
            'Variables passed to the "with" tag must be a mapping in "index.twig" at line 1.',
        ),
    ],
)
def test_errors_carry_twigs_message_name_and_line(source: str, cls: type[Error], message: str) -> None:
    with pytest.raises(cls) as info:
        Environment().from_string(source).render({})
    assert str(info.value) == message
    assert info.value.template_name == "index.twig"


def test_strict_undefined_variable_reports_the_line_of_the_variable() -> None:
    env = Environment(strict_variables=True)
    with pytest.raises(RuntimeError) as info:
        env.from_string("{% set a = [\n  1,\n  foo2,\n] %}").render({})
    assert str(info.value) == 'Variable "foo2" does not exist in "index.twig" at line 3.'
    assert info.value.lineno == 3


def test_render_is_thread_safe_and_does_not_share_state() -> None:
    tpl = Environment().from_string(
        "{% set t = 0 %}{% for i in items %}{% set t = t + i %}{% endfor %}{{ t }}"
    )
    results: dict[int, str] = {}

    def work(n: int) -> None:
        for _ in range(200):
            results[n] = tpl.render({"items": list(range(n))})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: str(sum(range(n))) for n in range(1, 9)}


def test_number_format_defaults_are_settable() -> None:
    env = Environment(number_format=(2, ",", "."))
    assert env.from_string("{{ 1234.5|number_format }}").render({}) == "1.234,50"
    env.number_format = [1, ".", " "]
    assert env.from_string("{{ 1234.56|number_format }}").render({}) == "1 234.6"


def test_globals_are_visible_and_context_wins() -> None:
    env = Environment()
    env.add_global("site", "OC")
    assert env.from_string("{{ site }}").render({}) == "OC"
    assert env.from_string("{{ site }}").render({"site": "mine"}) == "mine"


def test_whitespace_control_and_verbatim() -> None:
    env = Environment()
    assert env.from_string("a  {{- 'b' -}}  c").render({}) == "abc"
    assert env.from_string("a  {{~ 'b' ~}}  \nc").render({}) == "ab\nc"
    assert env.from_string("{% if true %}\nx\n{% endif %}\ny").render({}) == "x\ny"
    assert env.from_string("{% verbatim %}{{ raw }}{% endverbatim %}").render({}) == "{{ raw }}"
    assert env.from_string("a{# comment #}b").render({}) == "ab"


def test_capture_apply_do_and_with_tags() -> None:
    env = Environment()
    out = env.from_string(
        "{% set greeting %}Hi {{ name }}{% endset %}{{ greeting }}|"
        "{% apply upper %}shout {{ name }}{% endapply %}|"
        "{% with {name: 'Bob'} %}{{ name }}{% endwith %}|{{ name }}{% do 1 + 1 %}"
    ).render({"name": "Ann"})
    assert out == "Hi Ann|SHOUT ANN|Bob|Ann"
