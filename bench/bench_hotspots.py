"""Hot spot analysis without a database: geoapp's Gi* against esda, its heat surface against KDEpy.

geoapp computes Gi* analytically (sparse products, normal p-values, ArcGIS-style FDR
classes) where esda's `G_Local` is the reference implementation analysts use, with or
without permutation inference; the heat surface is a binned FFT KDE, as KDEpy's FFTKDE
is.  Both pairs get the same inputs: the same cells and neighbours, the same points,
bandwidth and grid.  The goals: Gi* at least 10x faster than esda's analytic run with
identical classes, and the heat surface no slower than KDEpy.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import esda
import libpysal
import numpy as np
from KDEpy import FFTKDE
from KDEpy.utils import cartesian
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.common import Outcome, Row, database_url, log, timed
from geoapp.analysis.getis_ord import Band, distance_band, fdr_bins, gi_star
from geoapp.analysis.heat import default_bandwidth, heat_surface

NAME = "hotspots"
GOAL = 10.0  # esda G_Local(permutations=0) time / geoapp gi_star time, identical classes
HEAT_GOAL = 1.0  # KDEpy time / geoapp time
CELLS = (10_000, 100_000)
POINTS = 1_000_000
PERMUTATIONS = 999
PERMUTATION_JOBS = 2
PERMUTATION_LIMIT_S = 600.0  # permutations on the larger grid only if estimated below this
SEED = 2024
SPACING = 500.0  # metres between neighbouring hexagon centres
HEAT_SIDE = 30_000.0  # the points fall in a square of this side, metres
HEAT_CELL = 50.0
HEAT_AGREEMENT = 0.02  # largest |geoapp - KDEpy| allowed, as a share of the peak density
WARM_UP_CELLS = 1_000
WARM_UP_POINTS = 10_000


@dataclass
class Measured:
    """One contender's run: its result, wall-clock seconds and peak traced memory."""

    result: Any
    seconds: float
    peak_bytes: int | None  # None: not measured


def measure(fn: Callable[[], Any], *, memory: bool = True) -> Measured:
    """Time `fn` once, then (if asked) run it again under tracemalloc for its peak memory.

    Two runs, because tracemalloc slows every allocation down: the time comes from a run
    without it.  The peak counts Python and NumPy allocations of this process only.
    """
    gc.collect()
    with timed() as clock:
        result = fn()
    peak = None
    if memory:
        del result
        gc.collect()
        tracemalloc.start()
        try:
            result = fn()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return Measured(result=result, seconds=clock.seconds, peak_bytes=peak)


