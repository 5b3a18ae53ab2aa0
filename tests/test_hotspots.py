"""Hot spots on real PostGIS: a planted cluster is found where it was planted and nowhere
else, partners see classes only, the cache follows the data, bad parameters are 400; the
staff heat map peaks at the planted cluster and is transparent outside the community."""

from __future__ import annotations

import base64
import io
from datetime import date

import numpy as np
import pytest
import shapely
import shapely.geometry
from PIL import Image
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.services import tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern
from geoapp.services.heat_maps import heat_image
from geoapp.services.hotspots import HotspotQuery, MemoryCache, analyse, clusters, compute
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, sign_in
from tests.helpers import publish_year

LAYER = "/api/v1/communities/bucha/layers/hotspots.geojson"
PLANTED = (30.2100, 50.5450)  # Bucha railway station
PERIOD = {"from": "2025-01-01", "to": "2025-12-31"}
WORRIED = (30.2420, 50.5560)  # about 2.3 km east of the station, background offences only


def planted_csv(path, community_wkb: bytes, srid: int, seed: int = 11) -> tuple:
    """1,500 thefts spread evenly over Bucha in 2025, plus 300 within 250 m of the station,
    rising month by month."""
    rng = np.random.default_rng(seed)
    to_metric = Transformer.from_crs(4326, srid, always_xy=True)
    area = shapely.transform(shapely.from_wkb(community_wkb),
                             lambda xy: np.column_stack(to_metric.transform(*xy.T)))  # fmt: skip
    minx, miny, maxx, maxy = area.bounds
    xs, ys = [], []
    while len(xs) < 1500:
        x, y = rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000)
        inside = shapely.contains_xy(area, x, y)
        xs.extend(x[inside].tolist())
        ys.extend(y[inside].tolist())
    bx, by = np.array(xs[:1500]), np.array(ys[:1500])
    px, py = to_metric.transform(*PLANTED)
    angle, radius = rng.uniform(0, 2 * np.pi, 300), 250 * np.sqrt(rng.uniform(0, 1, 300))
    cx, cy = px + radius * np.cos(angle), py + radius * np.sin(angle)
    months_bg = rng.integers(1, 13, 1500)
    months_planted = np.sort(rng.choice(np.arange(1, 13), 300, p=np.arange(1, 13) / 78))
    lon, lat = to_metric.transform(np.r_[bx, cx], np.r_[by, cy], direction="INVERSE")
    months = np.r_[months_bg, months_planted]
    lines = ["date,article,lon,lat,ref"]
    for k in range(len(lon)):
        lines.append(f"2025-{months[k]:02d}-{1 + k % 28:02d},185,{lon[k]:.6f},{lat[k]:.6f},H-{k}")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, (px, py)


