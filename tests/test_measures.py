"""Measures on real PostGIS: every problem of a draft at once, target areas from a drawing,
hot spot cells or concerns (clipped to the community), and linked concerns following the
measure to "resolved" with what was done as their public answer."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import to_shape
from pyproj import Transformer
from sqlalchemy import text

from geoapp.models.concern import ConcernEvent
from geoapp.models.concern import Status as ConcernStatus
from geoapp.models.measure import MeasureIndicator, MeasureStatus
from geoapp.services import measures
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern
from geoapp.services.measures import Indicator, InvalidMeasureError, MeasureDraft, MeasureStepError

STATION = (30.2100, 50.5450)


def square(lon: float, lat: float, half: float) -> str:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]  # fmt: skip
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def draft(**changes) -> MeasureDraft:
    base = {"title": "Освітлення біля вокзалу", "kind": "lighting",
            "agency": "Бучанська міська рада", "owner": "Олена Коваль",
            "start_on": "2026-03-01", "due_on": "2026-06-30"}  # fmt: skip
    return MeasureDraft(**{**base, **changes})


def metric_area(geom, srid: int) -> float:
    to_metric = Transformer.from_crs(4326, srid, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to_metric.transform(*xy.T))).area


@pytest.fixture()
def bucha(db_session):
    return get_by_slug(db_session, "bucha")


@pytest.fixture()
def accepted_concern(db_session, bucha):
    report_concern(db_session, bucha, Report(
        category="vandalism", description="Темно біля вокзалу", lon=STATION[0], lat=STATION[1],
        client_token="measure-test-0001"))  # fmt: skip
    db_session.execute(text("UPDATE concern SET status = 'accepted' "
                            "WHERE client_token = 'measure-test-0001'"))  # fmt: skip
    return db_session.scalar(text("SELECT public_id FROM concern "
                                  "WHERE client_token = 'measure-test-0001'"))  # fmt: skip


def test_every_problem_of_a_draft_is_reported_at_once(db_session, bucha):
    bad = draft(title=" ", kind="magic", start_on="2026-02-30", due_on="2026-01-01",
                owner="x" * 201, concern_ids=["00000000-0000-0000-0000-000000000000"],
                indicators=[Indicator("Крадіжки на місяць", "дванадцять")])  # fmt: skip
    with pytest.raises(InvalidMeasureError) as caught:
        measures.validate(db_session, bucha, bad)
    assert caught.value.errors == {
        "title": "required", "kind": "unknown_kind", "start_on": "invalid_date",
        "owner": "too_long", "concern_ids": "unknown_concern", "indicator_0": "invalid_number",
    }  # fmt: skip
    later = draft(start_on="2026-05-01", due_on="2026-04-01")
    with pytest.raises(InvalidMeasureError) as caught:
        measures.validate(db_session, bucha, later)
    assert caught.value.errors == {"due_on": "before_start"}


def test_a_drawn_area_is_clipped_to_the_community(db_session, bucha):
    inside = measures.validate(db_session, bucha, draft(target_geojson=square(*STATION, 0.002)))
    assert inside.target_source == "drawn"
    whole = metric_area(shapely.from_geojson(square(*STATION, 0.002)), bucha.metric_srid)
    assert metric_area(inside.target, bucha.metric_srid) == pytest.approx(whole, rel=1e-6)
    # Straddling the western boundary: only the part inside remains.
    coords = shapely.get_coordinates(shapely.from_wkb(bytes(bucha.geom.data)))
    west = coords[coords[:, 0].argmin()]  # the westernmost vertex of the boundary
    straddle = measures.validate(db_session, bucha, draft(
        target_geojson=square(west[0], west[1], 0.01)))  # fmt: skip
    full = metric_area(shapely.from_geojson(square(west[0], west[1], 0.01)), bucha.metric_srid)
    assert 0 < metric_area(straddle.target, bucha.metric_srid) < 0.75 * full
    with pytest.raises(InvalidMeasureError) as caught:
        measures.validate(db_session, bucha, draft(target_geojson=square(24.03, 49.84, 0.01)))
    assert caught.value.errors == {"target": "outside_community"}
    with pytest.raises(InvalidMeasureError) as caught:
        measures.validate(db_session, bucha, draft(target_geojson='{"type": "Point"}'))
    assert caught.value.errors == {"target": "invalid_area"}


def test_an_area_from_hot_spot_cells_is_their_hexagons(db_session, bucha):
    clean = measures.validate(db_session, bucha, draft(cells=[(403, 6469), (403, 6470)],
                                                       cell_size_m=500))  # fmt: skip
    assert clean.target_source == "hotspots"
    hexagon = 3 * 3**0.5 / 2 * 500**2  # edge 500 m
    assert metric_area(clean.target, bucha.metric_srid) == pytest.approx(2 * hexagon, rel=1e-3)
    assert clean.target.contains(shapely.Point(*STATION))


def test_linked_concerns_follow_the_measure_to_done(db_session, bucha, staff, accepted_concern):
    actor = db_session.scalar(text("SELECT id FROM app_user ORDER BY id LIMIT 1"))
    clean = measures.validate(
        db_session,
        bucha,
        draft(
            concern_ids=[accepted_concern],
            indicators=[Indicator("Крадіжки на місяць", "12,5", "6")],
        ),
    )
    assert clean.target_source == "concerns"  # nothing drawn: 150 m around the concern
    circle = 3.14159 * measures.CONCERN_RADIUS_M**2
    assert metric_area(clean.target, bucha.metric_srid) == pytest.approx(circle, rel=0.02)
    measure = measures.create(db_session, bucha, clean, actor)
    stored = db_session.query(MeasureIndicator).filter_by(measure_id=measure.id).one()
    assert (stored.name, stored.baseline, stored.goal) == ("Крадіжки на місяць", 12.5, 6.0)
    assert to_shape(measure.target).equals_exact(clean.target, 1e-9)

    with pytest.raises(MeasureStepError):
        measures.change_status(db_session, measure, MeasureStatus.DONE, actor)  # not agreed yet
    measures.change_status(db_session, measure, MeasureStatus.AGREED, actor)
    concern_status = "SELECT status FROM concern WHERE public_id = :p"
    assert db_session.scalar(text(concern_status), {"p": accepted_concern}) == "in_progress"
    with pytest.raises(MeasureStepError, match="what was done"):
        measures.change_status(db_session, measure, MeasureStatus.DONE, actor)
    measures.change_status(db_session, measure, MeasureStatus.DONE, actor,
                           result_text="Встановлено 12 ліхтарів на Вокзальній",
                           today=date(2026, 5, 20))  # fmt: skip
    assert measure.done_on == date(2026, 5, 20)
    assert db_session.scalar(text(concern_status), {"p": accepted_concern}) == "resolved"
    concern_id = db_session.scalar(text("SELECT id FROM concern WHERE public_id = :p"),
                                   {"p": accepted_concern})  # fmt: skip
    answer = db_session.query(ConcernEvent).filter_by(
        to_status=ConcernStatus.RESOLVED.value, concern_id=concern_id
    )
    assert [e.public_answer for e in answer] == ["Встановлено 12 ліхтарів на Вокзальній"]


def test_an_open_measure_past_its_date_is_overdue(db_session, bucha):
    actor = db_session.scalar(text("SELECT id FROM app_user ORDER BY id LIMIT 1"))
    measure = measures.create(db_session, bucha, measures.validate(db_session, bucha, draft()),
                              actor)  # fmt: skip
    assert not measures.overdue(measure, today=date(2026, 6, 30))
    assert measures.overdue(measure, today=date(2026, 7, 1))
    measures.change_status(db_session, measure, MeasureStatus.DROPPED, actor)
    assert not measures.overdue(measure, today=date(2026, 7, 1))
