"""A real Chromium opens the map, sees the boundary, switches language, stays local."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
TILE_HOSTS = {"tile.openstreetmap.org"}


def test_halytskyi_map_draws_switches_language_and_stays_local(page: Page, live_server):
    hosts: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server}/c/lviv-halytskyi")
    expect(page.locator("html")).to_have_attribute("lang", "uk")
    expect(page.locator("h1")).to_have_text("Галицький район м. Львова")
    boundary = page.locator("path.leaflet-interactive")
    expect(boundary).to_have_count(1)
    box = boundary.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100  # drawn, not a dot
    expect(page.locator(".leaflet-control-scale")).to_be_visible()
    expect(page.locator(".leaflet-control-layers")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Halytskyi district of Lviv")
    expect(page.locator("path.leaflet-interactive")).to_have_count(1)
    foreign = hosts - {"127.0.0.1"} - TILE_HOSTS
    assert not foreign, f"requests left the machine: {foreign}"
    assert errors == [], errors


def test_the_map_is_usable_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server}/c/bucha")
    expect(page.locator("path.leaflet-interactive")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the page scrolls sideways on a 360 px screen"
    map_box = page.locator(".folium-map").bounding_box()
    assert map_box and map_box["height"] > 400
    context.close()


def test_coordinator_signs_in_sees_her_communities_and_signs_out(browser, live_server, staff):
    olena = staff["olena"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    page.get_by_label("Електронна пошта").fill(olena.email)
    page.get_by_label("Пароль").fill(olena.password)
    page.get_by_label("Код із застосунку автентифікації").fill(olena.code())
    page.get_by_role("button", name="Увійти").click()
    expect(page.get_by_role("heading", name="Мої громади")).to_be_visible()
    listed = page.locator("ul.communities li a").all_inner_texts()
    assert sorted(listed) == [
        "Болградська міська територіальна громада",
        "Галицький район м. Львова",
    ]
    expect(page.locator("ul.communities")).not_to_contain_text("Буча")
    page.get_by_role("link", name="Галицький район м. Львова").click()
    expect(page.get_by_text("координатор")).to_be_visible()
    old_cookies = context.cookies()
    page.get_by_role("button", name="Вийти").click()
    expect(page.get_by_text("Ви вийшли з системи.")).to_be_visible()
    context.close()
    replay = browser.new_context()
    replay.add_cookies(old_cookies)
    page = replay.new_page()
    page.goto(f"{live_server}/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login"))
    replay.close()
