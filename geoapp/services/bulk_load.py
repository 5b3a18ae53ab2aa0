"""Large imports into `incident`: drop its indexes, load, build them again.

Inserting a million rows into a table with a unique b-tree on random hashes and two more
b-trees costs one random index descent per row and index; building the same indexes
afterwards sorts each column once.  Measured on 1,000,000 rows on this machine (bench/):
the COPY with the indexes in place took 14.1 s, the COPY into the bare table and the four
builds 5.9 s; the primary key, maintained row by row, cost four times its build, so it
is dropped and rebuilt too.  The builds read the whole table, existing rows included, so
the swap only pays when the load is large against what is there: `worth_it` decides.

Dropping an index takes an ACCESS EXCLUSIVE lock on `incident` until the import commits,
so readers of incidents (the staff map, hot spots) wait for the import (seconds).  The
lock is asked for without waiting: when a reader holds the table, the import inserts row
by row into the live indexes instead of queueing behind it.  The unique constraint is
rebuilt as a constraint, so a duplicate that slipped past the importer's checks still
fails the whole import, as it would have with the index in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from geoapp import sql

MIN_ROWS = 100_000  # below this, live index maintenance is cheap enough
BUILD_MEMORY = "256MB"  # maintenance_work_mem for the rebuilds: sorts stay in memory
REFERENCE_TRIGGER = "incident_references_insert"  # migration 0010


def worth_it(session: Session, new_rows: int, min_rows: int = MIN_ROWS) -> bool:
    """Whether rebuilding beats maintaining: a large load at least as big as the table."""
    if new_rows < min_rows:
        return False
    estimate = session.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = 'incident'::regclass")
    ).scalar_one()
    if estimate < 0:  # never analysed: count (rare, and only before a large load)
        estimate = session.execute(text("SELECT count(*) FROM incident")).scalar_one()
    return new_rows >= estimate


@contextmanager
def indexes_rebuilt(session: Session) -> Iterator[bool]:
    """Within the caller's transaction: drop the indexes, yield, rebuild them.

    Yields False (and changes nothing) when the table is in use and cannot be locked at
    once; the caller's load then goes through the live indexes.
    """
    savepoint = session.begin_nested()
    try:
        session.execute(text("LOCK TABLE incident IN ACCESS EXCLUSIVE MODE NOWAIT"))
    except OperationalError:
        savepoint.rollback()
        yield False
        return
    savepoint.commit()
    found = session.execute(sql.load("incident_index_definitions")).mappings().all()
    for row in found:
        if row["constraint_name"]:
            session.execute(
                text(f'ALTER TABLE incident DROP CONSTRAINT "{row["constraint_name"]}"')
            )
        else:
            session.execute(text(f'DROP INDEX "{row["index_name"]}"'))
    yield True
    session.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
    for row in found:
        if row["constraint_name"]:
            session.execute(text(f'ALTER TABLE incident ADD CONSTRAINT "{row["constraint_name"]}" '
                                 f'{row["constraint_def"]}'))  # fmt: skip
        else:
            session.execute(text(row["index_def"]))


def load(
    session: Session, new_rows: int, write: Callable[[], int], check: Callable[[], None]
) -> int:
    """Run `write` (the COPY) with the indexes rebuilt afterwards when that is faster.

    A bulk load also holds the reference trigger off: its transition table of a million
    rows and the join over it were a quarter of the COPY (bench/).  `check` then makes
    the trigger's check for the whole load, on the few distinct values it wrote.
    """
    if not worth_it(session, new_rows):
        return write()
    with indexes_rebuilt(session) as rebuilt:
        if not rebuilt:
            return write()
        session.execute(text(f"ALTER TABLE incident DISABLE TRIGGER {REFERENCE_TRIGGER}"))
        written = write()
        check()
        session.execute(text(f"ALTER TABLE incident ENABLE TRIGGER {REFERENCE_TRIGGER}"))
        return written
