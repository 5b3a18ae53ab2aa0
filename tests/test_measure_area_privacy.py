"""Attack 4 of issue 18: a measure's public area must not point to the resident's door.

A measure whose target is "150 m around the linked concerns" is published as the 250 m
hexagons it touches.  If that circle were drawn around the concern's *true* point, the set
of hexagons would change as the true point moves by a few metres, and an anonymous
visitor who also has the concern's 100 m public point could intersect the two and narrow
the door down to metres.  The property checked here is the one that makes the attack
impossible: five residents whose true points lie in the same public grid square (the
corners and the centre of it) get the very same public area, so the published hexagons
say nothing about where in the square the door is.

Everything is committed (the anonymous client reads through the app's own connections)
in Lviv-Halytskyi, and removed afterwards.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from pyproj import Transformer
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geoapp.models.concern import Concern
from geoapp.models.measure import Measure, MeasureStatus
from geoapp.services import measures
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern

SLUG = "lviv-halytskyi"
TOKEN = "measure-area-privacy-"
# Offsets (metres) of the true points from the grid node their public point snaps to:
# the corners of the 100 m public square (just inside it) and its centre.
OFFSETS = [(-45.0, -45.0), (45.0, -45.0), (-45.0, 45.0), (45.0, 45.0), (0.0, 0.0), (17.0, -31.0)]


def _grid_node(sess: Session, grid: float) -> tuple[int, tuple[float, float]]:
    """A public grid node well inside the community (metric x, y) and the community's SRID."""
    community = get_by_slug(sess, SLUG)
    srid = community.metric_srid
    to_metric = Transformer.from_crs(4326, srid, always_xy=True)
    area = shapely.transform(shapely.from_wkb(bytes(community.geom.data)),
                             lambda xy: np.column_stack(to_metric.transform(*xy.T)))  # fmt: skip
    inside = shapely.get_point(shapely.maximum_inscribed_circle(area, 1.0), 0)
    node = (round(inside.x / grid) * grid, round(inside.y / grid) * grid)
    assert area.contains(shapely.Point(node).buffer(500)), "the node must lie well inside"
    return srid, node


@pytest.fixture()
def measures_around_one_square(engine, app, staff):
    """Six agreed measures, each 150 m around one concern; all true points in one square."""
    grid = float(app.config["GEOAPP_PUBLIC_GRID_M"])
    made: list[str] = []
    with Session(engine) as sess:
        community = get_by_slug(sess, SLUG)
        srid, (x0, y0) = _grid_node(sess, grid)
        to_lonlat = Transformer.from_crs(srid, 4326, always_xy=True)
        actor = sess.scalar(text("SELECT id FROM app_user WHERE email = :e"),
                            {"e": staff["olena"].email})  # fmt: skip
        for n, (dx, dy) in enumerate(OFFSETS):
            lon, lat = to_lonlat.transform(x0 + dx, y0 + dy)
            token = f"{TOKEN}{n:04d}"
            report_concern(sess, community, Report(
                category="poor_lighting", description="Темно біля мого під'їзду", lon=lon,
                lat=lat, client_token=token), grid_m=grid)  # fmt: skip
            sess.execute(text("UPDATE concern SET status = 'accepted' WHERE client_token = :t"),
                         {"t": token})  # fmt: skip
            public_id = sess.scalar(text("SELECT public_id FROM concern WHERE client_token = :t"),
                                    {"t": token})  # fmt: skip
            draft = measures.MeasureDraft(
                title=f"Освітлення двору {n}", kind="lighting", agency="Галицька РДА",
                owner="Іван Петренко", start_on="2026-03-01", concern_ids=[public_id])  # fmt: skip
            clean = measures.validate(sess, community, draft)
            assert clean.target_source == "concerns"
            measure = measures.create(sess, community, clean, actor)
            measures.change_status(sess, measure, MeasureStatus.AGREED, actor)
            made.append(measure.public_id)
        community_id = community.id
        node = tuple(round(v, 6) for v in to_lonlat.transform(x0, y0))
    yield made, node
    with Session(engine) as sess:
        sess.execute(text("DELETE FROM measure WHERE community_id = :c AND public_id = ANY(:p)"),
                     {"c": community_id, "p": made})  # fmt: skip
        sess.execute(text("DELETE FROM concern WHERE client_token LIKE :t"), {"t": TOKEN + "%"})
        sess.commit()


