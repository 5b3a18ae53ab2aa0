"""A resident's photo: re-encoded, GPS and all metadata gone, staff only."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import text

from tests.conftest import csrf_from, sign_in

GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (3000, 2000)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90
    exif[GPS_IFD] = {1: "N", 2: (50.0, 32.0, 44.0), 3: "E", 4: (30.0, 12.0, 36.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _submit(client, photo: bytes, name: str = "photo.jpg"):
    html = client.get("/c/bucha/report").get_data(as_text=True)
    t = re.search(r'name="client_token" value="([^"]+)"', html).group(1)
    return t, client.post(
        "/c/bucha/report",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_from(html),
            "client_token": t,
            "category": "abandoned_building",
            "lon": "30.21",
            "lat": "50.545",
            "description": "Покинута будівля",
            "photo": (io.BytesIO(photo), name),
        },
    )


def test_the_stored_photo_has_no_metadata_and_is_upright(client, engine):
    raw = jpeg_with_gps()
    assert b"PhoneMaker" in raw and Image.open(io.BytesIO(raw)).getexif().get(GPS_IFD)
    t, resp = _submit(client, raw)
    assert resp.status_code == 302
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.jpeg, p.width, p.height FROM concern_photo p JOIN "
                "concern c ON c.id = p.concern_id WHERE c.client_token = :t"
            ),
            {"t": t},
        ).one()
    stored = Image.open(io.BytesIO(bytes(row.jpeg)))
    assert stored.format == "JPEG" and not stored.getexif() and not stored.info.get("exif")
    assert b"PhoneMaker" not in bytes(row.jpeg)
    assert (row.width, row.height) == (1365, 2048)  # rotated upright, then fitted in 2048 px


def test_png_is_accepted_and_other_files_are_refused_keeping_the_form(client, engine):
    png = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 255, 128)).save(png, format="PNG")
    _t, ok = _submit(client, png.getvalue(), "p.png")
    assert ok.status_code == 302
    t, bad = _submit(client, b"%PDF-1.4 not a picture", "doc.pdf")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Фото має бути зображенням JPEG або PNG." in html
    assert ">Покинута будівля</textarea>" in html
    big = io.BytesIO()
    Image.effect_noise((2600, 2600), 100).convert("RGB").save(big, format="PNG")
    assert len(big.getvalue()) > 5 * 1024 * 1024
    t2, large = _submit(client, big.getvalue(), "big.png")
    assert large.status_code == 422 and "більше за 5 МБ" in large.get_data(as_text=True)
    with engine.connect() as conn:
        assert (
            conn.scalar(
                text("SELECT count(*) FROM concern WHERE client_token IN (:a, :b)"),
                {"a": t, "b": t2},
            )
            == 0
        )


def test_only_staff_see_the_photo(app, client, staff, engine):
    t, _resp = _submit(client, jpeg_with_gps((640, 480)))
    with engine.connect() as conn:
        public_id = conn.scalar(
            text("SELECT public_id FROM concern WHERE client_token = :t"), {"t": t}
        )
    url = f"/staff/c/bucha/concerns/{public_id}/photo.jpg"
    assert app.test_client().get(url).status_code == 302  # signed out: to sign-in
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    resp = viewer.get(url)
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert "no-store" in resp.headers["Cache-Control"]
    assert 'class="photo"' in viewer.get(f"/staff/c/bucha/concerns/{public_id}").get_data(
        as_text=True
    )


def test_a_small_png_of_too_many_pixels_is_refused_before_decoding(client, engine):
    """8900 x 8900 pixels pack into ~200 KB; decoded they took ~1 GB, twice."""
    bomb = io.BytesIO()
    Image.new("1", (8900, 8900), 0).save(bomb, format="PNG", optimize=True)
    assert len(bomb.getvalue()) < 300_000
    t, resp = _submit(client, bomb.getvalue(), "bomb.png")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Фото має забагато пікселів (щонайбільше 24 мегапікселі)" in html
    assert '<div class="field has-error">\n      <label for="photo">' in html
    assert ">Покинута будівля</textarea>" in html  # what was typed is kept
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM concern WHERE client_token = :t"),
                           {"t": t}) == 0  # fmt: skip
