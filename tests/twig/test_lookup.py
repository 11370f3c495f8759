"""Item lookup by PHP's array-key rules, the sandbox's one way into the data.

Keys are normalised as PHP does (``1``, ``"1"``, ``1.0``, ``1.5`` and ``true`` name the
same entry; ``null`` is ``""``); sequences take integer indexes only; a missing key is
*undefined* (not null), so ``is defined`` and ``??`` see it; strings and other values
have no items. Each case renders the same in strict and in lenient mode.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from openconnector import twig
from openconnector.twig import Environment

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("{{ d[1] }}", {"d": {"1": "one"}}, "one"),
    ('{{ d["1"] }}', {"d": {1: "one"}}, "one"),
    ("{{ d[1.0] }}", {"d": {1: "one"}}, "one"),
    ("{{ d[true] }}", {"d": {1: "one"}}, "one"),
    ("{{ d[1.5] is defined ? 'y' : 'n' }}", {"d": {1: "one"}}, "y"),
    ("{{ d[null] is defined ? 'y' : 'n' }}", {"d": {"": "empty"}}, "y"),
    ("{{ d[1] is defined ? 'y' : 'n' }}", {"d": {"2": "x"}}, "n"),
    ("{{ d[\"2\"] is defined ? 'y' : 'n' }}", {"d": {1: "x"}}, "n"),
    ("{{ d[\"x\"] is defined ? 'y' : 'n' }}", {"d": {1: "x"}}, "n"),
    ("{{ d[[1]] is defined ? 'y' : 'n' }}", {"d": {"a": 1}}, "n"),
    ("{{ d[7] ?? 'none' }}", {"d": {"1": "one"}}, "none"),
    ("{{ d[\"7\"] ?? 'none' }}", {"d": {1: "one"}}, "none"),
    ("{{ d.a }}", {"d": OrderedDict(a="A")}, "A"),
    ("{{ d[1] }}", {"d": OrderedDict({"1": "one"})}, "one"),
    ('{{ l["1"] }}', {"l": ["a", "b"]}, "b"),
    ("{{ l[1.0] }}", {"l": ["a", "b"]}, "b"),
    ("{{ t[1] }}", {"t": ("a", "b")}, "b"),
    ("{{ l[5] is defined ? 'y' : 'n' }}", {"l": ["a"]}, "n"),
    ("{{ l[1] is defined ? 'y' : 'n' }}", {"l": ["a"]}, "n"),  # one past the end
    ("{{ l[0] is defined ? 'y' : 'n' }}", {"l": ["a"]}, "y"),
    ("{{ l[-1] is defined ? 'y' : 'n' }}", {"l": ["a"]}, "n"),
    ("{{ l[\"x\"] is defined ? 'y' : 'n' }}", {"l": ["a"]}, "n"),
    ("{{ s.0 is defined ? 'y' : 'n' }}", {"s": "abc"}, "n"),
    ("{{ n.0 is defined ? 'y' : 'n' }}", {"n": 5}, "n"),
]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
@pytest.mark.parametrize(("template", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_items_follow_php_key_rules(template: str, data: dict[str, Any], expected: str, strict: bool) -> None:
    env = Environment(strict_variables=strict, autoescape=False)
    assert env.from_string(template).render(data) == expected


@pytest.mark.parametrize(
    ("template", "data", "message"),
    [
        ("{{ d[7] }}", {"d": {"1": "one"}}, 'Key "7" for sequence/mapping with keys "1" does not exist'),
        ('{{ d["7"] }}', {"d": {1: "one"}}, 'Key "7" for sequence/mapping with keys "1" does not exist'),
        ("{{ l[3] }}", {"l": ["a"]}, 'Key "3" for sequence/mapping with keys "0" does not exist'),
        ("{{ s.x }}", {"s": "abc"}, 'Impossible to access an attribute ("x") on a string variable ("abc")'),
    ],
)
def test_a_missing_item_in_strict_mode_says_which_and_what_there_is(template, data, message) -> None:
    with pytest.raises(twig.RuntimeError) as error:
        Environment(strict_variables=True).from_string(template).render(data)
    assert str(error.value).startswith(message)
    assert Environment(strict_variables=False).from_string(template).render(data) == ""
