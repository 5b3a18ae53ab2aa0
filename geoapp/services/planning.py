"""Joint planning sessions: participants, an agenda with evidence, the map as it was shown.

Flask-free.  A session is run by a coordinator in front of a projector: who is in the
room (by agency), at most three priorities with the evidence put on the screen for
each (hot spot cells with their counts, frozen when added so the minutes keep saying
what the room saw), decisions recorded as measures (`services.measures` with the
session's id), and the map state (view, overlays, filters, period), kept on every change
so the session reopens exactly as it was left.  The minutes gather all of it with the
report-back on the previous session's measures.

Problems come back as `InvalidPlanningError(field -> code)`; the web layer words them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from geoapp.models.community import Community
from geoapp.models.measure import Measure
from geoapp.models.planning import MAX_PRIORITIES, PlanningSession, SessionPriority
from geoapp.services.hotspots import Cache, HotspotQuery, analyse

AGENCIES = ("prosecutor", "police", "council", "ngo", "other")
MAX_PARTICIPANTS = 40
MAX_CELL_INDEX = 10**6
OVERLAYS = ("hotspots", "heat", "concerns", "incident_cells", "measures", "boundaries")
FILTER_KEYS = ("from", "to", "group", "size")
MAX_STATE_BYTES = 4000


class InvalidPlanningError(ValueError):
    """Input a session cannot take: `errors` maps each field to a code the page words."""

    def __init__(self, errors: dict[str, str]) -> None:
        """Keep every problem, keyed by the field the page marks."""
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def create(
    session: Session, community: Community, title: str, held_on: str, actor_id: int
) -> PlanningSession:
    """A new session of `community` (title and date are required; the date as ISO text)."""
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "required"
    elif len(title) > 200:
        errors["title"] = "too_long"
    try:
        day = date.fromisoformat(held_on.strip())
    except ValueError:
        errors["held_on"] = "invalid_date"
    if errors:
        raise InvalidPlanningError(errors)
    planning = PlanningSession(community_id=community.id, held_on=day, title=title.strip(),
                               participants=[], map_state={}, created_by=actor_id)  # fmt: skip
    session.add(planning)
    session.commit()
    return planning


def get(session: Session, community_id: int, session_id: int) -> PlanningSession | None:
    """A session of this community (None for another community's: existence not confirmed)."""
    found = session.get(PlanningSession, session_id)
    return found if found is not None and found.community_id == community_id else None


def listing(session: Session, community_id: int) -> list[PlanningSession]:
    """The community's sessions, latest first."""
    return list(session.scalars(select(PlanningSession).where(
        PlanningSession.community_id == community_id).order_by(
        PlanningSession.held_on.desc(), PlanningSession.id.desc())).all())  # fmt: skip


def add_participant(session: Session, planning: PlanningSession, name: str, agency: str) -> None:
    """Record who is in the room and for which agency (the minutes list them by agency)."""
    errors = {}
    if not name.strip():
        errors["name"] = "required"
    elif len(name) > 200:
        errors["name"] = "too_long"
    if agency not in AGENCIES:
        errors["agency"] = "unknown_agency"
    if len(planning.participants) >= MAX_PARTICIPANTS:
        errors["name"] = "too_many"
    if errors:
        raise InvalidPlanningError(errors)
    planning.participants = [*planning.participants, {"name": name.strip(), "agency": agency}]
    session.commit()


def remove_participant(session: Session, planning: PlanningSession, index: int) -> None:
    """Take a participant off the list (added by mistake)."""
    if not 0 <= index < len(planning.participants):
        raise InvalidPlanningError({"name": "unknown_participant"})
    planning.participants = [p for k, p in enumerate(planning.participants) if k != index]
    session.commit()


def clean_map_state(raw: Any) -> dict[str, Any]:
    """The map state the page sent, checked field by field, with nothing else kept.

    `{"center": [lat, lon], "zoom": 0..19, "overlays": [known layer ids],
    "filters": {"from", "to", "group", "size": text}}`.  The state is shown back to
    every participant, so it is not a place for arbitrary JSON.
    """
    if not isinstance(raw, dict) or len(repr(raw)) > MAX_STATE_BYTES:
        raise InvalidPlanningError({"map_state": "not_an_object"})
    center, zoom = raw.get("center"), raw.get("zoom")
    if (not isinstance(center, list) or len(center) != 2
            or not all(isinstance(v, int | float) and math.isfinite(v) for v in center)
            or not (-90 <= center[0] <= 90 and -180 <= center[1] <= 180)):  # fmt: skip
        raise InvalidPlanningError({"map_state": "invalid_center"})
    if isinstance(zoom, bool) or not isinstance(zoom, int | float) or not 0 <= zoom <= 19:
        raise InvalidPlanningError({"map_state": "invalid_zoom"})
    overlays = raw.get("overlays", [])
    if not isinstance(overlays, list) or not all(o in OVERLAYS for o in overlays):
        raise InvalidPlanningError({"map_state": "unknown_overlay"})
    filters = raw.get("filters", {})
    if not isinstance(filters, dict) or not all(
        k in FILTER_KEYS and isinstance(v, str) and len(v) <= 40 for k, v in filters.items()
    ):
        raise InvalidPlanningError({"map_state": "invalid_filters"})
    return {"center": [float(center[0]), float(center[1])], "zoom": zoom,
            "overlays": list(dict.fromkeys(overlays)), "filters": dict(filters)}  # fmt: skip


def save_map_state(session: Session, planning: PlanningSession, raw: Any) -> dict[str, Any]:
    """Keep the map as it is on the screen now; returns what was stored."""
    state = clean_map_state(raw)
    planning.map_state = state
    session.commit()
    return state


def priorities(session: Session, planning: PlanningSession) -> list[SessionPriority]:
    """The agenda in order."""
    return list(
        session.scalars(
            select(SessionPriority)
            .where(SessionPriority.session_id == planning.id)
            .order_by(SessionPriority.position)
        ).all()
    )


def parse_cells(text: str) -> list[tuple[int, int]]:
    """Hot spot cells as the pages write them, "i:j i:j" (or comma-separated), deduplicated.

    Raises ValueError for anything that is not a pair of integers of a grid's size (a
    cell index past a million is no cell of any hromada, and would overflow the hexagons'
    arrays).
    """
    out = []
    for pair in text.replace(",", " ").split():
        i, _sep, j = pair.partition(":")
        if max(len(i), len(j)) > 8:
            raise ValueError(f"no cell {pair!r}")
        cell = (int(i), int(j))
        if max(abs(cell[0]), abs(cell[1])) > MAX_CELL_INDEX:
            raise ValueError(f"no cell {pair!r}")
        out.append(cell)
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class CellEvidence:
    """What the map showed for the chosen hot spot cells in the session's period."""

    cells: list[tuple[int, int]]
    size_m: int
    start: date
    end: date
    incidents: int
    concerns: int
    gi_bin: int  # the strongest class among the cells (3 = hot spot at 99 %)

    def as_json(self) -> dict[str, Any]:
        """The evidence as stored with the priority (JSON types only)."""
        return {"source": "hotspots", "cells": [list(c) for c in self.cells],
                "size_m": self.size_m, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "incidents": self.incidents,
                "concerns": self.concerns, "gi_bin": self.gi_bin}  # fmt: skip


def cell_evidence(
    session: Session, query: HotspotQuery, cells: list[tuple[int, int]], cache: Cache | None
) -> CellEvidence:
    """Counts of the chosen cells from the same (cached) analysis the map shows."""
    result = analyse(session, query, cache)
    if result is None or not cells:
        raise InvalidPlanningError({"cells": "no_cells"})
    keys = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(result.i, result.j, strict=True))}
    found = [keys[c] for c in cells if c in keys]
    if len(found) != len(cells):
        raise InvalidPlanningError({"cells": "unknown_cell"})
    rows = np.asarray(found)
    return CellEvidence(
        cells=cells, size_m=query.size_m, start=query.start, end=query.end,
        incidents=int(result.count[rows].sum()), concerns=int(result.concerns[rows].sum()),
        gi_bin=int(result.gi_bin[rows].max()),
    )  # fmt: skip


