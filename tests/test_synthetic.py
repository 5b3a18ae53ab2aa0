"""Synthetic incidents: inside the real polygon, reproducible, clustered, seasonal, national mix."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree
from shapely import affinity
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from geoapp.analysis.synthetic import SyntheticIncidents, article_weights, generate
from geoapp.config import default_data_dir
from geoapp.geo.crs import utm_srid

DATA_DIR = default_data_dir()
OSM_DIR = DATA_DIR / "boundaries" / "ukraine-osm"
HALYTSKYI = ("lvivska_oblast.lvivskyy_rayon.lvivska_miska_hromada.geojson", "UA46060250010121390")
BUCHA = ("kyyivska_oblast.buchanskyy_rayon.geojson", "UA32080070000050759")
START, END = date(2023, 1, 1), date(2024, 12, 31)


def _require_data() -> Path:
    # No skip: the suite always has ../shared beside it, so a missing folder is a real failure.
    assert (DATA_DIR / "README.md").is_file(), (
        f"reference data not found at {DATA_DIR}; set GEOAPP_DATA_DIR or put ../shared/data "
        "beside the project"
    )
    return DATA_DIR


def _community(file: str, katotth: str) -> BaseGeometry:
    """The community polygon in its UTM zone, as the app reprojects it."""
    frame = gpd.read_file(_require_data() / "boundaries" / "ukraine-osm" / file)
    frame = frame[(frame["katotth"] == katotth) & frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    assert len(frame) == 1, f"{katotth} not found once in {file}"
    srid = utm_srid(frame.geometry.iloc[0].centroid.x)
    return frame.to_crs(srid).geometry.iloc[0]


@pytest.fixture(scope="module")
def halytskyi() -> BaseGeometry:
    return _community(*HALYTSKYI)


@pytest.fixture(scope="module")
def bucha() -> BaseGeometry:
    return _community(*BUCHA)


@pytest.fixture(scope="module")
def weights() -> dict[str, float]:
    return article_weights(_require_data())


@pytest.fixture(scope="module")
def sample(halytskyi: BaseGeometry, weights: dict[str, float]) -> SyntheticIncidents:
    return generate(halytskyi, 200_000, weights=weights, seed=7, start=START, end=END)


def _uniform_in(area: BaseGeometry, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The null model: complete spatial randomness in the same polygon."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = area.bounds
    xs, ys = np.empty(0), np.empty(0)
    while xs.size < n:
        x = rng.uniform(minx, maxx, 4 * n)
        y = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(area, x, y)
        xs, ys = np.concatenate([xs, x[inside]]), np.concatenate([ys, y[inside]])
    return xs[:n], ys[:n]


def _quadrat_vmr(area: BaseGeometry, x: np.ndarray, y: np.ndarray, cell: float) -> float:
    """Variance/mean of counts over grid cells lying wholly inside the area (1 = random)."""
    minx, miny, maxx, maxy = area.bounds
    ex = np.arange(minx, maxx + cell, cell)
    ey = np.arange(miny, maxy + cell, cell)
    counts, _, _ = np.histogram2d(x, y, bins=[ex, ey])
    ix, iy = np.meshgrid(np.arange(ex.size - 1), np.arange(ey.size - 1), indexing="ij")
    cells = shapely.box(ex[ix], ey[iy], ex[ix] + cell, ey[iy] + cell)
    whole = shapely.contains(area, cells)
    assert whole.sum() >= 30, "too few whole cells for a quadrat test"
    inside = counts[whole]
    return float(inside.var() / inside.mean())


def _clark_evans(area: BaseGeometry, x: np.ndarray, y: np.ndarray) -> float:
    """Mean nearest-neighbour distance over its expectation under randomness (1 = random)."""
    distance, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return float(distance[:, 1].mean() / (0.5 / np.sqrt(x.size / area.area)))


# --- article_weights ----------------------------------------------------------------------


def test_article_weights_are_national_shares_keyed_like_the_app(weights: dict[str, float]) -> None:
    assert sum(weights.values()) == pytest.approx(1.0)
    assert "185" in weights
    assert max(weights, key=weights.__getitem__) == "185"
    assert 0.3 < weights["185"] < 0.5  # 2020: 138,562 of ~360,600 registered offences
    assert "126-1" in weights  # suffixed articles keep their suffix
    assert "125" in weights  # the 2020 asterisk ("Article  125*") is dropped
    assert all(re.fullmatch(r"\d{1,3}(-\d{1,2})?", code) for code in weights)
    assert all(share > 0 for share in weights.values())


def test_article_weights_by_year_and_missing_year() -> None:
    older = article_weights(_require_data(), year=2018)
    assert sum(older.values()) == pytest.approx(1.0)
    assert older["185"] == pytest.approx(238_492 / 487_097, abs=1e-3)
    with pytest.raises(FileNotFoundError, match="1999"):
        article_weights(_require_data(), year=1999)
    with pytest.raises(FileNotFoundError):
        article_weights(_require_data() / "no-such-folder")


# --- generate -------------------------------------------------------------------------------


def test_columns_have_the_promised_types(sample: SyntheticIncidents) -> None:
    assert len(sample) == 200_000
    assert sample.x.dtype == np.float64 and sample.y.dtype == np.float64
    assert sample.occurred_on.dtype == np.dtype("datetime64[D]")
    assert sample.article.dtype == object
    assert all(isinstance(code, str) for code in sample.article[:1000])
    assert {len(sample.x), len(sample.y), len(sample.occurred_on), len(sample.article)} == {200_000}


@pytest.mark.parametrize("which", ["halytskyi", "bucha"])
def test_every_point_inside_the_community(
    which: str, request: pytest.FixtureRequest, weights: dict[str, float]
) -> None:
    area = request.getfixturevalue(which)
    got = generate(area, 200_000, weights=weights, seed=3, start=START, end=END)
    assert shapely.contains_xy(area, got.x, got.y).all()


def test_holes_and_multipolygons_are_respected(
    halytskyi: BaseGeometry, weights: dict[str, float]
) -> None:
    centre = halytskyi.representative_point()
    hole = Point(centre.x, centre.y).buffer(500)
    other = affinity.translate(halytskyi, xoff=20_000)
    area = shapely.MultiPolygon([*shapely.get_parts(halytskyi.difference(hole)), other])
    got = generate(area, 50_000, weights=weights, seed=5, start=START, end=END)
    assert shapely.contains_xy(area, got.x, got.y).all()
    assert not shapely.contains_xy(hole, got.x, got.y).any()
    assert 0 < (got.x > centre.x + 10_000).sum() < got.x.size  # both parts are used


def test_same_seed_same_incidents_other_seed_others(
    halytskyi: BaseGeometry, weights: dict[str, float]
) -> None:
    def run(seed: int, w: dict[str, float]) -> SyntheticIncidents:
        return generate(halytskyi, 20_000, weights=w, seed=seed, start=START, end=END)

    first, again = run(11, weights), run(11, dict(reversed(list(weights.items()))))
    for column in ("x", "y", "occurred_on", "article"):
        assert np.array_equal(getattr(first, column), getattr(again, column)), column
    other = run(12, weights)
    assert not np.array_equal(first.x, other.x)
    assert not np.array_equal(first.occurred_on, other.occurred_on)
    assert not np.array_equal(first.article, other.article)


@pytest.mark.parametrize(("which", "cell"), [("halytskyi", 200.0), ("bucha", 1000.0)])
def test_clustered_far_beyond_a_uniform_sample(
    which: str, cell: float, request: pytest.FixtureRequest, weights: dict[str, float]
) -> None:
    area = request.getfixturevalue(which)
    got = generate(area, 50_000, weights=weights, seed=9, start=START, end=END)
    ux, uy = _uniform_in(area, 50_000, seed=9)

    uniform_vmr = _quadrat_vmr(area, ux, uy, cell)
    synthetic_vmr = _quadrat_vmr(area, got.x, got.y, cell)
    assert 0.7 < uniform_vmr < 1.4  # the test can tell randomness from clustering
    assert synthetic_vmr > 10 * uniform_vmr

    uniform_r = _clark_evans(area, ux, uy)
    synthetic_r = _clark_evans(area, got.x, got.y)
    assert 0.9 < uniform_r < 1.1
    assert synthetic_r < 0.9 * uniform_r


def test_summer_and_weekends_bring_more_incidents(sample: SyntheticIncidents) -> None:
    days = sample.occurred_on
    assert days.min() == np.datetime64(START) and days.max() == np.datetime64(END)
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    calendar = np.arange(np.datetime64(START), np.datetime64(END) + 1)
    calendar_month = calendar.astype("datetime64[M]").astype(int) % 12 + 1
    per_day = {m: (month == m).sum() / (calendar_month == m).sum() for m in range(1, 13)}
    summer = np.mean([per_day[m] for m in (6, 7, 8)])
    winter = np.mean([per_day[m] for m in (12, 1, 2)])
    assert summer > 1.3 * winter
    assert min(per_day[m] for m in (6, 7, 8)) > max(per_day[m] for m in (12, 1, 2))
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    counts = np.bincount(weekday, minlength=7)
    assert counts[5] > 1.1 * counts[1]  # Saturday over Tuesday


def test_article_mix_follows_national_weights(
    sample: SyntheticIncidents, weights: dict[str, float]
) -> None:
    codes, counts = np.unique(sample.article.astype(str), return_counts=True)
    shares = dict(zip(codes.tolist(), (counts / counts.sum()).tolist(), strict=True))
    assert set(shares) <= set(weights)
    assert max(shares, key=shares.__getitem__) == "185"
    assert shares["185"] == pytest.approx(weights["185"], abs=0.01)
    total_variation = 0.5 * sum(abs(shares.get(c, 0.0) - w) for c, w in weights.items())
    assert total_variation < 0.03


def test_edge_cases(halytskyi: BaseGeometry, weights: dict[str, float]) -> None:
    empty = generate(halytskyi, 0, weights=weights, seed=1, start=START, end=END)
    assert len(empty) == 0 and empty.occurred_on.dtype == np.dtype("datetime64[D]")
    one_day = generate(halytskyi, 1000, weights={"185": 2.0}, seed=1, start=END, end=END)
    assert (one_day.occurred_on == np.datetime64(END)).all()
    assert set(one_day.article) == {"185"}
    with pytest.raises(ValueError, match="after"):
        generate(halytskyi, 10, weights=weights, seed=1, start=END, end=START)
    with pytest.raises(ValueError, match="weights"):
        generate(halytskyi, 10, weights={}, seed=1, start=START, end=END)
    with pytest.raises(ValueError, match="empty"):
        generate(box(0, 0, 0, 0), 10, weights=weights, seed=1, start=START, end=END)
    with pytest.raises(ValueError, match="n must"):
        generate(halytskyi, -1, weights=weights, seed=1, start=START, end=END)
