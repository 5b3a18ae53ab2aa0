"""In Chromium: an analyst opens the hot spot analysis, reads the summary and the legend,
clicks the hot cell at the station and sees its months; a bad date is marked and kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_hotspots import planted  # noqa: F401 - a shared fixture
from tests.test_incident_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_analysis_page(browser, live_server, staff, planted):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, staff["analyst"])
    page.goto(f"{live_server}/staff/c/bucha/")
    page.get_by_role("link", name="Аналіз осередків").click()
    page.get_by_label("З", exact=True).fill("2025-01-01")
    page.get_by_label("По", exact=True).fill("2025-12-31")
    page.get_by_label("Правопорушення", exact=True).select_option("theft")
    page.get_by_role("button", name="Аналізувати").click()

    summary = page.get_by_test_id("analysis-summary")
    expect(summary).to_contain_text("1 800 зареєстрованих правопорушень")
    expect(summary).to_contain_text("1 осередок, де правопорушення скупчуються")
    expect(summary).to_contain_text("Сусідство: комірки на відстані до")
    legend = page.get_by_test_id("legend")
    expect(legend).to_contain_text("Осередок, довіра 99 %")
    hot = page.locator('path.leaflet-interactive[fill="#d73027"]')
    expect(hot.first).to_be_visible()
    hot.first.click(force=True)
    caption = page.get_by_test_id("trend-caption")
    expect(caption).to_contain_text("Осередок, довіра 99 %")
    expect(page.get_by_test_id("trend-chart").locator("rect")).to_have_count(12)
    page.screenshot(path="var/analysis-page.png", full_page=True)

    page.get_by_label("З", exact=True).fill("2025-12-31")
    page.get_by_label("По", exact=True).fill("2025-01-01")
    page.get_by_role("button", name="Аналізувати").click()
    expect(page.get_by_role("alert")).to_contain_text("'from' must not be after 'to'")
    expect(page.get_by_label("З", exact=True)).to_have_value("2025-12-31")
    expect(page.get_by_label("З", exact=True)).to_have_attribute("aria-invalid", "true")
    assert errors == [], errors
