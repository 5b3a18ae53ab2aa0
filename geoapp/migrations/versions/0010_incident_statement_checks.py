"""incident: references checked once per statement, a BRIN point index

A million-row import spent half its time in per-row foreign-key checks (three per row)
and a quarter in GiST insertions (bench/RESULTS.md).  The references of `incident` are now
checked by statement-level triggers over the transition table (one join per COPY or
INSERT, whatever its size), the cascade from `import_batch` is a statement-level delete,
and the point index is a BRIN over rows that the importer writes in spatial order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 22:40:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE FUNCTION incident_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.batch_id, a.community_id, a.category_id INTO bad
    FROM incident_added a
    LEFT JOIN import_batch b ON b.id = a.batch_id
    LEFT JOIN category c ON c.id = a.category_id
    WHERE b.id IS NULL OR b.community_id IS DISTINCT FROM a.community_id OR c.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'incident references no batch of its community or no category '
                        '(batch %, community %, category %)',
                        bad.batch_id, bad.community_id, bad.category_id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER incident_references_insert AFTER INSERT ON incident
    REFERENCING NEW TABLE AS incident_added
    FOR EACH STATEMENT EXECUTE FUNCTION incident_check_references();
CREATE TRIGGER incident_references_update AFTER UPDATE ON incident
    REFERENCING NEW TABLE AS incident_added
    FOR EACH STATEMENT EXECUTE FUNCTION incident_check_references();

CREATE FUNCTION import_batch_delete_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM incident i USING batch_removed r WHERE i.batch_id = r.id;
    RETURN NULL;
END $$;

CREATE TRIGGER import_batch_cascade AFTER DELETE ON import_batch
    REFERENCING OLD TABLE AS batch_removed
    FOR EACH STATEMENT EXECUTE FUNCTION import_batch_delete_incidents();

CREATE FUNCTION category_keep_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM incident i JOIN category_removed r ON r.id = i.category_id) THEN
        RAISE EXCEPTION 'incidents still belong to a deleted category'
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER category_incidents AFTER DELETE ON category
    REFERENCING OLD TABLE AS category_removed
    FOR EACH STATEMENT EXECUTE FUNCTION category_keep_incidents();
"""

DOWNGRADE = """
DROP TRIGGER category_incidents ON category;
DROP FUNCTION category_keep_incidents();
DROP TRIGGER import_batch_cascade ON import_batch;
DROP FUNCTION import_batch_delete_incidents();
DROP TRIGGER incident_references_update ON incident;
DROP TRIGGER incident_references_insert ON incident;
DROP FUNCTION incident_check_references();
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_constraint("fk_incident_batch_id_import_batch", "incident", type_="foreignkey")
    op.drop_constraint("fk_incident_category_id_category", "incident", type_="foreignkey")
    op.drop_constraint("fk_incident_community_id_community", "incident", type_="foreignkey")
    # The unique (community_id, ref_hash) index serves lookups by community.
    op.drop_index("ix_incident_community_id", table_name="incident")
    op.drop_index("idx_incident_point", table_name="incident", postgresql_using="gist")
    op.create_index("ix_incident_point_brin", "incident", ["point"], postgresql_using="brin")
    op.execute(UPGRADE)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute(DOWNGRADE)
    op.drop_index("ix_incident_point_brin", table_name="incident", postgresql_using="brin")
    op.create_index("idx_incident_point", "incident", ["point"], postgresql_using="gist")
    op.create_index("ix_incident_community_id", "incident", ["community_id"])
    op.create_foreign_key("fk_incident_community_id_community", "incident", "community",
                          ["community_id"], ["id"])  # fmt: skip
    op.create_foreign_key("fk_incident_category_id_category", "incident", "category",
                          ["category_id"], ["id"])  # fmt: skip
    op.create_foreign_key("fk_incident_batch_id_import_batch", "incident", "import_batch",
                          ["batch_id"], ["id"], ondelete="CASCADE")  # fmt: skip
