"""measure targets taken from concerns: redrawn around the concerns' public points

A target "150 m around the linked concerns" used to be drawn around each concern's true
point; the public measures layer shows the 250 m hexagons it touches, and those together
with the concern's 100 m public point narrowed the resident's door down to metres (issue
18, attack 4).  New targets are built around the public points (services.measures.
concern_area); this redraws the stored ones the same way, so no published area is still
derived from a true point.  A measure whose linked concerns have no public point left
loses its area (null) rather than keep one drawn around a true point; sensitive concerns
are left out (they leave only as counts, never as a place).

Downgrade keeps the redrawn areas: the true-point ones are what this removes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 09:00:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RADIUS_M = 150.0  # services.measures.CONCERN_RADIUS_M when this was written

# The polygon parts of (the circles around the public points, in the community's metric
# CRS) clipped to the community, as services.measures._target keeps them.
REDRAW = f"""
UPDATE measure m SET target = (
    SELECT CASE WHEN ST_IsEmpty(s.area) THEN NULL ELSE ST_Multi(s.area) END
    FROM (
        SELECT ST_CollectionExtract(ST_Intersection(ST_Transform(ST_Union(
                   ST_Buffer(ST_Transform(c.public_point, com.metric_srid), {RADIUS_M},
                             'quad_segs=16')), 4326), com.geom), 3) AS area
        FROM measure_concern mc
        JOIN concern c ON c.id = mc.concern_id AND c.public_point IS NOT NULL
        JOIN category cat ON cat.id = c.category_id AND NOT cat.sensitive
        JOIN community com ON com.id = m.community_id
        WHERE mc.measure_id = m.id
        GROUP BY com.id
    ) s
)
WHERE m.target_source = 'concerns'
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.execute(REDRAW)


def downgrade() -> None:
    """Downgrade schema."""
