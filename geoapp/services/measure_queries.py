"""Reading measures for the staff pages: one community's, by public id, with their parts.

Kept apart from `measures` (which changes them) so the views hold no queries and a
measure is always looked up within its community: another community's id is not found.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp.models.concern import Concern
from geoapp.models.measure import Measure, MeasureConcern, MeasureIndicator


def by_public_id(session: Session, community_id: int, public_id: str) -> Measure | None:
    """The community's measure with this public id (None for another community's)."""
    return session.scalars(select(Measure).where(
        Measure.public_id == public_id, Measure.community_id == community_id)).first()  # fmt: skip


def of_community(session: Session, community_id: int) -> list[Measure]:
    """Every measure of the community, in no particular order (the page sorts them)."""
    return list(session.scalars(select(Measure).where(Measure.community_id == community_id)))


def indicators(session: Session, measure_id: int) -> Sequence[MeasureIndicator]:
    """A measure's indicators in the order they were added."""
    return session.scalars(select(MeasureIndicator).where(
        MeasureIndicator.measure_id == measure_id).order_by(MeasureIndicator.id)).all()  # fmt: skip


def linked_concerns(session: Session, measure_id: int) -> Sequence[Concern]:
    """The residents' concerns a measure answers."""
    return session.scalars(select(Concern).join(MeasureConcern).where(
        MeasureConcern.measure_id == measure_id)).all()  # fmt: skip
