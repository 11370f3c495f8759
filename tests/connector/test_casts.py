"""Every mapping cast, with the PHP result the original gives for the same value."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from openconnector.connector import casts
from openconnector.connector.mapping import MappingError, MappingService

GONE = object()  # the key was removed from the output


def cast(spec: Any, value: Any, key: str = "field", output: dict[str, Any] | None = None) -> Any:
    """Run ``spec`` on ``value`` through a real mapping; GONE when the key was deleted."""
    extra = output or {}
    result = MappingService().execute_mapping(
        {"name": "casts", "mapping": {}, "passThrough": True, "cast": {key: spec}},
        {**extra, key: value},
    )
    return result.get(key, GONE) if "." not in key else _dotted(result, key)


def _dotted(result: dict[str, Any], key: str) -> Any:
    for segment in key.split("."):
        if not isinstance(result, dict) or segment not in result:
            return GONE
        result = result[segment]
    return result


def table(*rows: tuple[Any, ...]) -> Any:
    return pytest.mark.parametrize("value, expected", rows, ids=[repr(row[0]) for row in rows])


@table((5, "5"), (True, "1"), (False, ""), (None, ""), (1.0, "1"), (0.1 + 0.2, "0.3"), (1e25, "1.0E+25"),
       (-2.5, "-2.5"), (["a"], "Array"), ("text", "text"))  # fmt: skip
def test_string_cast_converts_like_php(value: Any, expected: str) -> None:
    assert cast("string", value) == expected


@table((1, True), ("1", True), ("true", True), ("TRUE", True), ("Yes", True), ("1.9", True), (1.5, True),
       (["x"], True), ("2", False), ("no", False), ("false", False), (None, False), (0, False), ([], False),
       ("", False))  # fmt: skip
def test_bool_cast_is_true_only_for_one_true_or_yes(value: Any, expected: bool) -> None:
    assert cast("bool", value) is expected
    assert cast("boolean", value) is expected


@table((None, None), ("yes", True), ("0", False))
def test_nullable_bool_cast_keeps_null(value: Any, expected: bool | None) -> None:
    assert cast("?bool", value) is expected
    assert cast("?boolean", value) is expected


@table(("42", 42), ("1.9", 1), ("12abc", 12), ("abc", 0), ("", 0), (" 7", 7), ("-3", -3), ("1e3", 1000),
       ("0x1A", 0), (None, 0), (True, 1), (3.99, 3), (-3.99, -3), ([], 0), ([1], 1),
       ("99999999999999999999", 2**63 - 1))  # fmt: skip
def test_int_cast_takes_the_leading_number(value: Any, expected: int) -> None:
    assert cast("int", value) == expected
    assert cast("integer", value) == expected


@table(("1.5", 1.5), ("1,5", 1.0), ("abc", 0.0), (".5", 0.5), ("1e3", 1000.0), (None, 0.0), (2, 2.0))
def test_float_cast_takes_the_leading_number(value: Any, expected: float) -> None:
    result = cast("float", value)
    assert result == expected and type(result) is float


@table(("a", ["a"]), (None, []), ([1], [1]), ({"a": 1}, {"a": 1}), (5, [5]))
def test_array_cast_wraps_scalars(value: Any, expected: Any) -> None:
    assert cast("array", value) == expected


def test_date_cast_formats_now_with_the_value_as_php_date_format() -> None:
    before = datetime.now(UTC).strftime("%Y-%m-%d")
    assert cast("date", "Y-m-d") in {before, datetime.now(UTC).strftime("%Y-%m-%d")}


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("Y-m-d H:i:s", "2024-03-05 07:08:09"),
        ("D, d M Y", "Tue, 05 Mar 2024"),
        ("l jS F y", "Tuesday 5th March 24"),
        ("N w z t L", "2 2 64 31 1"),
        ("g:i a / h A / G", "7:08 am / 07 AM / 7"),
        ("c", "2024-03-05T07:08:09+00:00"),
        ("r", "Tue, 05 Mar 2024 07:08:09 +0000"),
        ("U", "1709622489"),
        ("O P p e T Z", "+0000 +00:00 Z UTC UTC 0"),
        ("W o", "10 2024"),
        ("u v", "123456 123"),
        (r"\Y\-m", "Y-03"),
    ],
)
def test_php_date_supports_the_format_characters(fmt: str, expected: str) -> None:
    moment = datetime(2024, 3, 5, 7, 8, 9, 123456, tzinfo=UTC)
    assert casts.php_date(fmt, moment) == expected


@table(("a b&c/d~é", "a+b%26c%2Fd%7E%C3%A9"), (5, "5"), (None, ""))
def test_url_cast_is_urlencode_with_plus_for_space(value: Any, expected: str) -> None:
    assert cast("url", value) == expected


@table(
    ("a b&c/d~é", "a%20b%26c%2Fd~%C3%A9"),
)
def test_rawurl_cast_is_rfc3986(value: Any, expected: str) -> None:
    assert cast("rawurl", value) == expected


def test_url_decoding_casts_differ_only_in_plus() -> None:
    assert cast("urlDecode", "a+b%26c%C3%A9") == "a b&cé"
    assert cast("rawurlDecode", "a+b%20c") == "a+b c"
    assert cast("urlDecode", "100%") == "100%"


def test_html_cast_is_htmlentities_with_quotes_and_named_entities() -> None:
    assert cast("html", "<a href=\"x\">Tom & 'Jé'</a>") == (
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#039;J&eacute;&#039;&lt;/a&gt;"
    )


def test_html_decode_cast_decodes_once_and_only_complete_html4_entities() -> None:
    assert cast("htmlDecode", "&lt;b&gt; &amp;amp; &eacute; &#39; &#x41; &apos; &amp &#0;") == (
        "<b> &amp; é ' A &apos; &amp &#0;"
    )


def test_base64_casts_round_trip_utf8_text() -> None:
    encoded = cast("base64", "Hello wörld")
    assert encoded == base64.b64encode("Hello wörld".encode()).decode()
    assert cast("base64Decode", encoded) == "Hello wörld"


@table(("SGVsbG8=", "Hello"), ("SGVsbG8", "Hello"), ("SGVs bG8=\n", "Hello"))
def test_base64_decode_cast_tolerates_missing_padding_and_junk_like_php(value: str, expected: str) -> None:
    assert cast("base64Decode", value) == expected


@table(
    ({"url": "http://x/é", "n": 1.5, "i": 2, "b": True, "z": None}, '{"url":"http:\\/\\/x\\/\\u00e9","n":1.5,"i":2,"b":true,"z":null}'),
    ([1, "a"], '[1,"a"]'),
    ({}, "[]"),
    ({"0": "a", "1": "b"}, '["a","b"]'),
    (1.0, "1"),
    (1e25, "1.0e+25"),
    ("😀", '"\\ud83d\\ude00"'),
)  # fmt: skip
def test_json_cast_is_php_json_encode(value: Any, expected: str) -> None:
    assert cast("json", value) == expected


@table(('{"a":1}', {"a": 1}), ("{&quot;a&quot;:[1,2]}", {"a": [1, 2]}), ("nope", None), ([1], [1]),
       ({"a": 1}, {"a": 1}), ("NaN", None), ('"text"', "text"), (None, None))  # fmt: skip
def test_json_to_array_cast_decodes_entities_then_json(value: Any, expected: Any) -> None:
    assert cast("jsonToArray", value) == expected


@table(("Crème Brûlée", "Creme Brulee"), ("Straße Æbleskiver €5", "Strasse AEbleskiver EUR5"),
       ("“quoted” – dash…", '"quoted" - dash...'), ("日本", "??"), ("plain", "plain"))  # fmt: skip
def test_utf8_cast_transliterates_to_ascii(value: str, expected: str) -> None:
    assert cast("utf8", value) == expected


@table(("null", None), ("NULL", "NULL"), (None, None), ("", ""))
def test_null_string_to_null_cast_only_matches_the_exact_string(value: Any, expected: Any) -> None:
    assert cast("nullStringToNull", value) == expected


@table(("52.1 4.3", ["52.1", "4.3"]), ("1 2 3 4", [["1", "2"], ["3", "4"]]), ("1 2 3", [["1", "2"], ["3"]]),
       ("5", ["5"]))  # fmt: skip
def test_coordinate_string_to_array_cast_pairs_the_numbers(value: str, expected: Any) -> None:
    assert cast("coordinateStringToArray", value) == expected


def test_key_cant_be_value_cast_removes_a_value_equal_to_its_own_key() -> None:
    assert cast("keyCantBeValue", "field") is GONE
    assert cast("keyCantBeValue", "other") == "other"
    assert cast("keyCantBeValue", "a.b", key="a.b") is GONE


@table(
    (("x", "x"), GONE), (("X", "x"), "X"), ((5, "5"), GONE), (("5.0", "5"), GONE), ((" 5", "5"), GONE),
    (("", ""), GONE), ((None, ""), GONE), ((0, ""), GONE), (("0", ""), GONE), (([], ""), GONE),
    (({"a": None, "b": [""]}, ""), GONE), (({"a": 1}, ""), {"a": 1}), ((False, ""), GONE),
    ((True, "abc"), GONE), ((None, "abc"), None), (("abc", "0"), "abc"), ((0, "abc"), 0),
)  # fmt: skip
def test_unset_if_value_cast_compares_loosely_like_php(value: tuple[Any, str], expected: Any) -> None:
    actual, spec = value
    assert cast(f"unsetIfValue=={spec}", actual) == expected


@table((("x", "x"), None), (("", ""), None), (([None, {"a": ""}], ""), None), (("y", "x"), "y"))
def test_set_null_if_value_cast_sets_null_instead_of_removing(value: tuple[Any, str], expected: Any) -> None:
    actual, spec = value
    assert cast(f"setNullIfValue=={spec}", actual) == expected


def test_count_value_cast_counts_a_list_elsewhere_in_the_output() -> None:
    assert cast("countValue:tags", 0, output={"tags": ["a", "b", "c"]}) == 3
    assert cast("countValue:meta.items", 0, output={"meta": {"items": {"a": 1}}}) == 1
    assert cast("countValue:missing", 7) == 7
    assert cast("countValue:name", 7, output={"name": "not countable"}) == 7


@table(("1.234,56", 123456), ("12,5", 125), (12.5, 125), (None, 0), ("€ 5", 0))
def test_money_string_to_int_cast_strips_separators(value: Any, expected: int) -> None:
    assert cast("moneyStringToInt", value) == expected


@table((123456, "1.234,56"), (5, "0,05"), (-123456, "-1.234,56"), ("123456", "1.234,56"),
       (100000000, "1.000.000,00"), (None, "0,00"), (12.345, "0,12"), (-1, "-0,01"))  # fmt: skip
def test_int_to_money_string_cast_formats_cents_in_dutch_notation(value: Any, expected: str) -> None:
    assert cast("intToMoneyString", value) == expected


def test_casts_chain_left_to_right() -> None:
    assert cast("string,unsetIfValue==", 0) is GONE  # "0" is empty in PHP
    assert cast(["int", "bool"], "2") is False
    assert cast("int,string", "7 dwarfs") == "7"


def test_a_removed_key_is_not_brought_back_by_later_casts() -> None:
    assert cast("unsetIfValue==x,string,setNullIfValue==", "x") is GONE


def test_an_unknown_cast_is_ignored_and_reported() -> None:
    service = MappingService()
    mapping = {"name": "m", "mapping": {}, "passThrough": True, "cast": {"a": "int, bool", "b": "shout"}}
    assert service.execute_mapping(mapping, {"a": "1", "b": "x"}) == {"a": 1, "b": "x"}
    assert service.compile(mapping).unknown_casts == ["a:  bool", "b: shout"]


def test_a_cast_on_an_absent_key_does_nothing() -> None:
    result = MappingService().execute_mapping({"mapping": {"a": "x"}, "cast": {"b": "int"}}, {})
    assert result == {"a": "x"}


@pytest.mark.parametrize(
    "spec, value, reason",
    [
        ("url", ["a"], "cast 'url' needs a string, got array"),
        ("base64", {"a": 1}, "cast 'base64' needs a string, got array"),
        ("coordinateStringToArray", None, "cast 'coordinateStringToArray' needs a string, got null"),
        ("intToMoneyString", "abc", "cast 'intToMoneyString' needs a number, got the string 'abc'"),
        ("base64Decode", "/w==", "cast 'base64Decode' decoded to binary data, not UTF-8 text"),
    ],
)
def test_a_cast_that_php_would_throw_on_is_a_mapping_error(spec: str, value: Any, reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        cast(spec, value)
    assert (
        caught.value.message
        == f"Error for mapping: casts, key: field, value: {spec} and with message thrown: {reason}"
    )
    assert (caught.value.mapping_name, caught.value.key, caught.value.value) == ("casts", "field", spec)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "number, expected",
    [(0.1 + 0.2, "0.3"), (1e14, "1.0E+14"), (1e13, "10000000000000"), (0.0001, "0.0001"), (0.00001, "1.0E-5"),
     (1.5e-7, "1.5E-7"), (123456789012345678.0, "1.2345678901235E+17"), (-0.0, "-0"), (float("inf"), "INF")],
)  # fmt: skip
def test_floats_become_strings_with_php_precision(number: float, expected: str) -> None:
    assert casts.php_float_string(number) == expected


@pytest.mark.parametrize(
    "left, right, equal",
    [("1e1", "10", True), ("abc", "ABC", False), (None, "", True), (None, "0", False), (0, "", False),
     (0, "0", True), (1.5, "1.50", True), (True, "x", True), (False, "0", True), ([], "", False),
     ("10", "1e1 ", True)],
)  # fmt: skip
def test_loose_equality_follows_php8(left: Any, right: Any, equal: bool) -> None:
    assert casts.php_loose_equals(left, right) is equal
