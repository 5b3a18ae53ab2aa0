"""Published releases of incident counts: what the public and partners may ever see.

A release is one closed calendar year of one community, all groups together, at one cell
size, copied from the year's protected table (`incident_cells.cell_rows`) when staff publish
it, and never revised (the tables refuse UPDATE).  Why this shape (PRIVACY.md, "Releases"):

* Frozen: two releases of the same period differ by exactly what was added between them,
  so a table recomputed after each import lets anyone locate one new offence.  A late
  import into a published year changes what staff see, never the release.
* Closed years only: an open year changes every day, so it would be a series of releases.
* One size: hexagons of 500 m and 1000 m do not nest; two published partitions of the same
  incidents let a linear programme narrow withheld cells far below what `protect` proves
  for one partition and its total.  The release's size is the smallest public size at which
  most of the year's incidents (`MOST`) are in published cells, else the largest.
* Only what may be published is stored: a withheld count is NULL here, so even a copy of
  these two tables reveals nothing beyond the public table itself.

Flask-free: the CLI, the staff page and `geoapp demo` call `publish`; the layer sources
read `latest`/`find` and `cells`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.services import incident_cells

MOST = 0.8  # the share of a year's incidents that should be in published cells


class ReleaseError(ValueError):
    """A release cannot be made (an open year, no incidents, already published)."""


@dataclass(frozen=True)
class Release:
    """One published year: its size, total (None when withheld), k and when it was made."""

    id: int
    community_id: int
    year: int
    size_m: int
    k: int
    total: int | None
    incidents_at_release: int
    released_at: datetime
    released_by: str

    @property
    def label(self) -> str:
        """The period as the API writes it ("2025")."""
        return str(self.year)


_COLUMNS = ("id, community_id, year, size_m, k, total, incidents_at_release, released_at, "
            "released_by")  # fmt: skip


def _release(row: Any) -> Release:
    return Release(*row)


def all_of(session: Session, community_id: int) -> list[Release]:
    """The community's releases, newest year first (what the public map's filter offers)."""
    rows = session.execute(text(f"SELECT {_COLUMNS} FROM incident_release "
                                "WHERE community_id = :c ORDER BY year DESC"),
                           {"c": community_id})  # fmt: skip
    return [_release(r) for r in rows]


def find(session: Session, community_id: int, year: int) -> Release | None:
    """The release of one year, if it was published."""
    row = session.execute(text(f"SELECT {_COLUMNS} FROM incident_release "
                               "WHERE community_id = :c AND year = :y"),
                          {"c": community_id, "y": year}).first()  # fmt: skip
    return _release(row) if row else None


def choose_size(shares: dict[int, float], public_sizes: tuple[int, ...]) -> int:
    """The one size a year is published at (pure): the smallest where `MOST` is published."""
    sizes = sorted(public_sizes)
    return next((s for s in sizes if shares.get(s, 0.0) >= MOST), sizes[-1])


def publish(
    session: Session, community_id: int, year: int, k: int, public_sizes: tuple[int, ...],
    *, actor: str, today: date | None = None,
) -> Release:  # fmt: skip
    """Publish a closed year of the community (in the caller's transaction) and return it.

    Raises ReleaseError for a year not yet closed, a year without incidents, or a year
    already published (a release is never revised: publishing again would be a second
    release of the same period, the very thing that can be differenced).
    """
    today = today or date.today()
    if year >= today.year:
        raise ReleaseError(f"{year} has not closed yet: only a whole past year is published")
    if find(session, community_id, year) is not None:
        raise ReleaseError(f"{year} is already published and a release is never revised")
    start = date(year, 1, 1)
    total_row = session.execute(text(
        "SELECT n, suppressed, size_m FROM incident_cell WHERE community_id = :c "
        "AND period = 'year' AND period_start = :s AND category_id IS NULL AND i IS NULL "
        "AND size_m = ANY(CAST(:sizes AS integer[]))"),
        {"c": community_id, "s": start, "sizes": list(public_sizes)}).all()  # fmt: skip
    if not total_row:
        raise ReleaseError(f"{year} has no recorded offences to publish")
    size = choose_size(incident_cells.published_share(session, community_id, year),
                       tuple(public_sizes))  # fmt: skip
    n, suppressed = next((r[0], r[1]) for r in total_row if r[2] == size)
    release_id = session.execute(text(
        "INSERT INTO incident_release (community_id, year, size_m, k, total, "
        "incidents_at_release, released_by) VALUES (:c, :y, :s, :k, :t, :n, :by) RETURNING id"),
        {"c": community_id, "y": year, "s": size, "k": k,
         "t": None if suppressed else n, "n": n, "by": actor}).scalar_one()  # fmt: skip
    session.execute(sql.load("release_copy_cells"), {
        "release_id": release_id, "community_id": community_id, "size_m": size,
        "start": start})  # fmt: skip
    found = find(session, community_id, year)
    assert found is not None
    return found


def publish_closed_years(
    session: Session, community_id: int, k: int, public_sizes: tuple[int, ...], *,
    actor: str, today: date | None = None,
) -> list[Release]:  # fmt: skip
    """Publish every closed year with incidents not yet published (the demo's set-up)."""
    today = today or date.today()
    made = []
    for period in incident_cells.available_periods(session, community_id):
        year = period.start.year
        closed = period.kind == "year" and year < today.year
        if closed and find(session, community_id, year) is None:
            made.append(publish(session, community_id, year, k, public_sizes, actor=actor,
                                today=today))  # fmt: skip
    return made


def unpublished_years(
    session: Session, community_id: int, today: date | None = None
) -> list[int]:  # fmt: skip
    """Closed years with incidents that are not published yet, newest first."""
    today = today or date.today()
    done = {r.year for r in all_of(session, community_id)}
    years = [p.start.year for p in incident_cells.available_periods(session, community_id)
             if p.kind == "year"]  # fmt: skip
    return [y for y in years if y < today.year and y not in done]


def cells(session: Session, release: Release) -> list[tuple[dict[str, Any], str]]:
    """A release's cells as (properties, GeoJSON geometry); a withheld count is None."""
    rows = session.execute(sql.load("release_read_cells"), {"release_id": release.id})
    return [({"count": r.n, "suppressed": r.n is None, "cell_size_m": release.size_m,
              "period": release.label, "i": r.i, "j": r.j}, r.geometry)
            for r in rows]  # fmt: skip


def counts(session: Session, release: Release) -> dict[tuple[int, int], int]:
    """A release's published counts by cell, a withheld one as 0 (the derived layers' input).

    Counting a withheld cell as 0 keeps a hot spot class a function of the published table
    alone: what a partner is shown could have been computed by the partner.
    """
    rows = session.execute(text("SELECT i, j, coalesce(n, 0) FROM incident_release_cell "
                                "WHERE release_id = :r"), {"r": release.id})  # fmt: skip
    return {(int(i), int(j)): int(n) for i, j, n in rows}
