"""The report page: works without JavaScript, keeps what was typed, and in a real
Chromium a resident taps the map, picks a category, sends, and sees the receipt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.conftest import csrf_from


def _form(client, slug: str = "bucha") -> tuple[str, str]:
    html = client.get(f"/c/{slug}/report").get_data(as_text=True)
    client_token = re.search(r'name="client_token" value="([^"]+)"', html).group(1)
    return csrf_from(html), client_token


def test_without_javascript_a_pin_free_report_by_address_fails_clearly_and_keeps_input(client):
    csrf, t = _form(client)
    resp = client.post(
        "/c/bucha/report",
        data={
            "csrf_token": csrf,
            "client_token": t,
            "category": "poor_lighting",
            "address": "Вулиця-якої-немає 1",
            "description": "Темно",
            "contact_name": "Ольга",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Ми не знайшли цієї адреси" in html and "Позначте згоду" in html
    assert 'value="Вулиця-якої-немає 1"' in html and ">Темно</textarea>" in html
    assert 'value="poor_lighting"\n' in html or "checked" in html


def test_without_javascript_a_report_with_coordinates_lands_on_its_receipt(client, engine):
    csrf, t = _form(client)
    resp = client.post(
        "/c/bucha/report",
        data={
            "csrf_token": csrf,
            "client_token": t,
            "category": "vandalism",
            "lon": "30.2100",
            "lat": "50.5450",
            "description": "Розбиті лавки",
        },
    )
    assert resp.status_code == 302 and "/t/" in resp.headers["Location"]
    assert "Дякуємо" in client.get(resp.headers["Location"]).get_data(as_text=True)
    again = client.post(
        "/c/bucha/report",
        data={
            "csrf_token": csrf,
            "client_token": t,
            "category": "vandalism",
            "lon": "30.2100",
            "lat": "50.5450",
            "description": "Розбиті лавки",
        },
    )
    assert again.headers["Location"] == resp.headers["Location"]  # a double tap: one concern
    with engine.connect() as conn:
        assert (
            conn.scalar(text("SELECT count(*) FROM concern WHERE client_token = :t"), {"t": t}) == 1
        )


def test_hotline_categories_and_the_honeypot_record_nothing(client, engine):
    csrf, t = _form(client)
    resp = client.post(
        "/c/bucha/report",
        data={
            "csrf_token": csrf,
            "client_token": t,
            "category": "sexual_violence",
            "lon": "30.21",
            "lat": "50.545",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "15-47" in html and "Нічого не записано." in html
    csrf, t2 = _form(client)
    bot = client.post(
        "/c/bucha/report",
        data={
            "csrf_token": csrf,
            "client_token": t2,
            "category": "vandalism",
            "lon": "30.21",
            "lat": "50.545",
            "website": "http://spam.example",
        },
    )
    assert bot.status_code == 302 and "/t/" not in bot.headers["Location"]
    with engine.connect() as conn:
        assert (
            conn.scalar(
                text("SELECT count(*) FROM concern WHERE client_token IN (:a, :b)"),
                {"a": t, "b": t2},
            )
            == 0
        )


def test_the_form_needs_its_csrf_token(client):
    _, t = _form(client)
    resp = client.post(
        "/c/bucha/report",
        data={"client_token": t, "category": "vandalism", "lon": "30.21", "lat": "50.545"},
    )
    assert resp.status_code == 400


@pytest.mark.browser
def test_a_resident_on_a_phone_pins_reports_and_follows(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page: Page = context.new_page()
    page.goto(f"{live_server}/c/bucha/report")
    page.get_by_label("Погане освітлення").check()
    page.locator("#pick-map").click(position={"x": 180, "y": 120})
    expect(page.locator("#pin-status")).to_contain_text("Позначку поставлено")
    page.get_by_label("3. Що відбувається?").fill("Не світить ліхтар біля зупинки")
    page.get_by_role("button", name="Надіслати").click()
    expect(page).to_have_url(re.compile(r"/t/[\w-]+\?new=1$"))
    expect(page.get_by_text("Дякуємо. Ваше звернення отримано.")).to_be_visible()
    expect(page.get_by_text("Погане освітлення")).to_be_visible()
    expect(page.get_by_text("Статус: отримано")).to_be_visible()
    context.close()


@pytest.mark.browser
def test_offline_reports_are_kept_and_sent_once_back_online(browser, live_server, engine):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/c/bucha/report")
    t = page.locator("input[name=client_token]").input_value()
    page.get_by_label("Вандалізм").check()
    page.locator("#pick-map").click(position={"x": 180, "y": 120})
    context.set_offline(True)
    page.get_by_role("button", name="Надіслати").click()
    expect(page.locator("#offline-status")).to_contain_text("збережено на телефоні")
    with engine.connect() as conn:
        assert (
            conn.scalar(text("SELECT count(*) FROM concern WHERE client_token = :t"), {"t": t}) == 0
        )
    context.set_offline(False)
    expect(page.locator("#offline-status")).to_have_text(
        "Збережене на телефоні звернення надіслано.", timeout=10_000
    )
    with engine.connect() as conn:
        assert (
            conn.scalar(text("SELECT count(*) FROM concern WHERE client_token = :t"), {"t": t}) == 1
        )
    context.close()


@pytest.mark.browser
def test_the_pin_names_its_address_and_offers_me_too(browser, live_server, app, staff, engine):
    import csv
    import uuid

    from sqlalchemy.orm import Session

    from geoapp.services.gazetteer import load
    from tests.conftest import sign_in

    path = Path(__file__).parent / ".." / "var"
    path.mkdir(exist_ok=True)
    csv_path = path / f"metoo-{uuid.uuid4().hex}.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["lon", "lat", "street", "housenumber"])
        writer.writerow([30.2251, 50.5501, "вул. Ювілейна", "12"])
    with Session(engine) as sess:
        load(sess, csv_path, sess.scalar(text("SELECT id FROM community WHERE slug='bucha'")))
    csv_path.unlink()
    client = app.test_client()
    receipt = client.post(
        "/api/v1/communities/bucha/concerns",
        json={
            "category": "dangerous_infrastructure",
            "lon": 30.2250,
            "lat": 50.5500,
            "client_token": uuid.uuid4().hex,
        },
    ).get_json()
    coordinator = app.test_client()
    sign_in(coordinator, staff["coordinator"])
    page_html = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}").get_data(
        as_text=True
    )
    coordinator.post(
        f"/staff/c/bucha/concerns/{receipt['public_id']}/status",
        data={"csrf_token": csrf_from(page_html), "to": "accepted"},
    )

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/c/bucha/report")
    page.get_by_label("Небезпечна інфраструктура").check()
    page.evaluate("document.getElementById('pick-map').placePin(50.5500, 30.2250)")
    expect(page.locator("#pin-address")).to_have_text("Найближча адреса: вул. Ювілейна, 12")
    expect(page.locator("#nearby")).to_be_visible()
    expect(page.locator("#nearby li")).to_contain_text("прийнято")
    page.locator("#nearby").get_by_role("button", name="Я теж").click()
    expect(page.locator("#offline-status")).to_have_text("Дякуємо: ваш голос враховано.")
    with engine.connect() as conn:
        assert (
            conn.scalar(
                text("SELECT support_count FROM concern WHERE public_id = :p"),
                {"p": receipt["public_id"]},
            )
            == 1
        )
    page.close()


@pytest.mark.browser
def test_a_typed_address_puts_the_pin_for_the_resident_to_check(
    browser, live_server, engine, tmp_path
):
    import csv

    from sqlalchemy.orm import Session

    from geoapp.services.gazetteer import load

    path = tmp_path / "typed-addresses.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["lon", "lat", "street", "housenumber"])
        writer.writerows(
            [[30.2300, 50.5390, "вул. Шкільна", "3"], [30.2310, 50.5390, "вул. Шкільна", "7"]]
        )
    with Session(engine) as sess:
        load(sess, path, sess.scalar(text("SELECT id FROM community WHERE slug='bucha'")))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server}/c/bucha/report")
    page.get_by_label("Погане освітлення").check()
    page.get_by_label("Адреса (вулиця і номер будинку)").fill("Шкільна 5")
    page.get_by_label("Адреса (вулиця і номер будинку)").blur()
    expect(page.locator("#pin-status")).to_contain_text("Знайдено: вул. Шкільна, 5")
    assert page.locator("input[name=lon]").input_value() == "30.230500"
    assert page.locator("input[name=located_by]").input_value() == "geocoded"
    page.get_by_role("button", name="Надіслати").click()
    expect(page).to_have_url(re.compile(r"/t/[\w-]+\?new=1$"))
    page.close()
