"""Vector tiles per second at zooms 10-16 on 1,000,000 incidents: geoapp against tipg.

Both over HTTP, geoapp uncached, on the same table.

Set-up (untimed): the incidents benchmark's 1,000,000 synthetic points in Bucha COPYed
into `incident` (as the cells benchmark does), an analyst account.  The tile list is
fixed by a seed: for each zoom 10-16, the tiles under 40 incidents drawn at random (so
busy places weigh more, as a map's viewer would look), each tile once.

- geoapp: `gunicorn geoapp.wsgi:app` (one worker, no `REDIS_URL`: an in-process cache
  that never sees the same tile twice, so every tile is rendered), the analyst signed in
  through the real form, `/tiles/incidents/{z}/{x}/{y}.mvt?community=bucha`.
- tipg (PyPI, the `bench` extra): `uvicorn tipg.main:app` (one worker) on the same
  database, `/collections/public.incident/tiles/WebMercatorQuad/{z}/{x}/{y}` with the same
  properties (`article`, `occurred_on`, `category_id`) and
  `TIPG_MAX_FEATURES_PER_TILE` raised above the table's size, so it draws what the table
  holds rather than its first 10,000 rows.
- One `requests` session each, tiles in the same order, one untimed warm-up tile first.

Goals: geoapp tiles/s ≥ tipg's; tipg's mean tile size at zoom ≤ 12 at least 10× geoapp's.
"""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from sqlalchemy.orm import Session

from bench.bench_cells import load_incidents
from bench.bench_incidents import pilot_database, synthetic_incidents
from bench.common import Outcome, Row, log
from geoapp.models.user import Agency, Role
from geoapp.services import accounts
from geoapp.services.communities import get_by_slug

NAME = "tiles"
ROWS = 1_000_000
ZOOMS = range(10, 17)
PER_ZOOM = 40
PASSWORD = "bench analyst passphrase"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def tile_list(lon: np.ndarray, lat: np.ndarray, seed: int = 9) -> list[tuple[int, int, int]]:
    """The fixed list: per zoom, the distinct tiles under `PER_ZOOM` random incidents."""
    rng = np.random.default_rng(seed)
    out = []
    for z in ZOOMS:
        picks = rng.choice(len(lon), PER_ZOOM, replace=False)
        tiles = dict.fromkeys(_tile_of(float(lon[k]), float(lat[k]), z) for k in picks)
        out += [(z, x, y) for x, y in tiles]
    return out