@pytest.fixture(scope="module")
def planted(engine, app, tmp_path_factory):
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        path, centre = planted_csv(tmp_path_factory.mktemp("hot") / "planted.csv",
                                   bytes(bucha.geom.data), bucha.metric_srid)  # fmt: skip
        report = import_file(sess, path, bucha.id, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
        assert report.accepted == 1800, report.rejected[:5]
        community_id = bucha.id
    publish_year(app, "bucha", 2025)  # what partners and viewers may derive classes from
    yield community_id, centre
    with Session(engine) as sess:
        for table in ("incident_release", "incident_cell", "incident", "import_batch"):
            sess.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": community_id})
        sess.commit()


@pytest.fixture(scope="module")
def worried(engine, planted):
    """Twelve accepted concerns of 2025 at `WORRIED`, where offences are background only."""
    with Session(engine) as sess:
        bucha = get_by_slug(sess, "bucha")
        for k in range(12):
            report_concern(sess, bucha, Report(
                category="vandalism", description=f"Темно і страшно {k}",
                lon=WORRIED[0] + 0.0004 * (k % 4), lat=WORRIED[1] + 0.0003 * (k // 4),
                client_token=f"worried-{k:04d}"))  # fmt: skip
        sess.execute(text("UPDATE concern SET status = 'accepted', created_at = '2025-06-15' "
                          "WHERE client_token LIKE 'worried-%'"))  # fmt: skip
        sess.commit()
    yield WORRIED
    with Session(engine) as sess:
        sess.execute(text("DELETE FROM concern WHERE client_token LIKE 'worried-%'"))
        sess.commit()


def test_the_planted_cluster_is_found_and_nothing_else(engine, planted):
    community_id, (px, py) = planted
    with Session(engine) as sess:
        result = compute(sess, HotspotQuery(community_id, date(2025, 1, 1), date(2025, 12, 31)))
    assert result is not None
    cx = 1.5 * 500 * result.i
    cy = np.sqrt(3) * 500 * (result.j + 0.5 * (result.i & 1))
    distance = np.hypot(cx - px, cy - py)
    at_station = int(np.argmin(distance))
    assert result.gi_bin[at_station] == 3 and result.count[at_station] > 50
    hot = result.gi_bin == 3
    # Every 99 % hot cell is within the band of the planted cluster: nothing found elsewhere.
    assert distance[hot].max() <= result.band_m + 500
    assert len(clusters(result, level=3)) == 1
    # The trend: the cluster grows month by month, so its cells are hot and labelled.
    assert result.trend[at_station].endswith("_hot")
    assert result.by_step.shape == (len(result.i), 12)
    assert result.by_step.sum() == 1800


def test_partners_get_classes_only_and_the_public_nothing(client, app, engine, staff, planted):
    analyst = app.test_client()
    sign_in(analyst, staff["analyst"])
    exact = analyst.get(LAYER, query_string=PERIOD).get_json()
    props = [f["properties"] for f in exact["features"]]
    assert any(p["gi_bin"] == 3 for p in props)
    assert all(isinstance(p["gi_z"], float) and isinstance(p["count"], int) for p in props)
    assert sum(p["count"] for p in props) == 1800
    assert exact["metadata"]["distance_band_m"] > 0 and exact["metadata"]["period"] == {
        "from": "2025-01-01",
        "to": "2025-12-31",
    }
    with Session(engine) as sess:
        token, _row = tokens.create(sess, "Медіа", [get_by_slug(sess, "bucha")], 30,
                                    actor="test")  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}
    # Classes of an arbitrary window are computed from exact counts: not for partners.
    refused = client.get(LAYER, query_string={**PERIOD, "lang": "en"}, headers=bearer)
    assert refused.status_code == 400 and "per whole year" in refused.get_json()["detail"]
    partner = client.get(LAYER, query_string={"period": "2025"}, headers=bearer).get_json()
    classes = [f["properties"] for f in partner["features"]]
    assert partner["metadata"]["input"].startswith("the published release")
    assert all(p["gi_z"] is None and p["gi_p"] is None and p["count"] is None for p in classes)
    assert partner["metadata"]["classes_only"] is True
    # A viewer gets z of the same published input: the station's cell stands out most.
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    body = viewer.get(LAYER, query_string={"period": "2025"}).get_json()
    seen, band = body["features"], body["metadata"]["distance_band_m"]
    top = max(seen, key=lambda f: f["properties"]["gi_z"])
    centre = shapely.geometry.shape(top["geometry"]).centroid
    with Session(engine) as sess:
        srid = get_by_slug(sess, "bucha").metric_srid
    to_metric = Transformer.from_crs(4326, srid, always_xy=True)
    gap = np.hypot(*(np.subtract(to_metric.transform(centre.x, centre.y),
                                 to_metric.transform(*PLANTED))))  # fmt: skip
    assert gap <= band, "the highest z lies within one distance band of the station"
    assert all(f["properties"]["count"] is None for f in seen)
    assert client.get(LAYER).status_code == 404  # the public: no such layer
    gaps = client.get(LAYER.replace("hotspots", "concern_gaps"),
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert gaps.status_code == 404  # true concern points behind it: analysts only


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2025-13-01"}, "YYYY-MM-DD"),
        ({"from": "2025-06-01", "to": "2025-01-01"}, "after"),
        ({"group": "theft,nonsense"}, "nonsense"),
        ({"size": "300"}, "size"),
        ({"from": "2000-01-01", "to": "2025-01-01"}, "at most"),
    ],
)
def test_bad_parameters_are_a_problem_not_a_trace(app, staff, planted, query, message):
    analyst = app.test_client()
    sign_in(analyst, staff["analyst"])
    resp = analyst.get(LAYER, query_string={**query, "lang": "en"})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert message in resp.get_json()["detail"]


