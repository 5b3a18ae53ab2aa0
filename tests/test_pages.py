"""Public pages: Ukrainian first, English on request, 404 in the same look."""

from __future__ import annotations

import re


def test_index_lists_the_pilot_in_ukrainian(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="uk">' in html
    assert "Карта безпеки громади" in html
    assert "5 громад на карті" in html  # Ukrainian plural for 5
    for slug in ("lviv-halytskyi", "bucha", "bolhrad", "crimea", "sevastopol"):
        assert f'href="/c/{slug}"' in html
    assert "немає даних про межі" in html  # Sevastopol
    assert re.search(r"260,\d км²", html)  # Bucha's area, decimal comma


def test_english_is_chosen_and_remembered(client):
    resp = client.get("/?lang=en")
    html = resp.get_data(as_text=True)
    assert '<html lang="en">' in html and "Community safety map" in html
    assert "5 communities on the map" in html
    assert "Bucha hromada" in html
    again = client.get("/").get_data(as_text=True)  # the cookie keeps the choice
    assert '<html lang="en">' in again


def test_community_page_embeds_the_map_from_local_assets(client):
    html = client.get("/c/bucha").get_data(as_text=True)
    assert "Бучанська міська територіальна громада" in html
    assert "/static/vendor/leaflet/leaflet.js" in html
    assert "L.control.scale" in html and "L.control.layers" in html
    assert "L.control.fullscreen" in html
    srcs = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert all("openstreetmap.org" in s for s in srcs), srcs


def test_sevastopol_page_says_there_is_no_boundary(client):
    resp = client.get("/c/sevastopol")
    assert resp.status_code == 200
    assert "Немає даних про межі" in resp.get_data(as_text=True)


def test_unknown_community_is_a_404_page_in_the_same_look(client):
    resp = client.get("/c/atlantis")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "Сторінку не знайдено" in html and 'class="topbar"' in html
    assert '<html lang="uk">' in html
