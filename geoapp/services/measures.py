"""Planning preventive measures: check a draft, store it, move it on, tell residents.

Flask-free.  A draft comes from a form (or a session's decision) as text; `validate`
returns every problem at once as field -> code, so the form can keep what was typed and
mark each field, and the web layer words the codes in the user's language.  The target
area comes from one of three places, as the joint session works: drawn on the map (a
GeoJSON polygon), selected hot spot cells, or the linked concerns (a circle around each
one's public point, never its true point: see `concern_area`).
Whatever its source it is clipped to the community, so an evaluation never counts
incidents of a neighbouring hromada.

Moving a measure on moves its linked concerns with it: agreed or started, they are "in
progress"; done, they are resolved with the measure's result as the public answer, which
is what the resident's tracking page shows.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.analysis.hexgrid import hex_rings
from geoapp.geo.crs import project, transformer
from geoapp.models.category import Category
from geoapp.models.community import Community
from geoapp.models.concern import Concern, ConcernEvent
from geoapp.models.concern import Status as ConcernStatus
from geoapp.models.measure import (
    Measure,
    MeasureConcern,
    MeasureEvent,
    MeasureIndicator,
    MeasureKind,
    MeasureStatus,
)

NEXT = {
    MeasureStatus.PROPOSED: (MeasureStatus.AGREED, MeasureStatus.DROPPED),
    MeasureStatus.AGREED: (MeasureStatus.IN_PROGRESS, MeasureStatus.DONE, MeasureStatus.DROPPED),
    MeasureStatus.IN_PROGRESS: (MeasureStatus.DONE, MeasureStatus.DROPPED),
    MeasureStatus.DONE: (),
    MeasureStatus.DROPPED: (MeasureStatus.PROPOSED,),
}
OPEN = (MeasureStatus.PROPOSED, MeasureStatus.AGREED, MeasureStatus.IN_PROGRESS)
CONCERN_RADIUS_M = 150.0  # a target taken from concerns: this far around each public point
MAX_INDICATOR_NAME, MAX_INDICATOR_UNIT = 200, 40  # measure_indicator.name, .unit
MAX_TEXT = {"title": 200, "agency": 200, "owner": 200, "partners": 2000, "description": 4000}


class InvalidMeasureError(ValueError):
    """A draft with problems: `errors` maps each field to a code the form words."""

    def __init__(self, errors: dict[str, str]) -> None:
        """Keep every problem, not just the first."""
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class MeasureStepError(ValueError):
    """A status change that is not a step of a measure's life."""


@dataclass
class Indicator:
    """An indicator as typed: name, baseline, goal and unit (numbers as text)."""

    name: str
    baseline: str
    goal: str = ""
    unit: str = ""


@dataclass
class MeasureDraft:
    """A measure as the form or the session sends it, before any check."""

    title: str
    kind: str
    agency: str
    owner: str
    description: str = ""
    partners: str = ""
    start_on: str = ""
    due_on: str = ""
    target_geojson: str = ""  # drawn on the map
    cells: list[tuple[int, int]] = field(default_factory=list)  # selected hot spot cells
    cell_size_m: int = 500
    concern_ids: list[str] = field(default_factory=list)  # public ids of linked concerns
    indicators: list[Indicator] = field(default_factory=list)


@dataclass(frozen=True)
class CleanMeasure:
    """A checked draft, ready to store."""

    title: str
    kind: MeasureKind
    agency: str
    owner: str
    description: str
    partners: str
    start_on: date | None
    due_on: date | None
    target: shapely.MultiPolygon | None
    target_source: str | None
    concerns: list[Concern]
    indicators: list[tuple[str, float, float | None, str]]


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value.strip() else None