def test_the_cache_follows_the_data(engine, planted, tmp_path, app):
    community_id, _centre = planted
    cache = MemoryCache()
    query = HotspotQuery(community_id, date(2025, 1, 1), date(2025, 12, 31))
    with Session(engine) as sess:
        first = analyse(sess, query, cache)
        assert len(cache._items) == 1
        again = analyse(sess, query, cache)
        assert np.array_equal(first.gi_z, again.gi_z) and len(cache._items) == 1
        path = tmp_path / "more.csv"
        path.write_text("date,article,lon,lat,ref\n2025-05-05,185,30.2100,50.5450,EXTRA-1\n",
                        encoding="utf-8")  # fmt: skip
        import_file(sess, path, community_id, app.config["SECRET_KEY"], str(DATA_DIR),
                    actor="test")  # fmt: skip
        after = analyse(sess, query, cache)
    assert after.count.sum() == first.count.sum() + 1 and len(cache._items) == 2


def _decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_the_heat_map_peaks_at_the_planted_cluster(engine, planted):
    community_id, _centre = planted
    cache = MemoryCache()
    query = HotspotQuery(community_id, date(2025, 1, 1), date(2025, 12, 31))
    with Session(engine) as sess:
        image = heat_image(sess, query, cache)
        again = heat_image(sess, query, cache)
        nothing = heat_image(sess, HotspotQuery(community_id, date(2020, 1, 1), date(2020, 12, 31)))
    assert image is not None and nothing is None
    assert again == image and image.points >= 1800  # the cache test may add one
    rgba = _decoded(image.png)
    south, west, north, east = image.bounds
    assert west < PLANTED[0] < east and south < PLANTED[1] < north
    # The strongest pixel (darkest red, most opaque) lies at the station: Mercator is
    # linear in longitude, and in latitude over a few kilometres to well within a pixel.
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([west, east], [south, north])
    px, py = to_merc.transform(*PLANTED)
    row, col = np.unravel_index(np.argmax(rgba[..., 3]), rgba.shape[:2])
    height, width = rgba.shape[:2]
    hot_x = x0 + (col + 0.5) * (x1 - x0) / width
    hot_y = y1 - (row + 0.5) * (y1 - y0) / height
    assert np.hypot(hot_x - px, hot_y - py) < 400 * 1.6  # 400 m on the ground, in Mercator
    assert rgba[row, col, 0] >= 185 and rgba[row, col, 1] <= 10  # YlOrRd's darkest red
    # Outside the community nothing is drawn: the image's corners are past its boundary.
    assert rgba[0, 0, 3] == rgba[-1, -1, 3] == rgba[0, -1, 3] == rgba[-1, 0, 3] == 0


def test_the_heat_map_is_for_analysts_only(client, app, staff, planted):
    url = "/staff/c/bucha/analysis/heat.json"
    analyst = app.test_client()
    sign_in(analyst, staff["analyst"])
    resp = analyst.get(url, query_string=PERIOD)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"bounds", "image", "points"}  # no bandwidth, no counts per cell
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert body["image"].startswith("data:image/png;base64,")
    rgba = _decoded(base64.b64decode(body["image"].split(",", 1)[1]))
    assert rgba[..., 3].max() > 0
    assert client.get(url, query_string=PERIOD).status_code in (302, 401, 403)
    bad = analyst.get(url, query_string={"from": "2025-02-30", "lang": "en"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["detail"]
    empty = analyst.get(url, query_string={"from": "2020-01-01", "to": "2020-12-31"})
    assert empty.status_code == 200 and empty.get_json() == {
        "bounds": None,
        "image": None,
        "points": 0,
    }


def test_worried_places_are_listed_by_street(app, staff, planted, worried):
    analyst = app.test_client()
    sign_in(analyst, staff["analyst"])
    page = analyst.get("/staff/c/bucha/analysis/", query_string=PERIOD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    table = html[html.index('data-testid="concern-gaps"') :]
    table = table[: table.index("</section>")]
    assert table.count('class="gap-worry_without_record"') == 1
    assert "Мешканці занепокоєні, записів мало" in table
    assert '<td class="num">12</td>' in table