def _wait(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


@dataclass
class Run:
    """One contender's pass over the list."""

    seconds: float
    sizes: list[int]


def fetch_all(session: requests.Session, template: str, tiles: list[tuple[int, int, int]]) -> Run:
    """Fetch every tile once, in order; fail on anything but 200/204."""
    sizes = []
    start = time.perf_counter()
    for z, x, y in tiles:
        resp = session.get(template.format(z=z, x=x, y=y), timeout=600)
        if resp.status_code not in (200, 204):
            raise RuntimeError(f"{resp.url}: {resp.status_code} {resp.text[:300]}")
        sizes.append(len(resp.content))
    return Run(time.perf_counter() - start, sizes)


def _sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/staff/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    resp = session.post(f"{base}/staff/login", data={"email": email, "password": PASSWORD,
                        "csrf_token": token[1]}, allow_redirects=False)  # fmt: skip
    if resp.status_code != 302:
        raise RuntimeError(f"sign-in failed: {resp.status_code}")
    return session


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def run(rows: int = ROWS) -> Outcome:
    """Load the incidents (untimed), then time both servers over the same tile list."""
    with tempfile.TemporaryDirectory(prefix="bench-tiles-") as tmp:
        scratch, place = pilot_database(NAME, Path(tmp))
    engine = scratch.engine
    data = synthetic_incidents(place, rows)
    load_incidents(engine, place, data)
    lon = np.asarray(data.lon_text, dtype=float)
    lat = np.asarray(data.lat_text, dtype=float)
    tiles = tile_list(lon, lat)
    email = "bench-analyst@bench.test"
    with Session(engine) as sess:
        user = accounts.create_user(sess, email, "Bench", Agency.PROSECUTOR, PASSWORD, "bench")
        accounts.grant(sess, user, get_by_slug(sess, place.slug), Role.ANALYST, actor="bench")
        sess.commit()
    url = scratch.url.render_as_string(hide_password=False)
    plain = scratch.url.set(drivername="postgresql").render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    ours_port, tipg_port = _free_port(), _free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    ours = subprocess.Popen(
        [gunicorn, "--workers", "1", "--bind", f"127.0.0.1:{ours_port}", "--timeout", "600",
         "geoapp.wsgi:app"],
        env={**env, "DATABASE_URL": url, "SECRET_KEY": "bench", "GEOAPP_LOCAL_DEV": "1",
             "GEOAPP_SIGNIN_LIMIT": "1000 per minute"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    theirs = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tipg.main:app", "--port", str(tipg_port),
         "--workers", "1", "--log-level", "warning"],
        env={**env, "DATABASE_URL": plain, "TIPG_DB_SCHEMAS": '["public"]',
             "TIPG_DB_TABLES": '["public.incident"]',
             "TIPG_MAX_FEATURES_PER_TILE": str(10 * rows)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        cwd=tempfile.gettempdir())  # fmt: skip
    try:
        ours_base, tipg_base = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{tipg_port}"
        _wait(f"{ours_base}/healthz", ours)
        _wait(f"{tipg_base}/collections", theirs)
        ours_session = _sign_in(ours_base, email)
        ours_tpl = ours_base + "/tiles/incidents/{z}/{x}/{y}.mvt?community=" + place.slug
        tipg_session = requests.Session()
        tipg_tpl = (tipg_base + "/collections/public.incident/tiles/WebMercatorQuad/{z}/{x}/{y}"
                    "?properties=article,occurred_on,category_id")  # fmt: skip
        warm = [(9, *_tile_of(float(lon[0]), float(lat[0]), 9))]
        fetch_all(ours_session, ours_tpl, warm)
        fetch_all(tipg_session, tipg_tpl, warm)
        log(f"[{NAME}] {len(tiles)} tiles at zooms {ZOOMS.start}-{ZOOMS.stop - 1}")
        mine = fetch_all(ours_session, ours_tpl, tiles)
        log(f"[{NAME}] geoapp: {mine.seconds:.2f} s, {sum(mine.sizes) / 1e6:.1f} MB")
        other = fetch_all(tipg_session, tipg_tpl, tiles)
        log(f"[{NAME}] tipg: {other.seconds:.2f} s, {sum(other.sizes) / 1e6:.1f} MB")
        threshold = _threshold(ours_session, ours_base, place.slug)
    finally:
        for proc in (ours, theirs):
            proc.terminate()
            proc.wait(timeout=30)
    return _outcome(tiles, mine, other, rows, place.slug, threshold, scratch.url)


def _threshold(session: requests.Session, base: str, slug: str) -> str:
    """What the staff map would load as GeoJSON at the switch-over size (20,000 points)."""
    start = time.perf_counter()
    resp = session.get(f"{base}/api/v1/communities/{slug}/layers/incidents.geojson")
    seconds = time.perf_counter() - start
    n = len(resp.json()["features"])
    return (f"the staff map's GeoJSON of {n:,} incidents (the GeoJSON layer's cap, "
            f"GEOAPP_TILE_THRESHOLD's default) is {len(resp.content) / 1e6:.1f} MB in "
            f"{seconds:.2f} s; above it the map switches to tiles")  # fmt: skip


def _outcome(
    tiles: list[tuple[int, int, int]], mine: Run, other: Run, rows: int, slug: str,
    threshold: str, url,  # type: ignore[no-untyped-def]
) -> Outcome:  # fmt: skip
    low = [k for k, (z, _x, _y) in enumerate(tiles) if z <= 12]
    ours_low = _mean([mine.sizes[k] for k in low])
    tipg_low = _mean([other.sizes[k] for k in low])
    speed = (len(tiles) / mine.seconds) / (len(tiles) / other.seconds)
    shrink = tipg_low / ours_low if ours_low else float("inf")
    per_zoom = []
    for z in ZOOMS:
        ks = [k for k, t in enumerate(tiles) if t[0] == z]
        per_zoom.append(f"z{z}: {len(ks)} tiles, geoapp mean {_mean([mine.sizes[k] for k in ks]) / 1e3:.1f} kB, "  # noqa: E501
                        f"tipg {_mean([other.sizes[k] for k in ks]) / 1e3:.1f} kB")  # fmt: skip
    table = [
        Row(benchmark=f"tiles: {len(tiles)} tiles at zooms 10-16 on {rows:,} incidents, "
            "geoapp (uncached) vs tipg", geoapp_s=mine.seconds, anchor_s=other.seconds,
            ratio=f"{speed:.2f}× (geoapp tiles/s ÷ tipg tiles/s; "
            f"{len(tiles) / mine.seconds:.1f} vs {len(tiles) / other.seconds:.1f})",
            goal="≥ 1×", met=speed >= 1),
        Row(benchmark="tiles: mean tile size at zoom ≤ 12, tipg ÷ geoapp", geoapp_s=None,
            anchor_s=None, ratio=f"{shrink:.1f}× ({tipg_low / 1e3:.0f} kB vs "
            f"{ours_low / 1e3:.1f} kB)", goal="≥ 10×", met=shrink >= 10),
    ]  # fmt: skip
    notes = [
        f"{rows:,} incidents in {slug} (the incidents benchmark's generator and seed), "
        "BRIN point index as the importer leaves it; tile list seed 9, "
        f"{PER_ZOOM} random incidents per zoom, distinct tiles",
        "geoapp counts incidents per square cell (64 × 64 per tile) at zoom ≤ 12 and sends "
        "points from 13; tipg sends every point at every zoom",
        *per_zoom,
        threshold,
    ]
    return Outcome(name=NAME, rows=table, notes=notes, url=url)
