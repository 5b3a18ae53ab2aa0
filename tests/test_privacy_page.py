"""The public privacy page: Ukrainian first, English on request, this server's own numbers.

What a resident or a partner would check: the page answers in their language, the k, grid,
cell sizes and retention periods it states are the ones the server runs with (a server
configured otherwise says otherwise), and it can be reached from the map and from the
report form, next to the contact fields.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from geoapp import create_app
from tests.conftest import app_config

SCREENSHOT = Path("/tmp/privacy-page.png")


def _text(html: str) -> str:
    """The page's words without tags and with spaces folded, as a reader sees them."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_privacy_page_speaks_ukrainian_with_the_configured_numbers(client, app):
    resp = client.get("/privacy")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    words = _text(html)
    k = app.config["GEOAPP_SUPPRESSION_K"]
    assert '<html lang="uk">' in html
    assert "Приватність: що ми зберігаємо і що публікуємо" in words
    assert f"як «менше {k}»" in words
    assert f"сітки {app.config['GEOAPP_PUBLIC_GRID_M']:g} м" in words
    sizes = " / ".join(map(str, app.config["GEOAPP_PUBLIC_CELL_SIZES"]))
    assert f"сторона {sizes} м" in words
    assert f"через {app.config['GEOAPP_CONTACT_RETENTION_DAYS']} днів" in words
    assert f"через {app.config['GEOAPP_AUDIT_ADDRESS_DAYS']} днів" in words
    assert "Залиште поля контактів порожніми." in words
    assert "What we keep" not in words  # no English left untranslated


def test_privacy_page_in_english(client, app):
    resp = client.get("/privacy?lang=en")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    words = _text(html)
    k = app.config["GEOAPP_SUPPRESSION_K"]
    assert '<html lang="en">' in html
    assert "Privacy: what we keep and what we publish" in words
    assert f"shown as “fewer than {k}”" in words
    assert f"fewer than {k}, or it is hidden" in words  # what "withheld" means
    assert f"of a {app.config['GEOAPP_PUBLIC_GRID_M']:g} m grid" in words
    assert "Leave the contact fields empty." in words
    assert "Приватність" not in words  # nothing left in Ukrainian but the UA switch


def test_privacy_page_states_a_non_default_configuration(database_url):
    odd = create_app(app_config(
        database_url, GEOAPP_SUPPRESSION_K=7, GEOAPP_PUBLIC_GRID_M=250.0,
        GEOAPP_PUBLIC_CELL_SIZES=(1000,), GEOAPP_CONTACT_RETENTION_DAYS=30,
        GEOAPP_AUDIT_ADDRESS_DAYS=45,
        GEOAPP_TILE_URL="https://tiles.example.ua/osm/{z}/{x}/{y}.png",
    ))  # fmt: skip
    words = _text(odd.test_client().get("/privacy?lang=en").get_data(as_text=True))
    assert "shown as “fewer than 7”" in words and "fewer than 10" not in words
    assert "of a 250 m grid" in words and "100 m grid" not in words
    assert "(sides of 1000 m)" in words and "500" not in words
    assert "deleted 30 days after your concern is closed" in words
    assert "deleted after 45 days" in words
    assert "loaded from tiles.example.ua" in words and "openstreetmap" not in words


def test_map_and_report_pages_link_to_the_privacy_page(client):
    for path in ("/", "/c/bucha", "/c/bucha/results"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'<a href="/privacy" id="privacy-link">Приватність</a>', html), path
    html = client.get("/c/bucha/report").get_data(as_text=True)
    contact = re.search(r"<fieldset class=\"field\">\s*<legend>4\..*?</fieldset>", html, re.S)
    assert contact, "no contact fieldset on the report page"
    assert "contact_phone" in contact.group(0)
    link = re.search(r'href="(/privacy#contact)"[^>]*>Хто їх бачить і як довго<', contact.group(0))
    assert link, "no privacy link next to the contact fields"
    target = client.get(link.group(1).split("#")[0])
    assert target.status_code == 200 and 'id="contact"' in target.get_data(as_text=True)


@pytest.mark.browser
def test_a_browser_opens_the_privacy_page_and_switches_to_english(page: Page, live_server, app):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 360, "height": 740})  # a phone: the header still fits
    page.goto(f"{live_server}/privacy?lang=uk")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.locator("#privacy-link")).to_be_visible()
    page.set_viewport_size({"width": 900, "height": 900})
    expect(page.locator("html")).to_have_attribute("lang", "uk")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Приватність: що ми зберігаємо і що публікуємо"
    )
    k = app.config["GEOAPP_SUPPRESSION_K"]
    expect(page.locator("#withheld + p")).to_contain_text(f"менше ніж {k}")
    assert len(page.locator("main").inner_text()) > 2000  # the text is there, not a stub
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Who sees your contact")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert errors == [], errors
