"""Bulk point location on real data: Lviv's transit stops against their own district.

The stops' `stop_region` comes from Lviv's GTFS, independent of OpenStreetMap,
so agreement measures the boundaries and the lookup together.  Stops near a
district border may legitimately differ; the floor below allows for that.
"""

from __future__ import annotations

import csv

import numpy as np
from sqlalchemy import text

from geoapp.models import CommunityLevel
from geoapp.services.boundaries import load_file
from geoapp.services.locate import assign_points
from tests.conftest import DATA_DIR, OSM_DIR

LVIV = OSM_DIR / "lvivska_oblast.lvivskyy_rayon.lvivska_miska_hromada.geojson"
AGREEMENT_FLOOR = 0.93  # measured 96.4 % (374 of 388) on 2026-11-21


def test_transit_stops_fall_in_their_district(db_session, codifier):
    load_file(db_session, LVIV, codifier)
    with (DATA_DIR / "lviv" / "transit-stops.csv").open(encoding="utf-8") as fh:
        stops = [r for r in csv.DictReader(fh) if r["stop_region"].strip()]
    lon = np.array([float(s["stop_lon"]) for s in stops])
    lat = np.array([float(s["stop_lat"]) for s in stops])
    ids = assign_points(db_session, lon, lat, CommunityLevel.CITY_DISTRICT)
    names = dict(db_session.execute(text("SELECT id, name_uk FROM community")).all())
    agree = outside = 0
    for stop, cid in zip(stops, ids, strict=True):
        if cid < 0:
            outside += 1
        elif names[int(cid)].split()[0].startswith(stop["stop_region"].strip()[:5]):
            agree += 1
    inside = len(stops) - outside
    rate = agree / inside
    print(
        f"\ntransit stops: {len(stops)}, inside Lviv's districts {inside}, "
        f"agreeing with stop_region {agree} ({rate:.1%}), outside {outside}"
    )
    assert inside > 0.8 * len(stops)
    assert rate >= AGREEMENT_FLOOR


def test_single_point_and_bulk_agree(db_session, client):
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(29.95, 30.45, 50), rng.uniform(50.45, 50.75, 50)
    ids = assign_points(db_session, lon, lat, CommunityLevel.HROMADA)
    bucha_id = db_session.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
    for x, y, cid in zip(lon, lat, ids, strict=True):
        slugs = [
            c["slug"]
            for c in client.get(f"/api/v1/locate?lon={x}&lat={y}").get_json()["communities"]
        ]
        assert ("bucha" in slugs) == (cid == bucha_id)