def add_priority(
    session: Session,
    planning: PlanningSession,
    title: str,
    note: str = "",
    evidence: dict[str, Any] | None = None,
) -> SessionPriority:
    """Put an item on the agenda, after the others; at most `MAX_PRIORITIES`."""
    errors = {}
    if not title.strip():
        errors["title"] = "required"
    elif len(title) > 200:
        errors["title"] = "too_long"
    if len(note) > 2000:
        errors["note"] = "too_long"
    taken = session.scalar(select(func.count()).where(SessionPriority.session_id == planning.id))
    if (taken or 0) >= MAX_PRIORITIES:
        errors["title"] = "too_many"
    if errors:
        raise InvalidPlanningError(errors)
    item = SessionPriority(
        session_id=planning.id,
        position=(taken or 0) + 1,
        title=title.strip(),
        note=note.strip(),
        evidence=evidence or {},
    )
    session.add(item)
    session.commit()
    return item


def decisions(session: Session, planning: PlanningSession) -> list[Measure]:
    """The measures decided in this session, in the order recorded."""
    return list(session.scalars(select(Measure).where(
        Measure.session_id == planning.id).order_by(Measure.id)).all())  # fmt: skip


def previous(session: Session, planning: PlanningSession) -> PlanningSession | None:
    """The community's session before this one (its measures are reported back on)."""
    return session.scalars(
        select(PlanningSession)
        .where(
            PlanningSession.community_id == planning.community_id,
            or_(
                PlanningSession.held_on < planning.held_on,
                (PlanningSession.held_on == planning.held_on) & (PlanningSession.id < planning.id),
            ),
        )
        .order_by(PlanningSession.held_on.desc(), PlanningSession.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Minutes:
    """Everything the printed minutes say, gathered once for the HTML and the PDF."""

    planning: PlanningSession
    participants: dict[str, list[str]]  # agency -> names, agencies in `AGENCIES` order
    priorities: list[SessionPriority]
    decisions: list[Measure]
    earlier: PlanningSession | None
    report_back: list[Measure]


def minutes(session: Session, planning: PlanningSession) -> Minutes:
    """The minutes of `planning`: participants by agency, agenda, decisions, report-back."""
    by_agency: dict[str, list[str]] = {a: [] for a in AGENCIES}
    for person in planning.participants:
        by_agency.setdefault(person["agency"], []).append(person["name"])
    earlier = previous(session, planning)
    return Minutes(
        planning=planning,
        participants={a: names for a, names in by_agency.items() if names},
        priorities=priorities(session, planning),
        decisions=decisions(session, planning),
        earlier=earlier,
        report_back=decisions(session, earlier) if earlier is not None else [],
    )
