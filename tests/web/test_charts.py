"""The SVG charts: figures in, well-formed, accessible, escaped SVG out (pure Python, no database)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from lending.web.charts import Point, bar_chart, column_chart, describe, donut_chart, nice_ceiling

NS = {"svg": "http://www.w3.org/2000/svg"}


def dollars(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def months(*values: int) -> list[Point]:
    names = [("Jan", "January"), ("Feb", "February"), ("Mar", "March")]
    return [Point(names[n][0], v, f"{names[n][1]} 2026", sub="2026" if n == 0 else "") for n, v in enumerate(values)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, (4, 1)), (1, (1, 1)), (7, (8, 2)), (100, (100, 25)), (12_000, (15_000, 5_000)), (99_999, (100_000, 25_000))],
)
def test_axis_tops_are_round_and_at_or_above_the_largest_value(value, expected):
    assert nice_ceiling(value) == expected


@pytest.mark.parametrize("value", [1, 3, 17, 250, 1_001, 123_456, 9_999_999])
def test_axis_top_is_never_below_the_value_and_in_four_steps_or_fewer(value):
    top, step = nice_ceiling(value)
    assert top >= value
    assert top % step == 0
    assert top // step <= 4


def test_column_chart_is_an_image_named_by_its_title_and_description():
    chart = column_chart(slug="c1", title="Repayments received per month", points=months(0, 1_250, 2_500),
                         fmt=dollars, axis_fmt=dollars, x_title="Month received", y_title="Amount (USD)")  # fmt: skip

    root = parse(chart.svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find("svg:title", NS).text == "Repayments received per month"
    assert root.find("svg:desc", NS).get("id") == "c1-desc"
    assert chart.description == (
        "Repayments received per month: $37.50 in all over 3 months; the largest is March 2026, $25.00."
    )
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Month received" in texts
    assert "Amount (USD)" in texts
    assert [t for t in texts if t in ("Jan", "Feb", "Mar", "2026")] == ["Jan", "2026", "Feb", "Mar"]
    bars = root.findall("svg:rect", NS)
    assert [b.find("svg:title", NS).text for b in bars] == [
        "January 2026: $0.00",
        "February 2026: $12.50",
        "March 2026: $25.00",
    ]
    assert float(bars[2].get("height")) > float(bars[1].get("height")) > float(bars[0].get("height")) == 0
    assert chart.rows == [("January 2026", "$0.00"), ("February 2026", "$12.50"), ("March 2026", "$25.00")]
    assert chart.empty is False


def test_an_empty_chart_says_so():
    chart = column_chart(slug="c2", title="Expected", points=months(0, 0), fmt=dollars, axis_fmt=dollars,
                         x_title="Month", y_title="Amount")  # fmt: skip

    assert chart.empty
    assert "Nothing to show yet" in chart.svg
    assert chart.description == "Expected: nothing to show yet."
    parse(chart.svg)


def test_labels_are_escaped():
    evil = [Point("<script>", 100, 'A & B "quoted" <b>')]

    chart = bar_chart(slug="b1", title="Sectors <&>", points=evil, fmt=dollars, axis_fmt=dollars,
                      x_title="Amount", noun="sectors")  # fmt: skip

    assert "<script>" not in chart.svg
    assert "&lt;script&gt;" in chart.svg
    root = parse(chart.svg)
    assert root.find("svg:title", NS).text == "Sectors <&>"
    assert chart.rows == [('A & B "quoted" <b>', "$1.00")]  # the template escapes the table


def test_bar_chart_draws_a_bar_and_a_value_per_category_and_clips_long_names():
    points = [Point("Agriculture", 5_000), Point("Transportation and logistics", 2_500)]

    chart = bar_chart(slug="b2", title="By sector", points=points, fmt=dollars, axis_fmt=dollars,
                      x_title="Amount lent (USD)", noun="sectors")  # fmt: skip

    root = parse(chart.svg)
    bars = root.findall("svg:rect", NS)
    assert len(bars) == 2
    assert float(bars[0].get("width")) == pytest.approx(2 * float(bars[1].get("width")), abs=0.2)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "$50.00" in texts
    assert "$25.00" in texts
    assert "Transportation …" in texts
    assert "Amount lent (USD)" in texts
    assert bars[1].find("svg:title", NS).text == "Transportation and logistics: $25.00"


def test_donut_shares_add_up_to_the_ring_and_the_legend_shows_percents():
    points = [Point("Paying back", 7_500, color="#2c7a3f"), Point("Repaid", 2_500), Point("Expired", 0)]

    chart = donut_chart(slug="d1", title="By status", points=points, fmt=dollars, centre="3 loans", noun="statuses")

    root = parse(chart.svg)
    arcs = [c for c in root.findall("svg:circle", NS) if c.find("svg:title", NS) is not None]
    assert [a.find("svg:title", NS).text for a in arcs] == ["Paying back: $75.00 (75%)", "Repaid: $25.00 (25%)"]
    lengths = [float(a.get("stroke-dasharray").split()[0]) for a in arcs]
    ring = sum(float(x) for x in arcs[0].get("stroke-dasharray").split())
    assert sum(lengths) == pytest.approx(ring, abs=0.05)
    assert arcs[0].get("stroke") == "#2c7a3f"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "3 loans" in texts
    assert "Paying back 75%" in texts
    assert chart.rows == [("Paying back", "$75.00 (75%)"), ("Repaid", "$25.00 (25%)")]


def test_a_donut_of_one_status_is_a_full_ring():
    chart = donut_chart(slug="d2", title="By status", points=[Point("Repaid", 100)], fmt=dollars, centre="1 loan",
                        noun="statuses")  # fmt: skip

    assert "Repaid: $1.00 (100%)" in chart.svg
    parse(chart.svg)


def test_tiny_shares_read_less_than_one_percent():
    chart = donut_chart(slug="d3", title="S", points=[Point("A", 100_000), Point("B", 1)], fmt=dollars, centre="",
                        noun="statuses")  # fmt: skip

    assert chart.rows[1] == ("B", "$0.01 (<1%)")


def test_describe_names_the_largest_group():
    points = [Point("KE", 100, "Kenya"), Point("UG", 300, "Uganda")]

    assert describe("By country", points, dollars, "countries") == (
        "By country: $4.00 in all over 2 countries; the largest is Uganda, $3.00."
    )