def _number(value: str) -> float | None:
    """A typed number (comma or point, spaces allowed); ValueError for "inf", "nan", 1e400."""
    text = value.strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def validate(session: Session, community: Community, draft: MeasureDraft) -> CleanMeasure:
    """Check every field of `draft`; raise `InvalidMeasureError` with all the problems."""
    errors: dict[str, str] = {}
    for name in ("title", "agency", "owner"):
        if not getattr(draft, name).strip():
            errors[name] = "required"
    for name, limit in MAX_TEXT.items():
        if len(getattr(draft, name)) > limit:
            errors[name] = "too_long"
    kind = MeasureKind._value2member_map_.get(draft.kind)
    if kind is None:
        errors["kind"] = "unknown_kind"
    dates: dict[str, date | None] = {}
    for name in ("start_on", "due_on"):
        try:
            dates[name] = _date(getattr(draft, name))
        except ValueError:
            errors[name] = "invalid_date"
    if dates.get("start_on") and dates.get("due_on") and dates["due_on"] < dates["start_on"]:
        errors["due_on"] = "before_start"
    concerns = _concerns(session, community, draft.concern_ids, errors)
    target, source = _target(community, draft, _locatable(session, concerns), errors)
    indicators = []
    for n, indicator in enumerate(draft.indicators):
        if not indicator.name.strip() and not indicator.baseline.strip():
            continue  # an empty row of the form
        try:
            baseline, goal = _number(indicator.baseline), _number(indicator.goal)
        except ValueError:
            errors[f"indicator_{n}"] = "invalid_number"
            continue
        if not indicator.name.strip() or baseline is None:
            errors[f"indicator_{n}"] = "name_and_baseline_required"
            continue
        if len(indicator.name.strip()) > MAX_INDICATOR_NAME:
            errors[f"indicator_{n}"] = "indicator_name_too_long"
            continue
        if len(indicator.unit.strip()) > MAX_INDICATOR_UNIT:
            errors[f"indicator_{n}"] = "indicator_unit_too_long"
            continue
        indicators.append((indicator.name.strip(), baseline, goal, indicator.unit.strip()))
    if errors:
        raise InvalidMeasureError(errors)
    assert kind is not None
    return CleanMeasure(
        title=draft.title.strip(), kind=kind, agency=draft.agency.strip(),
        owner=draft.owner.strip(), description=draft.description.strip(),
        partners=draft.partners.strip(), start_on=dates["start_on"], due_on=dates["due_on"],
        target=target, target_source=source, concerns=concerns, indicators=indicators,
    )  # fmt: skip


def _concerns(
    session: Session, community: Community, public_ids: list[str], errors: dict[str, str]
) -> list[Concern]:
    """The linked concerns: of this community and accepted (a rejected one answers nothing)."""
    wanted = list(dict.fromkeys(i.strip() for i in public_ids if i.strip()))
    if not wanted:
        return []
    found = session.scalars(select(Concern).where(
        Concern.public_id.in_(wanted), Concern.community_id == community.id)).all()  # fmt: skip
    usable = [c for c in found if c.status in (ConcernStatus.ACCEPTED, ConcernStatus.IN_PROGRESS,
                                               ConcernStatus.RESOLVED)]  # fmt: skip
    if len(usable) != len(wanted):
        errors["concern_ids"] = "unknown_concern"
    return usable


def _locatable(session: Session, concerns: list[Concern]) -> list[Concern]:
    """The linked concerns an area may be drawn around: none of a sensitive category.

    A sensitive concern leaves only as a count per quarter, never as a place, so a public
    area drawn around even its public point would show where it is.  It stays linked (the
    measure answers it); the area comes from the others, or is drawn by staff.
    """
    sensitive = set(session.scalars(select(Category.id).where(Category.sensitive)))
    return [c for c in concerns if c.category_id not in sensitive]


def _target(
    community: Community,
    draft: MeasureDraft,
    concerns: list[Concern],
    errors: dict[str, str],
) -> tuple[shapely.MultiPolygon | None, str | None]:
    """The target area in lon/lat, clipped to the community, and where it came from."""
    if community.geom is None:
        return None, None
    area = shapely.from_wkb(bytes(community.geom.data))
    srid = community.metric_srid
    if draft.target_geojson.strip():
        source = "drawn"
        try:
            shape = shapely.from_geojson(draft.target_geojson)
        except (shapely.errors.GEOSException, ValueError, json.JSONDecodeError):
            errors["target"] = "invalid_area"
            return None, None
        if shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty:
            errors["target"] = "invalid_area"
            return None, None
        shape = shapely.make_valid(shape)
    elif draft.cells:
        source = "hotspots"
        i, j = (np.array(v, dtype=np.int64) for v in zip(*draft.cells, strict=True))
        rings = hex_rings(i, j, float(draft.cell_size_m))
        lon, lat = transformer(srid, 4326).transform(rings[..., 0], rings[..., 1])
        shape = shapely.union_all(shapely.polygons(np.stack([lon, lat], axis=-1)))
    elif concerns:
        source = "concerns"
        shape = concern_area(concerns, srid)
        if shape is None:
            return None, None
    else:
        return None, None
    clipped = shapely.intersection(shape, area)
    polygons = [g for g in shapely.get_parts(clipped) if g.geom_type == "Polygon" and g.area > 0]
    if not polygons:
        errors["target"] = "outside_community"
        return None, None
    return shapely.MultiPolygon(polygons), source


