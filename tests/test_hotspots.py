"""Hot spots on real PostGIS: a planted cluster is found where it was planted and nowhere
else, partners see classes only, the cache follows the data, bad parameters are 400."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.services import tokens
from geoapp.services.communities import get_by_slug
from geoapp.services.hotspots import HotspotQuery, MemoryCache, analyse, clusters, compute
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, sign_in

LAYER = "/api/v1/communities/bucha/layers/hotspots.geojson"
PLANTED = (30.2100, 50.5450)  # Bucha railway station
PERIOD = {"from": "2025-01-01", "to": "2025-12-31"}


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
    yield community_id, centre
    with Session(engine) as sess:
        for table in ("incident_cell", "incident", "import_batch"):
            sess.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": community_id})
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
    partner = client.get(LAYER, query_string=PERIOD,
                         headers={"Authorization": f"Bearer {token}"}).get_json()  # fmt: skip
    classes = [f["properties"] for f in partner["features"]]
    assert [p["gi_bin"] for p in classes] == [p["gi_bin"] for p in props]
    assert all(p["gi_z"] is None and p["gi_p"] is None and p["count"] is None for p in classes)
    assert partner["metadata"]["classes_only"] is True
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
    resp = analyst.get(LAYER, query_string=query)
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
