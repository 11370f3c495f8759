"""Filters, operators and PHP value rules, checked against PHP.

Every expected output in ``PHP_CHECKED`` was produced by PHP Twig 3.5.1
(Debian 12 ``php-twig``, PHP 8.2) rendering the same template and data with
``autoescape: html``; the engine must match it byte for byte.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest

from openconnector.twig import Environment, RuntimeError, render

DATA = {
    "x": {"a": 1, "b": [1, 2]},
    "s": 'Hé/llo <b>"w\'" & 1/2',
    "n": None,
    "l": [3, 1, 2],
    "h": {"b": 2, "a": 1},
    "u": "😀é",
    "html": "<p>Hi <b>there</b></p>",
}

# (template, output of PHP Twig 3.5.1 for DATA)
PHP_CHECKED = [
    ("{{ s|json_encode|raw }}", '"H\\u00e9\\/llo <b>\\"w\'\\" & 1\\/2"'),
    ("{{ s|json_encode }}", "&quot;H\\u00e9\\/llo &lt;b&gt;\\&quot;w&#039;\\&quot; &amp; 1\\/2&quot;"),
    ("{{ u|json_encode|raw }}", '"\\ud83d\\ude00\\u00e9"'),
    ("{{ u|json_encode(256)|raw }}", '"😀é"'),
    ("{{ s|json_encode(64)|raw }}", '"H\\u00e9/llo <b>\\"w\'\\" & 1/2"'),
    ("{{ x|json_encode|raw }}", '{"a":1,"b":[1,2]}'),
    ("{{ x|json_encode(128)|raw }}", '{\n    "a": 1,\n    "b": [\n        1,\n        2\n    ]\n}'),
    ("{{ l|json_encode|raw }}|{{ {}|json_encode|raw }}|{{ []|json_encode|raw }}", "[3,1,2]|[]|[]"),
    (
        "{{ {0: 'a', 1: 'b'}|json_encode|raw }}|{{ {1: 'a', 2: 'b'}|json_encode|raw }}|{{ {b: 1, a: 2}|json_encode|raw }}",
        '["a","b"]|{"1":"a","2":"b"}|{"b":1,"a":2}',
    ),
    (
        "{{ [1.5, 1.0, 0.1, 1.0e+20, 1.0e-7, -0.0, 0.30000000000000004, true, false, null]|json_encode|raw }}",
        "[1.5,1,0.1,1.0e+20,1.0e-7,-0,0.30000000000000004,true,false,null]",
    ),
    ("{{ [1, 2, 3]|map(v => v * 2)|join(',') }}", "2,4,6"),
    ("{{ h|map((v, k) => k ~ '=' ~ v)|join('&') }}", "b=2&amp;a=1"),
    ("{{ [1, 2, 3]|filter(v => v > 1)|json_encode|raw }}", '{"1":2,"2":3}'),
    ("{{ h|filter((v, k) => k != 'a')|json_encode|raw }}", '{"b":2}'),
    ("{{ [1, 2, 3]|reduce((carry, v) => carry + v, 10) }}", "16"),
    ("{{ [1, 2, 3]|reduce((carry, v) => carry ~ v) }}", "123"),
    ("{{ l|sort|json_encode|raw }}|{{ l|sort|join(',') }}", '{"1":1,"2":2,"0":3}|1,2,3'),
    ("{{ [{n: 'b', q: 2}, {n: 'a', q: 1}]|sort((a, b) => a.q <=> b.q)|column('n')|join }}", "ab"),
    ("{{ [3, '10', 2, 'abc', 1.5]|sort|join(',') }}", "1.5,2,3,10,abc"),
    ("{{ s|url_encode }}", "H%C3%A9%2Fllo%20%3Cb%3E%22w%27%22%20%26%201%2F2"),
    (
        "{{ {a: 'b c', d: [1, 2], e: {f: 'g/h'}, n: null, t: true, ff: false}|url_encode|raw }}",
        "a=b%20c&d%5B0%5D=1&d%5B1%5D=2&e%5Bf%5D=g%2Fh&t=1&ff=0",
    ),
    ("{{ html|striptags }}", "Hi there"),
    (
        "{{ '<p>Hello <b>world</b><!-- c --> 1 < 2 and 3 > 2 <a href=\"x>y\">l</a></p>'|striptags|raw }}",
        "Hello world 1 < 2 and 3 > 2 l",
    ),
    ("{{ '<p>Hello <b>world</b><br/><i>x</i></p>'|striptags('<b><br>')|raw }}", "Hello <b>world</b><br/>x"),
    (
        "{{ 'hello world'|title }}|{{ \"they're here\"|title }}|{{ 'HELLO'|capitalize }}|{{ 'hello-world foo_bar 1st'|title }}",
        "Hello World|They&#039;re Here|Hello|Hello-World Foo_Bar 1St",
    ),
    (
        "{{ s|upper }}|{{ s|lower }}|{{ u|length }}|{{ u|reverse }}|{{ u|first }}|{{ 'ÉLAN'|lower }}",
        "HÉ/LLO &lt;B&gt;&quot;W&#039;&quot; &amp; 1/2|hé/llo &lt;b&gt;&quot;w&#039;&quot; &amp; 1/2|2|é😀|😀|élan",
    ),
    ("{{ '  x  '|trim }}|{{ '  x  '|trim(side='left') }}|{{ 'xxaxx'|trim('x', 'right') }}", "x|x  |xxa"),
    (
        "{{ 'I like %this% and %that%'|replace({'%this%': 'a', '%that%': 'b'}) }}|{{ 'aaa'|replace({'a': 'aa', 'aa': 'b'}) }}",
        "I like a and b|baa",
    ),
    (
        "{{ '%05.2f|%-6s|%6s|%x|%b|%e|%\\'*8d|%+d|%u|%c|%%|%2$s %1$s'|format(3.14159, 'ab', 'cd', 255, 5, 12345.678, 42, 5, 3, 65) }}",
        "03.14|ab    |    cd|ff|101|1.234568e+4|******42|+5|3|A|%|ab 3.14159",
    ),
    (
        "{{ '%.3e'|format(0.000123) }}|{{ '%5.1f'|format(-2.35) }}|{{ '%05d'|format(-42) }}|{{ '%s'|format(true) }}|{{ '%d'|format('12abc') }}|{{ '%.2s'|format('abc') }}|{{ '%g'|format(0.00001234) }}",
        "1.230e-4| -2.4|-0042|1|12|ab|1.234e-5",
    ),
    (
        "{{ 'a\\nb'|nl2br }}|{{ '<b>'|nl2br }}|{{ s|nl2br }}",
        "a<br />\nb|<b>|Hé/llo &lt;b&gt;&quot;w&#039;&quot; &amp; 1/2",
    ),
    (
        "{{ 'Hello'|e('js') }}|{{ 'a b&c<'|e('url') }}|{{ 'a\"b'|e('html_attr') }}|{{ 'a<b'|e }}|{{ 'a<b'|raw }}",
        "Hello|a%20b%26c%3C|a&quot;b|a&lt;b|a<b",
    ),
    (
        "{{ 'a,b,,c'|split(',')|json_encode|raw }}|{{ 'abc'|split('')|json_encode|raw }}|{{ 'a,b,c'|split(',', -1)|join('|') }}|{{ '12'|split('', 5)|join('-') }}",
        '["a","b","","c"]|["a","b","c"]|a|b|12',
    ),
    (
        "{{ 'x'|slice(5) }}|{{ [1,2]|slice(5)|length }}|{{ 'abcdef'|slice(2, -1) }}|{{ 'abcdef'[-3:2] }}|{{ 'abc'|first }}|{{ 'abc'|last }}",
        "|0|cde|de|a|c",
    ),
    (
        "{{ 1234567.891|number_format(2) }}|{{ (-1234.5)|number_format }}|{{ 0.5|number_format }}|{{ 1.005|number_format(2) }}|{{ -0.4|number_format }}",
        "1,234,567.89|-1,235|1|1.01|0",
    ),
    (
        "{{ 1000000|number_format(0, '', ' ') }}|{{ 0.129|number_format(2) }}|{{ -0.001|number_format(2) }}",
        "1 000 000|0.13|-0",
    ),
    (
        "{{ 2.5|round }}|{{ -2.5|round }}|{{ 1.955|round(2) }}|{{ 5.045|round(2) }}|{{ 5.055|round(2) }}|{{ 3.7|round(0, 'floor') }}|{{ -3.2|round(0, 'ceil') }}|{{ 1234.5678|round(-2) }}",
        "3|-3|1.96|5.05|5.06|3|-4|1200",
    ),
    (
        "{{ 5|abs }}|{{ -5.5|abs }}|{{ '-3'|abs }}|{{ 12345|length }}|{{ 1.5|length }}|{{ null|length }}",
        "5|-5.5|3|5|3|0",
    ),
    (
        "{{ {a: 1}|merge({b: 2})|json_encode|raw }}|{{ [1]|merge({a: 2})|json_encode|raw }}|{{ {5: 'a'}|merge({5: 'b'})|json_encode|raw }}",
        '{"a":1,"b":2}|{"0":1,"a":2}|["a","b"]',
    ),
    (
        "{{ 'abc'|reverse }}|{{ {5: 'a', 6: 'b'}|reverse|json_encode|raw }}|{{ {5: 'a', 6: 'b'}|reverse(true)|json_encode|raw }}",
        'cba|["b","a"]|{"6":"b","5":"a"}',
    ),
    (
        "{{ [1,2,3,4,5]|batch(2)|json_encode|raw }}|{{ [1,2,3]|batch(2, 0)|json_encode|raw }}",
        '[[1,2],{"2":3,"3":4},{"4":5}]|[[1,2],{"2":3,"3":0}]',
    ),
    (
        "{{ [{a: 1, id: 'x'}, {a: 2, id: 'y'}]|column('a', 'id')|json_encode|raw }}|{{ [{a: 1}, {b: 2}, {a: 3}]|column('a')|join }}",
        '{"x":1,"y":2}|13',
    ),
    (
        "{{ l|first }}|{{ l|last }}|{{ h|keys|join }}|{{ h|first }}|{{ l|slice(-2)|join }}|{{ l|slice(1, -1)|join }}",
        "3|2|ba|2|12|1",
    ),
    (
        "{{ range(0, 10, 3)|join(',') }}|{{ range(10, 0, 3)|join(',') }}|{{ range('a', 'e')|join }}|{{ range(0, 1, 0.25)|join(',') }}",
        "0,3,6,9|10,7,4,1|abcde|0,0.25,0.5,0.75,1",
    ),
    (
        "{{ max(1, '2', 3.5) }}|{{ min('apple', 'banana') }}|{{ max('10', '9') }}|{{ max('abc', 0) }}|{{ min([3, 'a']) }}",
        "3.5|apple|10|abc|3",
    ),
    (
        "{{ 'a'|default('b') }}|{{ ''|default('b') }}|{{ 0|default('b') }}|{{ n|default('b') }}|{{ nope|default('b') }}|{{ x.zz|default('b') }}|{{ []|default('b') }}|{{ '0'|default('b') }}",
        "a|b|0|b|b|b|b|0",
    ),
    (
        "{{ 1.5 }}|{{ 0.1 + 0.2 }}|{{ 1.0e+20 }}|{{ 1/3 }}|{{ 100000000000000.0 }}|{{ 0.00001 }}|{{ -1.5e-10 }}|{{ 2/3*3 }}|{{ 123456789012345.0 }}",
        "1.5|0.3|1.0E+20|0.33333333333333|1.0E+14|1.0E-5|-1.5E-10|2|1.2345678901234E+14",
    ),
    (
        "{{ 7 / 2 }}|{{ 6 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 7.5 % 2 }}|{{ 2 ** -1 }}|{{ '3' + 4 }}|{{ '1.5' + 1 }}|{{ null + 1 }}|{{ true + 1 }}",
        "3.5|3|3|-4|-1|1|0.5|7|2.5|1|2",
    ),
    (
        "{{ '10' == '1e1' ? 'y' : 'n' }}|{{ 'abc' == 0 ? 'y' : 'n' }}|{{ null == false ? 'y' : 'n' }}|{{ '1' == '01' ? 'y' : 'n' }}|{{ 100 == '1e2' ? 'y' : 'n' }}|{{ 'abc' < 'abd' ? 'y' : 'n' }}|{{ [1,2] == [1,2] ? 'y' : 'n' }}|{{ '' == null ? 'y':'n' }}|{{ 0 == '' ? 'y':'n' }}",
        "y|n|y|y|y|y|y|y|n",
    ),
    (
        "{{ 2 ** 3 ** 2 }}|{{ 1 ?: 2 }}|{{ n ?: 'e' }}|{{ n ?? 'd' }}|{{ 2 ** 63 }}|{{ 9223372036854775807 + 1 }}|{{ 2 ** 0.5 }}",
        "512|1|e|d|9.2233720368548E+18|9.2233720368548E+18|1.4142135623731",
    ),
    (
        "{{ '0' ? 'y':'n' }}|{{ '0.0' ? 'y':'n' }}|{{ [] ? 'y':'n' }}|{{ 0.0 ? 'y':'n' }}|{{ ' ' ? 'y':'n' }}",
        "n|y|n|n|y",
    ),
    ("{{ true }}|{{ false }}|{{ null }}|{{ 'a' ~ 1 ~ true ~ null ~ 1.0 }}", "1|||a111"),
    (
        "{{ x.a.b }}|{{ x.b.5 }}|{{ n.foo }}|{{ undefined.foo.bar }}|{{ x.b|join }}|{{ l[1:]|join }}|{{ x.c ?? 'none' }}",
        "||||12|12|none",
    ),
    (
        "{% for k, v in h %}{{ k }}={{ v }};{% else %}none{% endfor %}{% for i in 'abc' %}{{ i }}{% else %}not-iterable{% endfor %}{% for v in l %}{{ loop.index }}/{{ loop.revindex }}{{ loop.last ? '.' : ',' }}{% endfor %}",
        "b=2;a=1;not-iterable1/3,2/2,3/1.",
    ),
    ("{{ \"a#{1+1}b#{x.a}\" }}|{{ 'a#{1}' }}|{{ \"q\\\"q\" }}|{{ 'it\\'s' }}", "a2b1|a#{1}|q\"q|it's"),
]


@pytest.mark.parametrize("template, expected", PHP_CHECKED)
def test_output_matches_php_twig(template: str, expected: str) -> None:
    assert Environment().from_string(template).render(DATA) == expected


def r(template: str, context: dict[str, Any] | None = None, **options: Any) -> str:
    return render(template, context or {}, **options)


# ------------------------------------------------------------ OpenConnector additions


def test_b64enc_and_b64dec_round_trip_unicode() -> None:
    assert r("{{ 'héllo wörld'|b64enc }}") == base64.b64encode("héllo wörld".encode()).decode()
    assert r("{{ v|b64dec }}", {"v": "aMOpbGxv"}) == "héllo"
    assert r("{{ 'abc'|b64enc|b64dec }}") == "abc"


def test_json_decode_turns_json_text_into_hashes_and_lists() -> None:
    ctx = {"j": '{"name": "Bella", "tags": ["a", "b"], "n": {"x": 1}, "0": "zero"}'}
    assert r(
        "{{ (j|json_decode).name }}|{{ (j|json_decode).tags|join(',') }}|{{ (j|json_decode).n.x }}", ctx
    ) == ("Bella|a,b|1")
    assert r("{{ (j|json_decode)[0] }}", ctx) == "zero"
    assert r("{{ '[1, 2, 3]'|json_decode|length }}") == "3"
    assert r("{{ 'not json'|json_decode is null ? 'null' }}") == "null"
    assert (
        r("{{ (j|json_decode)|json_encode|raw }}", ctx)
        == '{"name":"Bella","tags":["a","b"],"n":{"x":1},"0":"zero"}'
    )


@pytest.mark.parametrize(
    "value, slug",
    [
        ("Hello World", "hello-world"),
        ("  Some_thing   else!! ", "some-thing-else"),
        ("Crème Brûlée & Co.", "creme-brulee-co"),
        ("--a--b--", "a-b"),
        ("Ünïcödé 123", "unicode-123"),
        ("", ""),
    ],
)
def test_slugify_lowercases_and_keeps_only_a_to_z_digits_and_dashes(value: str, slug: str) -> None:
    out = r("{{ v|slugify }}", {"v": value})
    assert out == slug
    assert re.fullmatch(r"[a-z0-9-]*", out)


def test_generate_uuid_returns_a_fresh_uuid4_each_call() -> None:
    a, b = r("{{ generateUuid() }}|{{ generateUuid() }}").split("|")
    assert uuid.UUID(a).version == 4 and uuid.UUID(b).version == 4 and a != b


# ------------------------------------------------------------ undefined values


def test_undefined_variables_render_empty_when_not_strict() -> None:
    assert r("[{{ missing }}]") == "[]"
    assert r("[{{ missing.deeper.still }}]") == "[]"
    assert r("[{{ missing|upper }}]") == "[]"
    assert r("[{{ missing ~ 'x' }}]") == "[x]"


def test_category_name_is_empty_when_category_is_missing() -> None:
    env = Environment()
    tpl = env.from_string("{{ category.name }}")
    assert tpl.render({}) == ""
    assert tpl.render({"category": None}) == ""
    assert tpl.render({"category": "Dogs"}) == ""
    assert tpl.render({"category": []}) == ""
    assert tpl.render({"category": {"name": "Dogs & Cats"}}) == "Dogs &amp; Cats"


def test_undefined_variables_raise_when_strict() -> None:
    with pytest.raises(RuntimeError, match=r'Variable "missing" does not exist in "index.twig" at line 2\.'):
        Environment(strict_variables=True).from_string("\n{{ missing }}").render({})
    with pytest.raises(RuntimeError, match=r'Key "b" for sequence/mapping with keys "a" does not exist'):
        Environment(strict_variables=True).from_string("{{ x.b }}").render({"x": {"a": 1}})


def test_json_object_keys_that_are_decimal_strings_behave_as_int_keys() -> None:
    data = json.loads('{"days": {"1": "mon", "2": "tue"}}')
    assert r("{{ days[1] }}|{{ days.2 }}|{{ days['1'] }}|{{ days|keys|json_encode|raw }}", data) == (
        "mon|tue|mon|[1,2]"
    )
    assert r("{{ l['1'] }}", {"l": ["a", "b"]}) == "b"


def test_custom_filters_functions_and_tests_can_be_registered() -> None:
    env = Environment()
    env.add_filter("double", lambda v, times=2: v * times)
    env.add_function("greet", lambda name, greeting="Hi": f"{greeting} {name}")
    env.add_test("positive", lambda v: v > 0)
    out = env.from_string(
        "{{ 3|double }}|{{ 3|double(times=3) }}|{{ greet('Ada', greeting='Hello') }}|"
        "{{ 2 is positive ? 'y' }}"
    ).render({})
    assert out == "6|9|Hello Ada|y"


def test_a_descending_letter_range_ends_at_its_last_letter():
    """PHP's ``range('e', 'a')`` is ``e d c b a``: the end is included, nothing past it."""
    assert (
        Environment().from_string("{{ range('e', 'a')|join }}|{{ ('c'..'a')|join }}").render({})
        == "edcba|cba"
    )