def hexagon_centres(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The centres of `n` hexagons `SPACING` metres apart, row by row in a near-square block."""
    cols = math.ceil(math.sqrt(n))
    k = np.arange(n)
    row, col = k // cols, k % cols
    x = (col + 0.5 * (row % 2)) * SPACING
    y = row * SPACING * math.sqrt(3) / 2
    return x.astype(np.float64), y.astype(np.float64)


def cell_counts(x: np.ndarray, y: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Poisson counts: a background of 2 per cell and a few smooth hot areas (fixed seed).

    The hot areas (one per 2,000 cells, 1.5 km across, up to 8 more per cell) give the
    classes something to find, so "identical classes" compares more than zeros.
    """
    rng = np.random.default_rng(seed)
    centres = rng.choice(len(x), size=max(1, len(x) // 2000), replace=False)
    intensity = np.full(len(x), 2.0)
    for c in centres:
        d2 = (x - x[c]) ** 2 + (y - y[c]) ** 2
        intensity += 8.0 * np.exp(-d2 / (2 * 1500.0**2))
    return rng.poisson(intensity).astype(np.float64)


def to_libpysal(band: Band) -> libpysal.weights.W:
    """The same neighbours as a libpysal W (binary, no self-weights: esda adds them)."""
    return libpysal.weights.WSP(band.w.tocsr()).to_W(silence_warnings=True)


def esda_g(values: np.ndarray, w: libpysal.weights.W, permutations: int) -> esda.G_Local:
    """Gi* by esda: binary weights, star=True, as its documentation recommends."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if permutations:
            return esda.G_Local(values, w, transform="B", star=True, permutations=permutations,
                                keep_simulations=False, n_jobs=PERMUTATION_JOBS,
                                seed=SEED)  # fmt: skip
        return esda.G_Local(values, w, transform="B", star=True, permutations=0)


def esda_classes(g: esda.G_Local) -> np.ndarray:
    """FDR classes from esda's Zs, binned exactly as geoapp bins its own z-scores."""
    z = np.asarray(g.Zs, dtype=np.float64)
    return fdr_bins(z, 2.0 * np.asarray(g.p_norm, dtype=np.float64))  # p_norm is one-sided


def permutation_classes(g: esda.G_Local) -> np.ndarray:
    """FDR classes from esda's permutation p-values (two-sided: twice the folded p_sim)."""
    p = np.minimum(1.0, 2.0 * np.asarray(g.p_sim, dtype=np.float64))
    return fdr_bins(np.asarray(g.Zs, dtype=np.float64), p)


@dataclass
class GiRun:
    """Gi* on one grid: geoapp, esda analytic and (maybe) esda with permutations."""

    cells: int
    neighbours: tuple[int, int]
    band_m: float
    band_s: float
    convert_s: float
    ours: Measured
    analytic: Measured
    permuted: Measured | None
    identical: bool
    max_z_diff: float
    counts: dict[int, int]  # geoapp's classes: bin -> cells
    permuted_strong: int | None  # cells at |bin| 3 from the permutation p-values


def gi_run(n: int, permutations: bool) -> GiRun:
    """Build the grid and weights (timed for the notes), then time the three contenders."""
    x, y = hexagon_centres(n)
    values = cell_counts(x, y)
    with timed() as band_time:
        band = distance_band(x, y)
    with timed() as convert_time:
        w = to_libpysal(band)
    log(
        f"[{NAME}] {n:,} cells: band {band.distance:.0f} m, "
        f"{band.neighbours.min()}-{band.neighbours.max()} neighbours, distance_band "
        f"{band_time.seconds:.2f} s, libpysal W {convert_time.seconds:.2f} s"
    )
    ours = measure(lambda: gi_star(values, band))
    log(f"[{NAME}] geoapp gi_star: {ours.seconds:.3f} s")
    analytic = measure(lambda: esda_g(values, w, 0))
    log(f"[{NAME}] esda G_Local(permutations=0): {analytic.seconds:.3f} s")
    permuted = None
    strong = None
    if permutations:
        permuted = measure(lambda: esda_g(values, w, PERMUTATIONS), memory=False)
        strong = int((np.abs(permutation_classes(permuted.result)) == 3).sum())
        log(f"[{NAME}] esda G_Local(permutations={PERMUTATIONS}): {permuted.seconds:.1f} s")
    theirs = esda_classes(analytic.result)
    mine = ours.result.bin
    bins, freq = np.unique(mine, return_counts=True)
    return GiRun(
        cells=n,
        neighbours=(int(band.neighbours.min()), int(band.neighbours.max())),
        band_m=band.distance,
        band_s=band_time.seconds,
        convert_s=convert_time.seconds,
        ours=ours,
        analytic=analytic,
        permuted=permuted,
        identical=bool(np.array_equal(mine, theirs)),
        max_z_diff=float(np.abs(ours.result.z - analytic.result.Zs).max()),
        counts={int(b): int(f) for b, f in zip(bins, freq, strict=True)},
        permuted_strong=strong,
    )


def heat_points(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """`n` clustered points in a `HEAT_SIDE` square: 80 % around 200 centres, 20 % uniform."""
    rng = np.random.default_rng(seed)
    parents = rng.uniform(0, HEAT_SIDE, size=(200, 2))
    clustered = int(n * 0.8)
    which = rng.integers(0, len(parents), clustered)
    near = parents[which] + rng.normal(0, 400.0, size=(clustered, 2))
    spread = rng.uniform(0, HEAT_SIDE, size=(n - clustered, 2))
    points = np.clip(np.vstack([near, spread]), 0, HEAT_SIDE)
    return points[:, 0].copy(), points[:, 1].copy()


@dataclass
class HeatRun:
    """The heat surface of the same points, grid and bandwidth: geoapp and KDEpy."""

    points: int
    grid: tuple[int, int]
    ours: Measured
    kdepy: Measured
    worst: float  # largest |difference| / peak density


def heat_run(n: int) -> HeatRun:
    """Time geoapp's heat_surface and KDEpy's FFTKDE on the same points, bandwidth and grid."""
    x, y = heat_points(n)
    h = default_bandwidth(x, y, HEAT_CELL)
    heat_surface(x[:WARM_UP_POINTS], y[:WARM_UP_POINTS], HEAT_CELL, bandwidth=h)  # warm-up
    layout = heat_surface(x, y, HEAT_CELL, bandwidth=h)  # untimed: gives the grid
    # KDEpy cuts its Gaussian where the 1-D value drops below an absolute 1e-4, so it is
    # given coordinates in bandwidths (bw = 1, cut at 3.9 h); its density is per h^2.
    data = np.column_stack([x, y]) / h
    grid = cartesian([layout.xs / h, layout.ys / h])
    FFTKDE(kernel="gaussian", bw=1.0).fit(data[:WARM_UP_POINTS]).evaluate(grid)
    ours = measure(lambda: heat_surface(x, y, HEAT_CELL, bandwidth=h))
    log(f"[{NAME}] geoapp heat_surface: {ours.seconds:.3f} s")
    kdepy = measure(lambda: FFTKDE(kernel="gaussian", bw=1.0).fit(data).evaluate(grid))
    log(f"[{NAME}] KDEpy FFTKDE: {kdepy.seconds:.3f} s")
    theirs = kdepy.result.reshape(len(layout.xs), len(layout.ys)).T / h**2
    mine = ours.result.density / n
    worst = float(np.abs(mine - theirs).max() / theirs.max())
    return HeatRun(points=n, grid=mine.shape, ours=ours, kdepy=kdepy, worst=worst)


def warm_up() -> None:
    """Untimed first calls: imports, FFT set-up and esda's code paths on a small grid."""
    x, y = hexagon_centres(WARM_UP_CELLS)
    values = cell_counts(x, y)
    band = distance_band(x, y)
    gi_star(values, band)
    w = to_libpysal(band)
    esda_g(values, w, 0)
    esda_g(values, w, PERMUTATIONS)


END_TO_END_GOAL_S = 2.0


def run(cells: tuple[int, ...] = CELLS, points: int = POINTS) -> Outcome:
    """Time Gi* (geoapp, esda analytic, esda permutations) and the heat surface; no database."""
    warm_up()
    started = time.perf_counter()
    runs: list[GiRun] = []
    skipped: list[str] = []
    last: tuple[int, float] | None = None  # (cells, seconds) of the last permutation run
    for n in sorted(cells):
        # Permutations cost O(cells x permutations x neighbours): extrapolate linearly.
        estimate = 0.0 if last is None else last[1] * n / last[0]
        permute = estimate <= PERMUTATION_LIMIT_S
        if not permute:
            skipped.append(f"{n:,} cells (estimated {estimate / 60:.1f} min)")
        runs.append(gi_run(n, permutations=permute))
        if runs[-1].permuted is not None:
            last = (n, runs[-1].permuted.seconds)
    heat = heat_run(points)
    log(f"[{NAME}] done in {time.perf_counter() - started:.0f} s")

    table: list[Row] = []
    for r in runs:
        speed_up = r.analytic.seconds / r.ours.seconds
        table.append(Row(
            benchmark=f"hotspots: Gi* with FDR classes, {r.cells:,} cells, geoapp gi_star vs "
            "esda G_Local(star, permutations=0)",
            geoapp_s=r.ours.seconds, anchor_s=r.analytic.seconds,
            ratio=f"{speed_up:.1f}× (esda / geoapp)",
            goal=f"≥ {GOAL:.0f}× and identical classes",
            met=speed_up >= GOAL and r.identical,
        ))  # fmt: skip
        if r.permuted is not None:
            table.append(Row(
                benchmark=f"hotspots: Gi*, {r.cells:,} cells, geoapp gi_star vs esda "
                f"G_Local(permutations={PERMUTATIONS}, n_jobs={PERMUTATION_JOBS})",
                geoapp_s=r.ours.seconds, anchor_s=r.permuted.seconds,
                ratio=f"{r.permuted.seconds / r.ours.seconds:.0f}× (esda / geoapp)",
                goal="n/a (information)", met=None,
            ))  # fmt: skip
    heat_ratio = heat.kdepy.seconds / heat.ours.seconds
    table.append(Row(
        benchmark=f"hotspots: heat surface, {heat.points:,} points, {heat.grid[1]}×"
        f"{heat.grid[0]} grid of {HEAT_CELL:.0f} m, geoapp heat_surface vs KDEpy FFTKDE",
        geoapp_s=heat.ours.seconds, anchor_s=heat.kdepy.seconds,
        ratio=f"{heat_ratio:.2f}× (KDEpy / geoapp)",
        goal=f"≥ {HEAT_GOAL:.0f}× (no slower), within {HEAT_AGREEMENT:.0%} of the peak",
        met=heat_ratio >= HEAT_GOAL and heat.worst <= HEAT_AGREEMENT,
    ))  # fmt: skip
    notes = _notes(runs, heat, skipped)
    whole = end_to_end()
    table.append(Row(
        benchmark=f"hotspots: end to end, {whole.incidents:,} incidents in {whole.slug} to Gi* "
        f"classes and emerging labels ({whole.cells:,} cells of 500 m, {whole.months} months)",
        geoapp_s=whole.seconds, anchor_s=None, ratio="n/a",
        goal=f"< {END_TO_END_GOAL_S:.0f} s", met=whole.seconds < END_TO_END_GOAL_S,
    ))  # fmt: skip
    notes.append(
        f"end to end: `geoapp.services.hotspots.compute` (no cache) on a scratch database with "
        f"{whole.incidents:,} synthetic incidents in {whole.slug} (the cells benchmark's data, "
        f"COPYed untimed): the incidents read back as one packed bytea, projected, filtered "
        f"to {whole.start}..{whole.end}, binned into the {whole.cells:,} cells covering the "
        f"boundary, Gi* on the period and on each month, Mann-Kendall, labels and the concern "
        f"gaps; {whole.hot:,} cells at 99 % hot; one untimed run first"
    )
    return Outcome(name=NAME, rows=table, notes=notes, url=make_url(database_url()))


@dataclass
class EndToEnd:
    """One timed `hotspots.compute` over a million incidents."""

    slug: str
    incidents: int
    cells: int
    months: int
    hot: int
    seconds: float
    start: date
    end: date


def end_to_end(rows: int = 1_000_000) -> EndToEnd:
    """Load `rows` incidents into Bucha (untimed), then time the whole analysis once."""
    from bench.bench_cells import load_incidents
    from bench.bench_incidents import pilot_database, synthetic_incidents
    from geoapp.services.hotspots import HotspotQuery, compute

    with tempfile.TemporaryDirectory(prefix="bench-hotspots-") as tmp:
        scratch, place = pilot_database(NAME, Path(tmp))
    data = synthetic_incidents(place, rows)
    load_incidents(scratch.engine, place, data)
    end = data.last_day
    start = date(end.year - 1 + (end.month == 12), end.month % 12 + 1, 1)
    query = HotspotQuery(place.id, start, end, (), 500)
    with Session(scratch.engine) as session:
        compute(session, query)  # warm: imports, caches
        began = time.perf_counter()
        result = compute(session, query)
        seconds = time.perf_counter() - began
    scratch.engine.dispose()
    assert result is not None
    return EndToEnd(place.slug, rows, len(result.i), len(result.months),
                    int((result.gi_bin == 3).sum()), seconds, start, end)  # fmt: skip


def _mib(value: int | None) -> str:
    return "not measured" if value is None else f"{value / 2**20:.1f} MiB"


def _notes(runs: list[GiRun], heat: HeatRun, skipped: list[str]) -> list[str]:
    numba = importlib.util.find_spec("numba") is not None
    notes = [
        f"Gi* and heat, no database: they run in this process (the end-to-end row below "
        f"uses a scratch database); esda {version('esda')}, libpysal {version('libpysal')}, "
        f"KDEpy {version('KDEpy')}, numba {'installed' if numba else 'not installed'} "
        f"(esda's permutations run in pure Python without it)",
        f"cells: hexagon centres {SPACING:.0f} m apart in a near-square block; counts "
        f"Poisson(2 + hot areas) from numpy default_rng({SEED}) (`cell_counts`); weights: "
        f"geoapp `distance_band` (smallest band giving every cell 8 neighbours), handed to "
        f"esda as the same neighbours via `libpysal.weights.WSP(w).to_W()`; both untimed",
        "timed: geoapp `gi_star(values, band)` (z, two-sided p, FDR classes) against "
        "`esda.G_Local(values, w, transform='B', star=True, ...)` (esda adds the self-weight "
        "and builds its sparse matrix inside the call); esda's classes are derived from its "
        "Zs with geoapp's `fdr_bins` (p = 2 × p_norm), so 'identical' compares the z-scores "
        "through the classes; one untimed warm-up of each on "
        f"{WARM_UP_CELLS:,} cells first",
        "peak memory: tracemalloc over a second run of each (times come from a run "
        f"without it); esda's permutation runs are not measured (their work is in "
        f"{PERMUTATION_JOBS} joblib worker processes, which tracemalloc cannot see)",
    ]
    for r in runs:
        permuted = (
            f"; permutations={PERMUTATIONS}: {r.permuted.seconds:.1f} s, classes from its "
            f"p_sim (two-sided, same FDR) put {r.permuted_strong} cells at 99 % against "
            f"{r.counts.get(3, 0) + r.counts.get(-3, 0)} from the normal p-values"
            if r.permuted is not None
            else ""
        )
        notes.append(
            f"{r.cells:,} cells: band {r.band_m:.0f} m, {r.neighbours[0]}-{r.neighbours[1]} "
            f"neighbours; distance_band {r.band_s:.2f} s, conversion to libpysal W "
            f"{r.convert_s:.2f} s (untimed); geoapp {r.ours.seconds:.3f} s, peak "
            f"{_mib(r.ours.peak_bytes)}; esda permutations=0 {r.analytic.seconds:.3f} s, "
            f"peak {_mib(r.analytic.peak_bytes)}; max |z difference| {r.max_z_diff:.1e}; "
            f"classes identical: {r.identical}; geoapp classes (bin: cells) {r.counts}" + permuted
        )
    if skipped:
        notes.append(
            f"esda permutations={PERMUTATIONS} not run on {', '.join(skipped)}: extrapolated "
            f"linearly from the smaller grid it would take over {PERMUTATION_LIMIT_S / 60:.0f} "
            "minutes, so it is timed on the smaller grid only"
        )
    notes.append(
        f"heat: {heat.points:,} points in a {HEAT_SIDE / 1000:.0f} km square (80 % around "
        f"200 centres, σ 400 m, 20 % uniform; default_rng({SEED})); bandwidth from "
        f"`default_bandwidth` (not published here either), the same for both; grid "
        f"{heat.grid[1]}×{heat.grid[0]} cells of {HEAT_CELL:.0f} m from geoapp's layout, "
        f"given to KDEpy as `cartesian([xs, ys])` in units of the bandwidth (bw = 1: KDEpy "
        f"cuts its Gaussian at an absolute 1e-4, too early in metres); timed: "
        f"`heat_surface(x, y, {HEAT_CELL:.0f}, bandwidth=h)` against "
        f"`FFTKDE(kernel='gaussian', bw=1).fit(data).evaluate(grid)` (data and grid built "
        f"untimed); geoapp {heat.ours.seconds:.3f} s, peak {_mib(heat.ours.peak_bytes)}; "
        f"KDEpy {heat.kdepy.seconds:.3f} s, peak {_mib(heat.kdepy.peak_bytes)}; largest "
        f"difference {heat.worst:.2%} of the peak density"
    )
    return notes
