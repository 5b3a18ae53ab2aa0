"""In Chromium: an analyst uploads an export with a progress bar, waits on the import job's
page (a real `geoapp worker` runs it), sees the report and the exact cells, filters by
period and group; the public map shows the same cells withheld."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

pytestmark = pytest.mark.browser


@pytest.fixture()
def export(tmp_path, engine):
    """120 offences in Bucha: 100 thefts in the first quarter of 2025, 20 in the third."""
    rng = random.Random(1)
    lines = ["date,article,lon,lat,ref"]
    for n in range(120):
        month = 2 if n < 100 else 8
        article = "185" if n < 100 else "296"
        lon, lat = 30.2100 + rng.uniform(-0.004, 0.004), 50.5450 + rng.uniform(-0.003, 0.003)
        lines.append(f"2025-{month:02d}-{1 + n % 28:02d},{article},{lon:.6f},{lat:.6f},Б-{n}")
    path = tmp_path / "експорт.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    yield path
    with engine.begin() as conn:
        cid = conn.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
        for table in ("incident_release", "incident_cell", "incident", "import_batch"):
            conn.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": cid})


def sign_in(page: Page, base: str, person) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Електронна пошта").fill(person.email)
    page.get_by_label("Пароль").fill(person.password)
    if person.totp_secret:
        page.get_by_label("Код із застосунку автентифікації").fill(person.code())
    page.get_by_role("button", name="Увійти").click()
    expect(page.get_by_role("heading", name="Мої громади")).to_be_visible()


def test_upload_then_filter_the_map(browser, live_server, job_worker, staff, export):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, live_server, staff["analyst"])
    page.goto(f"{live_server}/staff/c/bucha/incidents/")
    expect(page.get_by_text("Правопорушень ще не імпортовано.")).to_be_visible()
    page.get_by_label("Файл (CSV, XLSX, GeoJSON або GeoPackage, до 50 МБ)").set_input_files(export)
    page.get_by_role("button", name="Імпортувати").click()
    # the job's page, until the worker (started with the server, maybe still starting) is done
    expect(page).to_have_url(re.compile(r"\?batch=\d+$"), timeout=60_000)
    expect(page.get_by_test_id("import-summary")).to_contain_text("Імпортовано 120 правопорушень")
    expect(page.get_by_role("cell", name="експорт.csv")).to_be_visible()

    # The analyst's map: exact cells of the year, a legend with its total.
    legend = page.get_by_test_id("legend")
    expect(legend).to_contain_text("2025")
    expect(legend).to_contain_text("Усього в громаді: 120")
    cells = page.locator("path.leaflet-interactive")
    expect(cells).not_to_have_count(1)
    page.get_by_label("Період").select_option(label="III квартал 2025")
    expect(legend).to_contain_text("III квартал 2025")
    expect(legend).to_contain_text("Усього в громаді: 20")
    page.get_by_label("Правопорушення", exact=True).select_option("theft")
    expect(page.get_by_role("status").filter(has_text="немає")).to_be_visible()
    page.get_by_label("Період").select_option(label="I квартал 2025")
    expect(legend).to_contain_text("Усього в громаді: 100")
    page.screenshot(path="var/incident-staff-map.png")

    # Nothing is public before the year is published.
    public = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    public.goto(f"{live_server}/c/bucha")
    expect(public.locator("#incident-filter")).to_have_count(0)
    expect(page.get_by_text("Жоден рік ще не оприлюднено")).to_be_visible()
    expect(page.get_by_role("button", name="Оприлюднити")).to_have_count(0)  # coordinators

    # The coordinator publishes 2025, once.
    coordinator = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(coordinator, live_server, staff["coordinator"])
    coordinator.goto(f"{live_server}/staff/c/bucha/incidents/")
    coordinator.get_by_label("Оприлюднити завершений рік").select_option("2025")
    coordinator.get_by_role("button", name="Оприлюднити").click()
    releases = coordinator.locator("table.releases")
    expect(releases).to_contain_text("2025")
    expect(releases).to_contain_text(staff["coordinator"].email)
    expect(coordinator.get_by_label("Оприлюднити завершений рік")).to_have_count(0)

    # The public map of the same community: no analyst cookie, small counts withheld, the one
    # size it was published at (no size to choose).
    public.goto(f"{live_server}/c/bucha")
    public_legend = public.get_by_test_id("legend")
    expect(public_legend).to_contain_text("приховано (менше ніж 10")
    expect(public_legend).to_contain_text("Усього в громаді")
    expect(public.get_by_label("Комірка")).to_have_count(0)
    public.screenshot(path="var/incident-public-map.png")
    assert errors == [], errors
    context.close()


def test_the_job_page_shows_progress_then_the_report(browser, live_server, job_worker, staff,
                                                     export, engine):  # fmt: skip
    """The import waits for the community's turn (another import holds it): the bar and
    the stage follow the job; once the turn is free, the page goes to the report."""
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if "Refused" in msg.text else None)
    sign_in(page, live_server, staff["analyst"])
    with engine.connect() as conn:
        cid = conn.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
        conn.execute(text("SELECT pg_advisory_lock(7001, :c)"), {"c": cid})
        try:
            page.goto(f"{live_server}/staff/c/bucha/incidents/")
            page.get_by_label("Файл (CSV, XLSX, GeoJSON або GeoPackage, до 50 МБ)").set_input_files(
                export
            )
            page.get_by_role("button", name="Імпортувати").click()
            expect(page).to_have_url(re.compile(r"/incidents/jobs/[0-9a-f]{32}$"))
            expect(page.get_by_role("heading", name="Імпорт експорт.csv")).to_be_visible()
            expect(page.get_by_test_id("job-stage")).to_have_text(
                "Чекаємо, доки завершиться інший імпорт у цю громаду…", timeout=60_000)  # fmt: skip
            expect(page.locator("#job-progress")).to_have_attribute("value", "30")
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(7001, :c)"), {"c": cid})
    expect(page).to_have_url(re.compile(r"\?batch=\d+$"), timeout=30_000)
    expect(page.get_by_test_id("import-summary")).to_contain_text("Імпортовано 120 правопорушень")
    assert problems == [], problems  # no script error, nothing refused by the CSP
    context.close()


def test_without_javascript_the_job_page_refreshes_itself(browser, live_server, job_worker,
                                                          staff, export):  # fmt: skip
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, staff["analyst"])
    page.goto(f"{live_server}/staff/c/bucha/incidents/")
    page.get_by_label("Файл (CSV, XLSX, GeoJSON або GeoPackage, до 50 МБ)").set_input_files(export)
    page.get_by_role("button", name="Імпортувати").click()
    expect(page).to_have_url(re.compile(r"\?batch=\d+$"), timeout=60_000)
    expect(page.get_by_test_id("import-summary")).to_contain_text("Імпортовано 120 правопорушень")
    context.close()
