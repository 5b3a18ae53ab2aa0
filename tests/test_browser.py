"""A real Chromium opens the map, sees the boundary, switches language, stays local."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
TILE_HOSTS = {"tile.openstreetmap.org"}


def test_halytskyi_map_draws_switches_language_and_stays_local(page: Page, live_server):
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
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
