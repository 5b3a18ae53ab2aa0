"""Typed SQLAlchemy 2 models, one module per domain concept.

Importing this package registers every table on `Base.metadata`, which Alembic
reads when autogenerating migrations.
"""

from geoapp.models.base import Base
from geoapp.models.category import Category
from geoapp.models.community import Community, CommunityLevel, CommunityPart

__all__ = ["Base", "Category", "Community", "CommunityLevel", "CommunityPart"]
