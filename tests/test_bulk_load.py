"""A large load drops and rebuilds the incident indexes: the same indexes come back, a
duplicate reference still fails the load, and a table in use is not waited for."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from geoapp import sql
from geoapp.services import bulk_load

INSERT = text(
    "INSERT INTO incident (community_id, category_id, article, occurred_on, point, ref_hash, "
    "batch_id) SELECT :c, (SELECT min(id) FROM category), '185', date '2025-01-01', "
    "ST_SetSRID(ST_MakePoint(30.21, 50.545), 4326), convert_to(r, 'UTF8'), :b "
    "FROM unnest(CAST(:refs AS text[])) r"
)


def indexes(session) -> list[tuple]:
    return [tuple(r) for r in session.execute(sql.load("incident_index_definitions"))]


@pytest.fixture()
def batch(db_session):
    community = db_session.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
    batch_id = db_session.scalar(text(
        "INSERT INTO import_batch (community_id, file_name, sha256, profile, accepted, "
        "rejected, actor) VALUES (:c, 'bulk.csv', repeat('0', 64), 'default', 0, 0, 'test') "
        "RETURNING id"), {"c": community})  # fmt: skip
    return community, batch_id


def test_the_same_indexes_come_back(db_session, batch):
    community, batch_id = batch
    before = indexes(db_session)
    assert {r[0] for r in before} >= {"pk_incident", "uq_incident_community_id",
                                      "ix_incident_point_brin"}  # fmt: skip
    with bulk_load.indexes_rebuilt(db_session) as rebuilt:
        assert rebuilt and indexes(db_session) == []
        db_session.execute(INSERT, {"c": community, "b": batch_id, "refs": ["a1", "a2", "a3"]})
    assert indexes(db_session) == before
    found = db_session.scalar(text("SELECT count(*) FROM incident WHERE batch_id = :b AND "
                                   "community_id = :c AND ref_hash = convert_to('a2', 'UTF8')"),
                              {"b": batch_id, "c": community})  # fmt: skip
    assert found == 1  # the rebuilt unique index answers lookups


def test_a_duplicate_still_fails_the_load(db_session, batch):
    community, batch_id = batch
    with (
        pytest.raises(IntegrityError, match=r"duplicate"),
        bulk_load.indexes_rebuilt(db_session),
    ):
        db_session.execute(INSERT, {"c": community, "b": batch_id, "refs": ["d1", "d1"]})


def test_a_table_in_use_is_loaded_through_the_live_indexes(db_session, batch, engine):
    community, batch_id = batch
    before = indexes(db_session)
    with engine.connect() as reader:
        reader.execute(text("LOCK TABLE incident IN ACCESS SHARE MODE"))  # a reader's lock
        with bulk_load.indexes_rebuilt(db_session) as rebuilt:
            assert not rebuilt
            assert indexes(db_session) == before
            db_session.execute(INSERT, {"c": community, "b": batch_id, "refs": ["l1"]})
        reader.rollback()
    assert indexes(db_session) == before


def test_only_a_large_load_against_a_small_table_is_worth_it(db_session, batch):
    community, batch_id = batch
    db_session.execute(INSERT, {"c": community, "b": batch_id, "refs": ["w1", "w2", "w3"]})
    db_session.execute(text("ANALYZE incident"))
    rows = db_session.scalar(text("SELECT count(*) FROM incident"))
    assert not bulk_load.worth_it(db_session, 50)  # under MIN_ROWS
    assert not bulk_load.worth_it(db_session, rows - 1, min_rows=1)
    assert bulk_load.worth_it(db_session, rows + 1, min_rows=1)


def trigger_state(session) -> str:
    return session.scalar(text("SELECT tgenabled FROM pg_trigger WHERE tgname = :t"),
                          {"t": bulk_load.REFERENCE_TRIGGER})  # fmt: skip


def test_a_bulk_load_checks_its_references_itself_and_turns_the_trigger_back_on(db_session, batch):
    """The trigger is off only during a bulk load, whose own check then decides."""
    community, batch_id = batch
    seen: list[str] = []

    def write() -> int:
        seen.append(trigger_state(db_session))
        refs = [f"t{len(seen)}-{n}" for n in range(2)]
        db_session.execute(INSERT, {"c": community, "b": batch_id, "refs": refs})
        return 2

    def refuse() -> None:
        raise ValueError("unknown category")

    assert bulk_load.load(db_session, 2, write, refuse) == 2  # small: the trigger checks
    savepoint = db_session.begin_nested()
    with pytest.raises(ValueError, match="unknown category"):
        bulk_load.load(db_session, 10**6, write, refuse)  # large: the load's own check
    savepoint.rollback()
    assert bulk_load.load(db_session, 10**6, write, lambda: None) == 2
    assert seen == ["O", "D", "D"]
    assert trigger_state(db_session) == "O"
