"""Typed SQLAlchemy 2 models, one module per domain concept.

Importing this package registers every table on `Base.metadata`, which Alembic
reads when autogenerating migrations.
"""

from geoapp.models.audit import AuditEvent
from geoapp.models.base import Base
from geoapp.models.category import Category
from geoapp.models.community import Community, CommunityLevel, CommunityPart
from geoapp.models.concern import (
    Concern,
    ConcernContact,
    ConcernEvent,
    ConcernPhoto,
    ConcernSupport,
    Status,
)
from geoapp.models.gazetteer import GazetteerEntry
from geoapp.models.incident import ImportBatch, Incident, IncidentCell
from geoapp.models.measure import (
    Measure,
    MeasureConcern,
    MeasureEvent,
    MeasureIndicator,
    MeasureKind,
    MeasureStatus,
)
from geoapp.models.planning import PlanningSession, SessionPriority
from geoapp.models.token import ApiToken
from geoapp.models.user import Agency, LoginSession, Membership, Role, SignInFailureTally, User

__all__ = [
    "Agency",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Category",
    "Community",
    "CommunityLevel",
    "CommunityPart",
    "Concern",
    "ConcernContact",
    "ConcernEvent",
    "ConcernPhoto",
    "ConcernSupport",
    "GazetteerEntry",
    "ImportBatch",
    "Incident",
    "IncidentCell",
    "LoginSession",
    "Measure",
    "MeasureConcern",
    "MeasureEvent",
    "MeasureIndicator",
    "MeasureKind",
    "MeasureStatus",
    "Membership",
    "PlanningSession",
    "Role",
    "SessionPriority",
    "SignInFailureTally",
    "Status",
    "User",
]
