"""In Chromium: an analyst opens the hot spot analysis, reads the summary and the legend,
clicks the hot cell at the station and sees its months, switches the heat map on, reads
the place residents worry about; a bad date is marked, kept and explained in Ukrainian."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.test_hotspots import planted, worried  # noqa: F401 - shared fixtures
from tests.test_incident_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_analysis_page(browser, live_server, staff, planted, worried):  # noqa: F811
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
    gaps = page.get_by_test_id("concern-gaps")
    expect(gaps.locator("tbody tr")).to_have_count(1)
    expect(gaps).to_contain_text("Мешканці занепокоєні, записів мало")

    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("Теплова карта (концентрація правопорушень)").check()
    heat = page.locator("img.heat-overlay")
    expect(heat).to_be_visible()
    assert heat.get_attribute("src").startswith("data:image/png;base64,")
    expect(page.get_by_test_id("heat-legend")).to_contain_text("більше")
    page.screenshot(path="var/analysis-page.png", full_page=True)

    page.get_by_label("З", exact=True).fill("2025-12-31")
    page.get_by_label("По", exact=True).fill("2025-01-01")
    page.get_by_role("button", name="Аналізувати").click()
    expect(page.get_by_role("alert")).to_contain_text("Дата «з» не може бути пізнішою за дату «по»")
    expect(page.get_by_label("З", exact=True)).to_have_value("2025-12-31")
    expect(page.get_by_label("З", exact=True)).to_have_attribute("aria-invalid", "true")
    assert errors == [], errors