def test_the_public_area_is_the_same_for_every_true_point_of_a_public_square(
    client, measures_around_one_square
):
    made, node = measures_around_one_square
    # The attacker's view: anonymous, the public API only.
    concerns = client.get(f"/api/v1/communities/{SLUG}/layers/concerns.geojson").get_json()
    layer = client.get(f"/api/v1/communities/{SLUG}/layers/measures.geojson")
    assert layer.status_code == 200
    by_id = {f["id"]: f for f in layer.get_json()["features"]}
    assert set(made) <= set(by_id), "every agreed measure is public"
    # The six concerns stand at one public point: the attacker knows "this 100 m square".
    points = [tuple(f["geometry"]["coordinates"]) for f in concerns["features"]
              if f["properties"]["category"] == "poor_lighting"]  # fmt: skip
    assert points.count(node) == len(OFFSETS)
    areas = [shapely.from_geojson(json.dumps(by_id[p]["geometry"])) for p in made]
    first = areas[0]
    assert first.area > 0
    moved = [n for n, a in enumerate(areas) if not shapely.equals(a, first)]
    assert moved == [], (
        f"true points {[OFFSETS[n] for n in moved]} m from the public point's node give "
        f"another public area than {OFFSETS[0]}: the hexagons tell where in the square it is"
    )
    # And the area still covers the square the public point stands for (the measure is
    # about that place, not somewhere else).
    assert first.contains(shapely.Point(*node).buffer(0.0005))


def test_the_migration_redraws_stored_targets_around_the_public_points(db_session, staff):
    """Measures stored before the fix: their true-point circles are redrawn like new ones."""
    versions = Path(__file__).parent.parent / "geoapp" / "migrations" / "versions"
    path = versions / "0019_measure_targets_from_public_points.py"
    loaded = importlib.util.spec_from_file_location("migration_0019", path)
    assert loaded is not None and loaded.loader is not None
    migration = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(migration)

    community = get_by_slug(db_session, SLUG)
    srid, (x0, y0) = _grid_node(db_session, 100.0)
    lon, lat = Transformer.from_crs(srid, 4326, always_xy=True).transform(x0 + 40, y0 - 35)
    report_concern(db_session, community, Report(
        category="poor_lighting", lon=lon, lat=lat, client_token=f"{TOKEN}old"))  # fmt: skip
    db_session.execute(text("UPDATE concern SET status = 'accepted' WHERE client_token = :t"),
                       {"t": f"{TOKEN}old"})  # fmt: skip
    concern = db_session.scalar(select(Concern).where(Concern.client_token == f"{TOKEN}old"))
    actor = db_session.scalar(text("SELECT id FROM app_user ORDER BY id LIMIT 1"))
    draft = measures.MeasureDraft(title="Старий захід", kind="lighting",
                                  agency="Галицька РДА", owner="Іван Петренко",
                                  concern_ids=[concern.public_id])  # fmt: skip
    measure = measures.create(db_session, community,
                              measures.validate(db_session, community, draft), actor)  # fmt: skip
    expected = to_shape(measure.target)
    # As the old code stored it: 150 m around the true point.
    db_session.execute(text(
        "UPDATE measure SET target = ST_Multi(ST_Transform(ST_Buffer(ST_Transform("
        "ST_SetSRID(ST_MakePoint(:x, :y), 4326), :srid), 150), 4326)) WHERE id = :id"),
        {"x": lon, "y": lat, "srid": srid, "id": measure.id})  # fmt: skip
    db_session.expire_all()
    old = to_shape(db_session.get(Measure, measure.id).target)
    assert shapely.symmetric_difference(old, expected).area > 0.1 * expected.area
    db_session.execute(text(migration.REDRAW))
    db_session.expire_all()
    redrawn = to_shape(db_session.get(Measure, measure.id).target)
    assert redrawn.geom_type == "MultiPolygon"
    assert shapely.symmetric_difference(redrawn, expected).area < 0.01 * expected.area


def test_no_area_is_drawn_around_a_sensitive_concern(db_session, staff, app):
    """A sensitive concern leaves only as a count: a measure answering it gets no area from it.

    Before: "150 m around the linked concerns" drew a circle around the drugs report's
    public point, and the public measures layer then showed where it was.
    """
    grid = float(app.config["GEOAPP_PUBLIC_GRID_M"])
    community = get_by_slug(db_session, SLUG)
    srid, (x0, y0) = _grid_node(db_session, grid)
    lon, lat = Transformer.from_crs(srid, 4326, always_xy=True).transform(x0, y0)
    ids = {}
    for category in ("drugs", "poor_lighting"):
        token = f"{TOKEN}sensitive-{category}"
        report_concern(db_session, community, Report(
            category=category, description="Тут щось відбувається", lon=lon, lat=lat,
            client_token=token), grid_m=grid)  # fmt: skip
        db_session.execute(text("UPDATE concern SET status = 'accepted' WHERE client_token = :t"),
                           {"t": token})  # fmt: skip
        ids[category] = db_session.scalar(
            text("SELECT public_id FROM concern WHERE client_token = :t"), {"t": token})

    def target(*categories: str):
        draft = measures.MeasureDraft(
            title="Патрулювання", kind="lighting", agency="Галицька РДА", owner="Іван Петренко",
            start_on="2026-03-01", concern_ids=[ids[c] for c in categories])  # fmt: skip
        return measures.validate(db_session, community, draft)

    only_sensitive = target("drugs")
    assert only_sensitive.target is None, "no area around a sensitive concern"
    mixed = target("drugs", "poor_lighting")
    assert mixed.target is not None and mixed.target_source == "concerns"
    assert {c.public_id for c in mixed.concerns} == set(ids.values()), "both stay linked"
