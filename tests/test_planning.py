"""Planning sessions on real PostGIS: the map state is checked and kept as sent, the agenda
stops at three, participants need a name and a known agency, the minutes report back on
the previous session's measures; public measures leave only generalised and once agreed."""

from __future__ import annotations

import json

import pytest
import shapely
from sqlalchemy import text

from geoapp.layers.sources import measures as measure_source
from geoapp.models.measure import MeasureStatus
from geoapp.services import measures, planning
from geoapp.services.communities import get_by_slug
from geoapp.services.planning import InvalidPlanningError
from tests.test_measures import STATION, draft, square

STATE = {
    "center": [50.545, 30.21],
    "zoom": 15,
    "overlays": ["hotspots", "measures"],
    "filters": {"from": "2025-01-01", "to": "2025-12-31", "group": "", "size": "500"},
}


@pytest.fixture()
def bucha(db_session):
    return get_by_slug(db_session, "bucha")


@pytest.fixture()
def actor(db_session, staff):
    return db_session.scalar(text("SELECT id FROM app_user WHERE email = :e"),
                             {"e": staff["coordinator"].email})  # fmt: skip


def test_the_map_state_is_kept_exactly_and_nothing_else(db_session, bucha, actor):
    found = planning.create(db_session, bucha, "Засідання", "2026-03-02", actor)
    sent = {**STATE, "script": "<b>x</b>"}
    assert planning.save_map_state(db_session, found, sent) == STATE
    db_session.expire_all()
    assert planning.get(db_session, bucha.id, found.id).map_state == STATE


@pytest.mark.parametrize("change, code", [
    ({"center": [50.5]}, "invalid_center"),
    ({"center": [95.0, 30.0]}, "invalid_center"),
    ({"center": ["50", 30.0]}, "invalid_center"),
    ({"zoom": 25}, "invalid_zoom"),
    ({"zoom": True}, "invalid_zoom"),
    ({"overlays": ["contacts"]}, "unknown_overlay"),
    ({"filters": {"sql": "drop"}}, "invalid_filters"),
    ({"filters": {"from": 2025}}, "invalid_filters"),
])  # fmt: skip
def test_a_bad_map_state_is_refused_and_the_old_one_kept(db_session, bucha, actor, change, code):
    found = planning.create(db_session, bucha, "Засідання", "2026-03-02", actor)
    planning.save_map_state(db_session, found, STATE)
    with pytest.raises(InvalidPlanningError) as caught:
        planning.save_map_state(db_session, found, {**STATE, **change})
    assert caught.value.errors == {"map_state": code}
    assert found.map_state == STATE


def test_a_session_needs_a_title_and_a_date(db_session, bucha, actor):
    with pytest.raises(InvalidPlanningError) as caught:
        planning.create(db_session, bucha, "  ", "2 березня", actor)
    assert caught.value.errors == {"title": "required", "held_on": "invalid_date"}


def test_the_agenda_stops_at_three(db_session, bucha, actor):
    found = planning.create(db_session, bucha, "Засідання", "2026-03-02", actor)
    for n in range(3):
        assert planning.add_priority(db_session, found, f"Пріоритет {n + 1}").position == n + 1
    with pytest.raises(InvalidPlanningError) as caught:
        planning.add_priority(db_session, found, "Четвертий")
    assert caught.value.errors == {"title": "too_many"}
    assert [p.title for p in planning.priorities(db_session, found)] == [
        "Пріоритет 1", "Пріоритет 2", "Пріоритет 3"]  # fmt: skip


def test_participants_by_agency(db_session, bucha, actor):
    found = planning.create(db_session, bucha, "Засідання", "2026-03-02", actor)
    planning.add_participant(db_session, found, "Олена Коваль", "prosecutor")
    planning.add_participant(db_session, found, "Петро Сидоренко", "police")
    planning.add_participant(db_session, found, "Ірина Мельник", "prosecutor")
    with pytest.raises(InvalidPlanningError) as caught:
        planning.add_participant(db_session, found, "", "army")
    assert caught.value.errors == {"name": "required", "agency": "unknown_agency"}
    planning.remove_participant(db_session, found, 1)
    minutes = planning.minutes(db_session, found)
    assert minutes.participants == {"prosecutor": ["Олена Коваль", "Ірина Мельник"]}


def test_the_minutes_report_back_on_the_previous_session(db_session, actor):
    lviv = get_by_slug(db_session, "lviv-halytskyi")  # no other test plans sessions there
    first = planning.create(db_session, lviv, "Перше", "2026-01-12", actor)
    second = planning.create(db_session, lviv, "Друге", "2026-03-02", actor)
    clean = measures.validate(db_session, lviv, draft())
    measure = measures.create(db_session, lviv, clean, actor)
    measure.session_id = first.id
    measures.change_status(db_session, measure, MeasureStatus.AGREED, actor)
    minutes = planning.minutes(db_session, second)
    assert minutes.earlier is not None and minutes.earlier.id == first.id
    assert [m.title for m in minutes.report_back] == ["Освітлення біля вокзалу"]
    assert planning.minutes(db_session, first).earlier is None


def test_public_measures_are_agreed_and_generalised(db_session, bucha, actor):
    drawn = square(STATION[0], STATION[1], 0.0004)  # about 60 x 90 m around the station
    measure = measures.create(db_session, bucha, measures.validate(
        db_session, bucha, draft(target_geojson=drawn)), actor)  # fmt: skip
    assert measure_source.public_measures(db_session, bucha.id) == []  # proposed: staff only
    measures.change_status(db_session, measure, MeasureStatus.AGREED, actor)
    ((props, geometry),) = measure_source.public_measures(db_session, bucha.id)
    assert set(props) >= {"title", "kind", "status", "agency", "start_on", "done_on", "result"}
    shown = shapely.from_geojson(geometry)
    drawn_shape = shapely.from_geojson(drawn)
    assert shown.contains(drawn_shape)  # covers what was drawn ...
    assert shown.area > 20 * drawn_shape.area  # ... but with 250 m hexagons, not its outline
    assert not shapely.equals(shown.envelope, drawn_shape.envelope)
    layer = json.loads(geometry)
    assert layer["type"] in ("Polygon", "MultiPolygon")
    assert measure.status is MeasureStatus.AGREED