def concern_area(concerns: list[Concern], srid: int) -> shapely.Geometry | None:
    """The circles of CONCERN_RADIUS_M around the concerns' *public* points, in lon/lat.

    Built from the public point (the true point snapped to the GEOAPP_PUBLIC_GRID_M grid,
    which the public concerns layer already shows), never from the true point: the public
    measures layer generalises this area to the 250 m hexagons it touches, and hexagons
    drawn around a true point change as that point moves by a few metres, so together
    with the public point they narrowed a resident's door down to metres (issue 18,
    attack 4).  Around the public point the area is the same for every true point of one
    grid square, and the public learns nothing it did not have.

    There is one target for everyone, staff included, on purpose: a second, exact target
    kept for planning would have to be told apart in every output that shows a measure
    (public layer, map pages, session minutes, PDFs, partner exports), the walk-around
    this issue is about.  Nothing is lost for planning: the true point is at most half
    a grid diagonal (about 71 m at 100 m) from the public one, so the 150 m circle still
    holds the resident's place, and staff see the true points on their concern maps.
    Concerns without a public point (no pin) add nothing; None when none has one.
    """
    points = [project(shapely.from_wkb(bytes(c.public_point.data)), 4326, srid)
              for c in concerns if c.public_point is not None]  # fmt: skip
    if not points:
        return None
    circles = shapely.union_all([p.buffer(CONCERN_RADIUS_M) for p in points])
    return project(circles, srid, 4326)


def create(session: Session, community: Community, clean: CleanMeasure, actor_id: int) -> Measure:
    """Store a checked measure with its indicators, links and first history step."""
    measure = Measure(
        public_id=str(uuid.uuid4()), community_id=community.id, title=clean.title,
        description=clean.description, kind=clean.kind, agency=clean.agency, owner=clean.owner,
        partners=clean.partners, status=MeasureStatus.PROPOSED, start_on=clean.start_on,
        due_on=clean.due_on, target_source=clean.target_source, created_by=actor_id,
        target=None if clean.target is None else from_shape(clean.target, srid=4326),
    )  # fmt: skip
    session.add(measure)
    session.flush()
    for name, baseline, goal, unit in clean.indicators:
        session.add(MeasureIndicator(measure_id=measure.id, name=name, baseline=baseline,
                                     goal=goal, unit=unit))  # fmt: skip
    for concern in clean.concerns:
        session.add(MeasureConcern(measure_id=measure.id, concern_id=concern.id))
    session.add(MeasureEvent(measure_id=measure.id, actor_id=actor_id, from_status=None,
                             to_status=MeasureStatus.PROPOSED.value))  # fmt: skip
    session.commit()
    return measure


def change_status(
    session: Session,
    measure: Measure,
    to: MeasureStatus,
    actor_id: int,
    note: str = "",
    result_text: str = "",
    today: date | None = None,
) -> None:
    """Move a measure on, and its linked concerns with it (see the module docstring).

    Done needs `result_text`, what was done in words a resident understands: it becomes
    the public answer on every linked concern.
    """
    if to not in NEXT[measure.status]:
        raise MeasureStepError(f"{measure.status.value} -> {to.value} is not a step")
    if to is MeasureStatus.DONE and not result_text.strip():
        raise MeasureStepError("a done measure needs what was done, for residents")
    session.add(MeasureEvent(measure_id=measure.id, actor_id=actor_id,
                             from_status=measure.status.value, to_status=to.value,
                             note=note.strip() or None))  # fmt: skip
    measure.status = to
    if to is MeasureStatus.DONE:
        measure.done_on = today or date.today()
        measure.result_text = result_text.strip()
    for concern in _linked(session, measure):
        _follow(session, concern, to, measure, actor_id)
    session.commit()


def _linked(session: Session, measure: Measure) -> list[Concern]:
    return list(session.scalars(select(Concern).join(
        MeasureConcern, MeasureConcern.concern_id == Concern.id).where(
        MeasureConcern.measure_id == measure.id)).all())  # fmt: skip


def _follow(
    session: Session, concern: Concern, to: MeasureStatus, measure: Measure, actor_id: int
) -> None:
    """A linked concern's step when its measure moves (none when it is already there)."""
    target = None
    answer = None
    if to in (MeasureStatus.AGREED, MeasureStatus.IN_PROGRESS):
        if concern.status is ConcernStatus.ACCEPTED:
            target = ConcernStatus.IN_PROGRESS
    elif to is MeasureStatus.DONE and concern.status is not ConcernStatus.RESOLVED:
        target, answer = ConcernStatus.RESOLVED, measure.result_text
    if target is None:
        return
    session.add(ConcernEvent(
        concern_id=concern.id, actor_id=actor_id, from_status=concern.status.value,
        to_status=target.value, note=f"measure {measure.public_id}: {to.value}",
        public_answer=answer,
    ))  # fmt: skip
    concern.status = target


def overdue(measure: Measure, today: date | None = None) -> bool:
    """An open measure past its due date: the list shows it first, in red."""
    today = today or date.today()
    return measure.status in OPEN and measure.due_on is not None and measure.due_on < today
