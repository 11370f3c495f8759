"""The date family: PHP format characters, timestamps, ISO 8601, relative formats, zones.

Expected outputs in ``PHP_CHECKED`` were produced by PHP Twig 3.5.1 (Debian 12
``php-twig``, PHP 8.2) with ``date_default_timezone_set(<zone>)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from openconnector.twig import Environment, RuntimeError

DATA = {"ts": 1286199900, "iso": "2010-10-04T13:45:00+02:00", "neg": -189291360, "s": "1286199900"}

# (default timezone, template, output of PHP Twig 3.5.1 for DATA)
PHP_CHECKED = [
    (
        "UTC",
        "{{ ts|date('Y-m-d H:i:s') }}|{{ ts|date('D, d M Y') }}|{{ ts|date('c') }}|{{ ts|date('r') }}|{{ ts|date('U') }}",
        "2010-10-04 13:45:00|Mon, 04 Oct 2010|2010-10-04T13:45:00+00:00|Mon, 04 Oct 2010 13:45:00 +0000|1286199900",
    ),
    (
        "UTC",
        "{{ ts|date('N jS z t L W o y a A g G h B u v') }}|{{ ts|date('l F \\\\Y\\\\m') }}",
        "1 4th 276 31 0 40 2010 10 pm PM 1 13 01 614 000000 000|Monday October Ym",
    ),
    (
        "UTC",
        "{{ s|date('Y-m-d H:i') }}|{{ neg|date('Y-m-d H:i') }}|{{ 0|date('Y-m-d H:i:s e') }}",
        "2010-10-04 13:45|1964-01-02 03:04|1970-01-01 00:00:00 UTC",
    ),
    (
        "UTC",
        "{{ iso|date('Y-m-d H:i:s P e') }}|{{ iso|date('Y-m-d H:i:s P', 'Europe/Amsterdam') }}|{{ iso|date('Y-m-d H:i:s P', false) }}|{{ iso|date('U') }}",
        "2010-10-04 11:45:00 +00:00 UTC|2010-10-04 13:45:00 +02:00|2010-10-04 13:45:00 +02:00|1286192700",
    ),
    (
        "Europe/Amsterdam",
        "{{ ts|date('Y-m-d H:i:s T P e I') }}|{{ '2010-10-04 13:45'|date('U') }}|{{ '2024-01-15 12:00'|date('T O Z I') }}",
        "2010-10-04 15:45:00 CEST +02:00 Europe/Amsterdam 1|1286192700|CET +0100 3600 0",
    ),
    (
        "America/New_York",
        "{{ ts|date }}|{{ ts|date('c', 'UTC') }}|{{ '2024-07-01'|date('c') }}",
        "October 4, 2010 09:45|2010-10-04T13:45:00+00:00|2024-07-01T00:00:00-04:00",
    ),
    (
        "UTC",
        "{{ '2024-03-31 02:30'|date('Y-m-d H:i T', 'Europe/Amsterdam') }}|{{ 1711846800|date('Y-m-d H:i T I', 'Europe/Amsterdam') }}",
        "2024-03-31 04:30 CEST|2024-03-31 03:00 CEST 1",
    ),
    (
        "UTC",
        "{{ 'March 5, 2024'|date('Y-m-d') }}|{{ '5 March 2024'|date('Y-m-d') }}|{{ '03/05/2024'|date('Y-m-d') }}|{{ '05.03.2024'|date('Y-m-d') }}|{{ '2024-03-05 10:30:15.123456'|date('Y-m-d H:i:s.u v') }}|{{ '@86400'|date('Y-m-d') }}|{{ '2024-03-05T10:30:00Z'|date('c') }}|{{ '2024-03-05T10:30:00.5+01:00'|date('c u') }}",
        "2024-03-05|2024-03-05|2024-03-05|2024-03-05|2024-03-05 10:30:15.123456 123|1970-01-02|2024-03-05T10:30:00+00:00|2024-03-05T09:30:00+00:00 500000",
    ),
    (
        "UTC",
        "{{ '2024-01-31'|date_modify('+1 month')|date('Y-m-d') }}|{{ '2024-01-31 10:00'|date_modify('last day of next month')|date('Y-m-d H:i') }}|{{ '2024-03-15'|date_modify('first day of this month')|date('Y-m-d') }}|{{ '2024-03-15 13:00'|date_modify('last day of this month')|date('Y-m-d H:i') }}",
        "2024-03-02|2024-02-29 10:00|2024-03-01|2024-03-31 13:00",
    ),
    (
        "UTC",
        "{{ '2024-03-15 13:00'|date_modify('next monday')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('last friday')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('monday')|date('Y-m-d H:i') }}|{{ '2024-03-18 13:00'|date_modify('monday')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('next friday')|date('Y-m-d') }}",
        "2024-03-18 00:00|2024-03-08 00:00|2024-03-18 00:00|2024-03-18 00:00|2024-03-22",
    ),
    (
        "UTC",
        "{{ '2024-03-15 13:00'|date_modify('tomorrow')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('yesterday')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('-2 weeks')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('+1 week 2 days 3 hours')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('3 days ago')|date('Y-m-d H:i') }}",
        "2024-03-16 00:00|2024-03-14 00:00|2024-03-01 13:00|2024-03-24 16:00|2024-03-12 13:00",
    ),
    (
        "UTC",
        "{{ '2024-03-15 13:00'|date_modify('midnight')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('noon')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00'|date_modify('+1 year')|date('Y-m-d H:i') }}|{{ '2024-02-29'|date_modify('+1 year')|date('Y-m-d') }}|{{ '2024-03-15 13:00'|date_modify('first day of next month midnight')|date('Y-m-d H:i') }}",
        "2024-03-15 00:00|2024-03-15 12:00|2025-03-15 13:00|2025-03-01|2024-04-01 00:00",
    ),
    (
        "UTC",
        "{{ '2024-03-15 13:00'|date_modify('+90 minutes')|date('H:i') }}|{{ '2024-03-15 13:00'|date_modify('-1 day -2 hours')|date('Y-m-d H:i') }}|{{ '2024-03-15 13:00:00'|date_modify('+30 seconds')|date('H:i:s') }}|{{ ts|date_modify('+1 day')|date('Y-m-d H:i') }}|{{ '2024-01-31'|date_modify('last day of previous month')|date('Y-m-d') }}",
        "14:30|2024-03-14 11:00|13:00:30|2010-10-05 13:45|2023-12-31",
    ),
    (
        "Europe/Amsterdam",
        "{{ '2024-03-30 12:00'|date_modify('+1 day')|date('Y-m-d H:i T') }}|{{ '2024-03-15 13:00'|date_modify('next month')|date('Y-m-d') }}|{{ '2024-12-15'|date_modify('next year')|date('Y') }}",
        "2024-03-31 12:00 CEST|2024-04-15|2025",
    ),
    (
        "UTC",
        "{{ date(ts) == date('2010-10-04 13:45') ? 'same' }}|{{ date('2010-10-05') > date(ts) ? 'later' }}|{{ date(ts).format('Y') }}|{{ date(ts, 'Asia/Tokyo')|date('H:i', false) }}|{{ date(ts).timestamp }}",
        "same|later|2010|22:45|1286199900",
    ),
]


@pytest.mark.parametrize("zone, template, expected", PHP_CHECKED)
def test_dates_match_php_twig(zone: str, template: str, expected: str) -> None:
    assert Environment(timezone=zone).from_string(template).render(DATA) == expected


def test_now_formats_the_real_clock_within_a_second() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    out = Environment().from_string('{{ "now"|date("Y-m-d H:i:s") }}').render({})
    after = datetime.now(UTC)
    moment = datetime.strptime(out, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= moment <= after
    assert after - moment < timedelta(seconds=1)


def test_now_is_in_the_configured_timezone() -> None:
    zone = "Europe/Amsterdam"
    out = Environment(timezone=zone).from_string('{{ "now"|date("Y-m-d H:i:s P") }}').render({})
    moment = datetime.strptime(out, "%Y-%m-%d %H:%M:%S %z")
    assert abs((datetime.now(ZoneInfo(zone)) - moment).total_seconds()) < 2


@pytest.mark.parametrize(
    "expression, delta_days",
    [("tomorrow", 1), ("yesterday", -1), ("today", 0), ("+1 day", 1), ("-2 weeks", -14), ("+3 days", 3)],
)
def test_relative_dates_are_relative_to_today(expression: str, delta_days: int) -> None:
    out = Environment().from_string("{{ v|date('Y-m-d') }}").render({"v": expression})
    assert out == (datetime.now(UTC) + timedelta(days=delta_days)).strftime("%Y-%m-%d")


def test_first_and_last_day_of_month_and_next_weekday_relative_to_today() -> None:
    env = Environment()
    today = datetime.now(UTC).date()
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last_this = (today.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    assert (
        env.from_string("{{ 'first day of next month'|date('Y-m-d') }}").render({}) == first_next.isoformat()
    )
    assert env.from_string("{{ 'last day of this month'|date('Y-m-d') }}").render({}) == last_this.isoformat()
    monday = env.from_string("{{ 'next monday'|date('Y-m-d N H:i') }}").render({})
    day = datetime.strptime(monday[:10], "%Y-%m-%d").date()
    assert monday.endswith(" 1 00:00") and 1 <= (day - today).days <= 7


def test_date_filter_uses_configured_default_formats() -> None:
    env = Environment(date_format=["d/m/Y", "%d days"])
    assert env.from_string("{{ 0|date }}").render({}) == "01/01/1970"
    env.date_format = ["Y", "%d days"]
    assert env.from_string("{{ 0|date }}").render({}) == "1970"


def test_unparseable_dates_raise_a_twig_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="Failed to parse time string"):
        Environment().from_string("{{ 'not a date at all'|date('Y') }}").render({})
    with pytest.raises(RuntimeError, match="Unknown or bad timezone"):
        Environment().from_string("{{ 0|date('Y', 'Mars/Olympus') }}").render({})
