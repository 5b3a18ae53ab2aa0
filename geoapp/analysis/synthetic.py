"""Synthetic crime incidents that look like real ones, for demos and benchmarks.

Real incident data is confidential, yet the map, the hotspot analysis and the
benchmarks need millions of plausible rows inside a real community polygon.
Uniform noise would be useless for that: it has no hotspots, no seasons and no
dominant offence, so every analysis on it looks the same.  This module draws:

* places from a two-level Neyman-Scott (Thomas) process: a few settlement
  cores, attractors (markets, transport hubs, nightlife streets, residential
  blocks) clustered around them with heavy-tailed (Pareto) intensities,
  incidents scattered around each attractor with a Gaussian offset, plus a
  modest uniform background; offence groups prefer attractor kinds (theft near
  markets, hooliganism near nightlife, domestic violence at home), while the
  article mix stays exactly the national one;
* days uniformly over the period, modulated by a summer peak and a weekly rhythm;
* articles from the national shares of `article_weights`.

Everything is vectorised NumPy and shapely 2, pure (no database), and
reproducible: one seed gives one data set, and the hotspot layout depends only
on the seed and the area, so a small and a large run share their hotspots.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["SyntheticIncidents", "article_weights", "generate"]

_STATS_GLOB = "crime-stats/pgo-national-by-article-*.csv"
_STATS_YEAR = re.compile(r"pgo-national-by-article-(\d{4})\.csv$")
# "Article  185", "Article 126-1", "Article  125*" (2020 marks criminal misdemeanours
# with an asterisk), and, should a Ukrainian edition turn up, "Стаття 185" / "ст. 185".
_STATS_ARTICLE = re.compile(
    r"^\s*(?:article|стаття|ст\.?)?\s*(\d{1,3})(?:\s*-\s*(\d{1,2}))?\s*\**\s*$", re.IGNORECASE
)

# Attractor kinds and the offence groups that prefer them.  The affinities only move
# incidents between attractors; they never change how many incidents an article gets.
KINDS = ("market", "transport", "nightlife", "residential")
KIND_SHARES = (0.30, 0.20, 0.20, 0.30)
GROUPS = ("property", "violence", "disorder", "traffic", "domestic", "other")
AFFINITY = np.array(
    [
        # market transport nightlife residential
        [3.0, 2.0, 1.0, 0.5],  # property: theft, robbery, fraud at the till (185-198)
        [0.7, 1.0, 3.0, 1.0],  # violence: murder, bodily harm, threats (115-129)
        [0.7, 1.5, 3.0, 0.7],  # disorder: hooliganism, drugs (293-327)
        [1.0, 3.0, 1.0, 0.5],  # traffic: road accidents (286, 286-1)
        [0.2, 0.2, 0.5, 3.0],  # domestic: domestic violence, sexual offences
        [1.0, 1.0, 1.0, 1.0],  # other: forgery, official misconduct, online fraud ...
    ]
)
# Share of each group drawn uniformly over the area instead of near an attractor.
BACKGROUND = np.array([0.08, 0.15, 0.10, 0.15, 0.35, 0.25])

SIGMA_BOUNDS = (80.0, 400.0)  # metres: the spread of incidents around one attractor
SEASON_AMPLITUDE = 0.25  # +-25 %: July about 1.6 times January
SEASON_PEAK_DOY = 196  # mid-July
# Monday .. Sunday: Friday and Saturday nights bring more incidents.
WEEKDAY_FACTORS = np.array([0.96, 0.94, 0.95, 0.98, 1.08, 1.14, 0.95])

_MAX_CHILD_ROUNDS = 64
_MAX_BATCH = 4_000_000  # candidate points per round: bounds memory for ragged areas


def article_weights(data_dir: str | Path, year: int | None = None) -> dict[str, float]:
    """National share of every Criminal Code article, keyed as the app writes articles.

    The synthetic mix must match the real one (theft, art. 185, is 40-50 % of all
    registered offences), and the only open source for that is the national Form
    No. 1 statistics.  Codes lose the statistics' "Article" prefix and the 2020
    asterisk ("Article  125*" -> "125") so they match `normalise_article`; the
    per-chapter "Others" rows name no article and are left out, as are articles
    with no registered offences, so every key can really be drawn.

    Raises FileNotFoundError when there is no statistics file (or none for `year`).
    """
    files: dict[int, Path] = {}
    for path in Path(data_dir).glob(_STATS_GLOB):
        match = _STATS_YEAR.search(path.name)
        if match:
            files[int(match.group(1))] = path
    if not files:
        raise FileNotFoundError(f"no national statistics ({_STATS_GLOB}) under {data_dir}")
    chosen = max(files) if year is None else year
    if chosen not in files:
        raise FileNotFoundError(
            f"no national statistics for {chosen} under {data_dir}; have {sorted(files)}"
        )

    counts: dict[str, float] = {}
    with files[chosen].open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            match = _STATS_ARTICLE.match(row.get("Article") or "")
            registered = (row.get("ACC") or "").strip()
            if not match or not registered:
                continue
            number, suffix = match.groups()
            code = f"{int(number)}-{int(suffix)}" if suffix else str(int(number))
            counts[code] = counts.get(code, 0.0) + float(registered)
    total = sum(counts.values())
    if total <= 0:
        raise ValueError(f"{files[chosen]} registers no offences")
    return {code: count / total for code, count in counts.items() if count > 0}


@dataclass(frozen=True)
class SyntheticIncidents:
    """Columns of synthetic incidents, ready for a bulk insert or an analysis.

    Columns rather than row objects because millions of rows must fit in memory
    and go to COPY or to NumPy analyses without a Python loop.
    """

    x: np.ndarray  # float64, metric CRS of `area`
    y: np.ndarray
    occurred_on: np.ndarray  # datetime64[D]
    article: np.ndarray  # object (str) array of article codes

    def __len__(self) -> int:
        """The number of incidents, so callers can size batches and progress bars."""
        return int(self.x.shape[0])


def generate(
    area: BaseGeometry,
    n: int,
    *,
    weights: dict[str, float],
    seed: int,
    start: date,
    end: date,
) -> SyntheticIncidents:
    """`n` realistic incidents inside `area`, between `start` and `end` inclusive.

    `area` is a Polygon or MultiPolygon in a metric CRS (the community's UTM zone),
    because the cluster sizes are in metres.  Every point lies strictly inside it
    (shapely's `contains_xy`).  `weights` maps article codes to shares, normally
    from `article_weights`; they are normalised here.  The same seed gives the same
    incidents, bit for bit, whatever the dict order of `weights`.

    Raises ValueError for a negative `n`, an empty area, `start` after `end`, or
    weights that are empty, negative or all zero.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    codes, probs = _normalised(weights)
    geom = _prepared_copy(area)

    layout_ss, space_ss, time_ss, article_ss = np.random.SeedSequence(seed).spawn(4)
    article_idx = np.random.default_rng(article_ss).choice(len(codes), size=n, p=probs)
    article = np.asarray(codes, dtype=object)[article_idx]

    groups = np.array([GROUPS.index(_group_of(code)) for code in codes], dtype=np.int8)
    layout = _layout(geom, np.random.default_rng(layout_ss))
    x, y = _places(geom, layout, groups[article_idx], np.random.default_rng(space_ss))
    occurred_on = _days(n, start, end, np.random.default_rng(time_ss))
    return SyntheticIncidents(x=x, y=y, occurred_on=occurred_on, article=article)


# --- articles ---------------------------------------------------------------------------


def _normalised(weights: dict[str, float]) -> tuple[list[str], np.ndarray]:
    """Codes in a fixed order with their probabilities, so dict order cannot change results."""
    codes = sorted(code for code, share in weights.items() if share > 0)
    if not codes:
        raise ValueError("weights has no article with a positive share")
    values = np.array([weights[code] for code in codes], dtype=np.float64)
    if not np.all(np.isfinite(values)) or any(share < 0 for share in weights.values()):
        raise ValueError("weights must be finite and non-negative")
    return codes, values / values.sum()


def _group_of(code: str) -> str:
    """The offence group of an article code, after the Special Part's chapters."""
    match = re.match(r"(\d+)", code)
    if not match:
        return "other"
    number = int(match.group(1))
    if code == "126-1" or 152 <= number <= 156:
        return "domestic"
    if 185 <= number <= 198:
        return "property"
    if 115 <= number <= 129:
        return "violence"
    if 293 <= number <= 327:
        return "disorder"
    if number == 286:
        return "traffic"
    return "other"


# --- places -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Attractor positions, spreads and per-group selection probabilities."""

    ax: np.ndarray
    ay: np.ndarray
    sigma: np.ndarray
    # (len(GROUPS), n_attractors + 1): the last column is the uniform background.
    component_p: np.ndarray


def _prepared_copy(area: Any) -> BaseGeometry:
    """A prepared copy of `area`: fast point tests without mutating the caller's object."""
    if not isinstance(area, BaseGeometry) or area.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"area must be a shapely Polygon or MultiPolygon, got {type(area)}")
    if area.is_empty or area.area <= 0:
        raise ValueError("area is empty")
    geom = shapely.from_wkb(shapely.to_wkb(area))
    shapely.prepare(geom)
    return geom


def _layout(geom: BaseGeometry, rng: np.random.Generator) -> _Layout:
    """Settlement cores and attractors, scaled to the area's size.

    A city district (6.5 km²) gets ~35 attractors around a couple of cores with spreads
    of 80-170 m; a hromada (260 km²) gets ~170 around ~10 settlement cores with spreads
    of 180-400 m.  The Pareto tail puts about half the incidents in 4-8 % of the
    100 m cells, near the "law of crime concentration" seen in real city data.
    """
    area_km2 = geom.area / 1e6
    side = math.sqrt(geom.area)  # metres
    n_cores = int(np.clip(round(math.sqrt(area_km2) / 1.5), 1, 12))
    n_attr = int(np.clip(round(10 * math.sqrt(area_km2) + 10), 16, 300))
    core_spread = float(np.clip(0.12 * side, 250.0, 2000.0))
    sigma_base = float(np.clip(0.04 * side, 80.0, 300.0))

    cx, cy = _uniform(geom, n_cores, rng)
    core_w = rng.pareto(1.2, n_cores) + 1.0
    # 70 % of attractors gather around the cores (in proportion to the cores' weight),
    # the rest are scattered: a district has shops and bus stops everywhere.
    near = rng.random(n_attr) < 0.7
    core_of = rng.choice(n_cores, size=n_attr, p=core_w / core_w.sum())
    ax = np.empty(n_attr)
    ay = np.empty(n_attr)
    ux, uy = _uniform(geom, int((~near).sum()), rng)
    ax[~near], ay[~near] = ux, uy
    gx, gy = _gaussian_inside(
        geom, cx[core_of[near]], cy[core_of[near]], np.full(int(near.sum()), core_spread), rng
    )
    ax[near], ay[near] = gx, gy

    intensity = rng.pareto(1.2, n_attr) + 1.0  # heavy tail: a few dominant hotspots
    sigma = np.clip(sigma_base * np.exp(rng.uniform(-0.5, 0.5, n_attr)), *SIGMA_BOUNDS)
    kind = rng.choice(len(KINDS), size=n_attr, p=np.array(KIND_SHARES))

    component_p = np.empty((len(GROUPS), n_attr + 1))
    for g in range(len(GROUPS)):
        pull = intensity * AFFINITY[g, kind]
        component_p[g, :n_attr] = (1.0 - BACKGROUND[g]) * pull / pull.sum()
        component_p[g, n_attr] = BACKGROUND[g]
    return _Layout(ax=ax, ay=ay, sigma=sigma, component_p=component_p)


def _places(
    geom: BaseGeometry, layout: _Layout, group: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One point per incident: near the attractor its group picks, or in the background."""
    n = group.shape[0]
    n_attr = layout.ax.shape[0]
    component = np.empty(n, dtype=np.int64)
    for g in range(len(GROUPS)):
        rows = np.flatnonzero(group == g)
        if rows.size:
            component[rows] = rng.choice(n_attr + 1, size=rows.size, p=layout.component_p[g])

    x = np.empty(n)
    y = np.empty(n)
    background = component == n_attr
    x[background], y[background] = _uniform(geom, int(background.sum()), rng)
    near = np.flatnonzero(~background)
    k = component[near]
    x[near], y[near] = _gaussian_inside(geom, layout.ax[k], layout.ay[k], layout.sigma[k], rng)
    return x, y


def _gaussian_inside(
    geom: BaseGeometry,
    mx: np.ndarray,
    my: np.ndarray,
    sigma: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian offsets from each centre, redrawn until inside (a truncated Gaussian).

    A point keeps its centre while it is redrawn, so a hotspot by the boundary keeps
    its full weight.  Only if a centre sits in a sliver where few offsets land does
    the remainder (after many rounds) fall back to uniform points, which bounds the time.
    """
    x = mx + sigma * rng.standard_normal(mx.shape[0])
    y = my + sigma * rng.standard_normal(my.shape[0])
    todo = np.flatnonzero(~shapely.contains_xy(geom, x, y))
    for _ in range(_MAX_CHILD_ROUNDS):
        if todo.size == 0:
            return x, y
        x[todo] = mx[todo] + sigma[todo] * rng.standard_normal(todo.size)
        y[todo] = my[todo] + sigma[todo] * rng.standard_normal(todo.size)
        todo = todo[~shapely.contains_xy(geom, x[todo], y[todo])]
    x[todo], y[todo] = _uniform(geom, todo.size, rng)
    return x, y


def _uniform(geom: BaseGeometry, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`m` uniform points inside `geom`, oversampling the bounding box by its fill ratio.

    Oversampling by the measured fill ratio keeps a thin or ragged community (where
    most of the box is outside) to a couple of rounds instead of thousands; batches
    are capped so that millions of points never need a gigabyte of candidates.
    """
    minx, miny, maxx, maxy = geom.bounds
    fill = geom.area / max((maxx - minx) * (maxy - miny), 1e-12)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    have = 0
    while have < m:
        draw = min(math.ceil((m - have) / fill * 1.1) + 16, _MAX_BATCH)
        cx = rng.uniform(minx, maxx, draw)
        cy = rng.uniform(miny, maxy, draw)
        inside = shapely.contains_xy(geom, cx, cy)
        xs.append(cx[inside])
        ys.append(cy[inside])
        have += int(inside.sum())
    if not xs:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs)[:m], np.concatenate(ys)[:m]


# --- days -------------------------------------------------------------------------------


def _days(n: int, start: date, end: date, rng: np.random.Generator) -> np.ndarray:
    """Days between `start` and `end` inclusive, weighted by season and weekday.

    Street crime in Ukraine, as elsewhere, rises in the warm months and on Friday
    and Saturday; a flat calendar would make every monthly chart a straight line.
    """
    first = np.datetime64(start, "D")
    span = int((np.datetime64(end, "D") - first).astype(np.int64)) + 1
    days = first + np.arange(span)
    doy = (days - days.astype("datetime64[Y]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weight = 1.0 + SEASON_AMPLITUDE * np.cos(2.0 * np.pi * (doy - SEASON_PEAK_DOY) / 365.25)
    weight *= WEEKDAY_FACTORS[weekday]
    return days[rng.choice(span, size=n, p=weight / weight.sum())]
