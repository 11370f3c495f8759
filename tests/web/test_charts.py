"""The dashboard's bar charts: geometry computed in Python, drawn as plain SVG."""

from __future__ import annotations

from openconnector.web.charts import bar_chart


def test_bars_are_scaled_to_whole_ticks_above_the_highest_value():
    chart = bar_chart(
        {"2025-05-02": {"success": 9, "error": 1}, "2025-05-01": {"success": 3}}, ["success", "error"]
    )
    assert chart.days == ["2025-05-01", "2025-05-02"]
    assert [value for _, value in chart.ticks] == [0, 3, 6, 9, 12]
    tallest = max(chart.bars, key=lambda b: b.height)
    assert (tallest.day, tallest.series, tallest.value) == ("2025-05-02", "success", 9)
    assert tallest.y + tallest.height == chart.baseline
    assert [b.value for b in chart.bars if b.day == "2025-05-01"] == [3, 0]


def test_a_week_without_data_draws_no_bars():
    chart = bar_chart({}, ["created", "updated", "skipped"])
    assert chart.bars == [] and chart.days == []


def test_missing_or_odd_counts_count_as_zero():
    chart = bar_chart(
        {"2025-05-01": {"created": None, "updated": "x", "skipped": "4"}}, ["created", "updated", "skipped"]
    )
    assert chart.rows == [{"created": 0, "updated": 0, "skipped": 4}]
