"""The layer parameter grammar as an attacker sends it: no combination leaks.

Hypothesis draws what the public or a partner may send to `incident_cells` and `hotspots`,
as GeoJSON and as OGC API items: periods (years, quarters, months, junk), from/to dates,
incident groups (real and junk), sizes (every size and junk), bboxes (valid, inverted,
NaN, huge), status, limit/offset.  Every answer is either a 4xx JSON problem (never a 500,
never a stack trace) or features in which

* no count is 0 < n < k, and
* no hot spot class is computed from fewer than k offences: every hot cell (gi_bin > 0)
  has, within its Gi* neighbourhood (the distance band the analysis uses on the
  community's cells), published counts summing to at least k, published meaning the public
  `incident_cells` table of the same year and size (withheld cells count as 0).

And, the release policy (/work/RELEASE_POLICY.md): what answers 200 is the published
release only (its year, its size, all groups together).  The data is the contract test's
module seed (one published year, an unpublished one, the open year).
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from sqlalchemy.orm import Session

from geoapp.analysis.getis_ord import distance_band
from geoapp.analysis.hexgrid import covering_cells, hex_centres
from geoapp.geo.crs import project
from geoapp.services.communities import get_by_slug
from geoapp.services.hotspots import MIN_NEIGHBOURS
from tests.test_layer_contract import (  # noqa: F401 - the shared module seed
    OPEN,
    PUBLISHED,
    SLUG,
    UNPUBLISHED,
    clients,
    seed,
    small_counts,
)

LAYERS = ("incident_cells", "hotspots")
YEARS = st.sampled_from([UNPUBLISHED - 1, UNPUBLISHED, PUBLISHED, OPEN, OPEN + 1])
JUNK = st.sampled_from(["", " ", "2025-Q5", "2025-13", "2025-00", "abcd", "9999", "0",
                        "２０２５", "2025/01", "2025-1", "-2025", "1e3", "²", "null", "'; --",
                        "2025-02-30", "x" * 300])  # fmt: skip
PERIODS = st.one_of(
    YEARS.map(str),
    st.tuples(YEARS, st.integers(1, 4)).map(lambda t: f"{t[0]}-Q{t[1]}"),
    st.tuples(YEARS, st.integers(1, 12)).map(lambda t: f"{t[0]}-{t[1]:02d}"),
    JUNK,
)
DAYS = st.one_of(
    st.dates(min_value=date(UNPUBLISHED - 1, 1, 1), max_value=date(OPEN, 12, 31)).map(str),
    JUNK,
)
GROUPS = st.one_of(
    st.sampled_from(
        [
            "theft",
            "murder",
            "sexual_offences",
            "robbery",
            "drugs",
            "theft,murder",
            "nonsense",
            "theft,nonsense",
            "THEFT",
            ",",
            "vandalism",
        ]
    ),
    JUNK,
)
SIZES = st.sampled_from(["250", "500", "1000", "2000", "100", "0", "-500", "abc", "1e3",
                         "500.0", " 500", "²", ""])  # fmt: skip
NUMBERS = st.one_of(st.integers(-5, 3000).map(str), JUNK)
BBOXES = st.one_of(
    st.just("30.15,50.50,30.30,50.60"),  # around the station: valid
    st.just("30.30,50.60,30.15,50.50"),  # inverted
    st.just("nan,50.5,30.3,50.6"),
    st.just("-1000,-1000,1000,1000"),  # huge
    st.just("-180,-90,180,90"),
    st.just("30.2,50.5,30.3"),
    st.just("inf,50,31,51"),
    st.tuples(*[st.floats(allow_nan=True, allow_infinity=True)] * 4).map(
        lambda t: ",".join(repr(v) for v in t)
    ),
    JUNK,
)
PARAMETERS = st.fixed_dictionaries(
    {},
    optional={
        "period": PERIODS,
        "from": DAYS,
        "to": DAYS,
        "group": GROUPS,
        "size": SIZES,
        "bbox": BBOXES,
        "status": st.sampled_from(["accepted", "new", "x"]),
        "limit": NUMBERS,
        "offset": NUMBERS,
    },
)
REQUESTS = st.tuples(
    st.sampled_from(["public", "partner"]),
    st.sampled_from(LAYERS),
    st.sampled_from(["geojson", "ogc"]),
    PARAMETERS,
)
# Attack 1 of issue 18, written out: one day, one group, the finest size (the lone murder).
ONE_DAY = {"from": f"{PUBLISHED}-03-14", "to": f"{PUBLISHED}-03-14", "group": "murder",
           "size": "250"}  # fmt: skip
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _url(layer: str, output: str) -> str:
    if output == "ogc":
        return f"/ogc/collections/{SLUG}.{layer}/items"
    return f"/api/v1/communities/{SLUG}/layers/{layer}.geojson"


def _problem(resp, where: str) -> None:
    """A 4xx answer is a JSON problem that says what is wrong, not a trace."""
    raw = resp.get_data(as_text=True)
    assert "Traceback" not in raw and 'File "' not in raw, f"{where}: a stack trace"
    body = json.loads(raw)
    assert isinstance(body, dict) and body.get("title"), f"{where}: no title: {raw[:200]}"
    assert body.get("detail"), f"{where}: no detail: {raw[:200]}"


def _answer(clients, who: str, layer: str, output: str, params: dict):  # noqa: F811
    where = f"{who} {_url(layer, output)}?{params}"
    resp = clients[who].get(_url(layer, output), query_string=params)
    assert resp.status_code < 500, f"{where}: {resp.status_code}"
    if resp.status_code != 200:
        assert 400 <= resp.status_code < 500, f"{where}: {resp.status_code}"
        _problem(resp, where)
        return where, None
    return where, resp.get_json()


@pytest.fixture(scope="module")
def geometry(engine, seed):  # noqa: F811
    """The community's metric CRS and Gi*'s neighbourhood band for each cell size."""
    with Session(engine) as sess:
        bucha = get_by_slug(sess, SLUG)
        srid, boundary = bucha.metric_srid, shapely.from_wkb(bytes(bucha.geom.data))
    area = project(boundary, 4326, srid)

    @cache
    def band(size: int) -> float:
        ci, cj = covering_cells(area, float(size))
        return float(distance_band(*hex_centres(ci, cj, float(size)), MIN_NEIGHBOURS).distance)

    return srid, band


def _centres(features: list[dict], srid: int) -> np.ndarray:
    """Each feature's centroid in the metric CRS, (n, 2)."""
    if not features:
        return np.zeros((0, 2))
    shapes = [shapely.geometry.shape(f["geometry"]) for f in features]
    xy = np.array([(s.centroid.x, s.centroid.y) for s in shapes])
    x, y = Transformer.from_crs(4326, srid, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


@pytest.fixture(scope="module")
def published(clients, geometry):  # noqa: F811
    """The public table of the published year at a size: metric centres and counts (0 when
    withheld); empty when the public is not given that size."""
    srid, _band = geometry

    @cache
    def table(size: int) -> tuple[np.ndarray, np.ndarray]:
        url = f"/api/v1/communities/{SLUG}/layers/incident_cells.geojson"
        params = {"period": str(PUBLISHED), "size": str(size)}
        resp = clients["public"].get(url, query_string=params)
        if resp.status_code != 200:
            return np.zeros((0, 2)), np.zeros(0)
        features = resp.get_json()["features"]
        counts = np.array([f["properties"]["count"] or 0 for f in features], dtype=float)
        return _centres(features, srid), counts

    return table


def _hotspot_checks(body: dict, where: str, k: int, geometry, published) -> None:
    """No class from fewer than k published offences (the neighbourhood sum of each hot cell)."""
    srid, band = geometry
    features = body["features"]
    classed = [f for f in features if (f["properties"].get("gi_bin") or 0) != 0]
    if not classed:
        return
    size = int(body["metadata"]["cell_size_m"])
    centres, counts = published(size)
    assert counts.sum() >= k, f"{where}: classes, but {counts.sum():g} published offences"
    hot = [f for f in classed if f["properties"]["gi_bin"] > 0]
    reach = band(size) + 1.0
    for centre, feature in zip(_centres(hot, srid), hot, strict=True):
        near = np.hypot(*(centres - centre).T) <= reach if len(centres) else np.zeros(0, bool)
        total = counts[near].sum()
        assert total >= k, (f"{where}: hot cell {feature['id']} (gi_bin "
                            f"{feature['properties']['gi_bin']}) has {total:g} published "
                            f"offences within {reach:.0f} m")  # fmt: skip


@SETTINGS
@given(asked=REQUESTS)
@example(asked=("partner", "hotspots", "geojson", ONE_DAY))
@example(asked=("partner", "hotspots", "ogc", {**ONE_DAY, "size": "500"}))
@example(asked=("partner", "hotspots", "geojson", {"period": f"{PUBLISHED}-03", "size": "500"}))
def test_no_parameters_yield_a_small_count_or_a_class_from_few(
    clients,  # noqa: F811
    seed,  # noqa: F811
    geometry,
    published,
    asked,
):
    who, layer, output, params = asked
    where, body = _answer(clients, who, layer, output, params)
    if body is None:
        return
    for feature in body["features"]:
        bad = small_counts(feature["properties"], seed.k)
        assert not bad, f"{where}: counts below k={seed.k}: {bad}"
    bad = small_counts(body.get("metadata", {}), seed.k)
    assert not bad, f"{where}: metadata counts below k={seed.k}: {bad}"
    if layer == "hotspots":
        _hotspot_checks(body, where, seed.k, geometry, published)


@SETTINGS
@given(asked=REQUESTS)
@example(asked=("public", "incident_cells", "geojson", {}))
@example(asked=("public", "incident_cells", "geojson", {"period": str(UNPUBLISHED)}))
@example(asked=("partner", "hotspots", "geojson", {"period": str(PUBLISHED)}))
def test_only_the_published_release_answers(clients, seed, asked):  # noqa: F811
    """Rule 1 and 2: 200 only for the published year, all groups, at the release's size."""
    who, layer, output, params = asked
    where, body = _answer(clients, who, layer, output, params)
    if body is None:
        return
    assert not params.get("group"), f"{where}: a group was answered"
    assert not params.get("from") and not params.get("to"), f"{where}: from/to were answered"
    meta = body["metadata"]
    assert int(meta["cell_size_m"]) == seed.release_size, f"{where}: size {meta['cell_size_m']}"
    period = meta.get("period")
    if isinstance(period, dict):  # hot spots state their window as from/to
        assert period == {"from": f"{PUBLISHED}-01-01", "to": f"{PUBLISHED}-12-31"}, where
    else:
        assert str(period) == str(PUBLISHED), f"{where}: period {period}"


def test_the_strategies_reach_the_published_release(clients, seed):  # noqa: F811
    """The property tests mean something only if a lawful request gets features."""
    for who in ("public", "partner"):
        for output in ("geojson", "ogc"):
            params = {"period": str(PUBLISHED), "size": str(seed.release_size)}
            _where, body = _answer(clients, who, "incident_cells", output, params)
            assert body is not None and body["features"], (who, output)
    _where, body = _answer(clients, "partner", "hotspots", "geojson", params)
    assert body is not None and body["features"]
