"""Load administrative boundaries into the community table.

One file is one transaction: the file is read and checked completely before
anything is written, then upserted by KATOTTH code, so loading it again
changes nothing and a file that cannot be loaded leaves the database as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import sql
from geoapp.geo import crs as crsmod
from geoapp.geo.katotth import is_valid_code, level_of
from geoapp.geo.reader import (
    READABLE_SUFFIXES,
    BoundaryFileError,
    Feature,
    NoPolygonsError,
    read_boundaries,
)
from geoapp.models.community import CommunityLevel


@dataclass
class StagedCommunity:
    """A row ready for the community table."""

    katotth: str
    slug: str
    name_uk: str
    name_en: str
    level: CommunityLevel
    geometry: shapely.MultiPolygon | None
    source: str | None
    office: str | None = None
    office_en: str | None = None
    pilot: bool = False
    metric_srid: int | None = None

    def row(self) -> dict[str, object]:
        """Parameters for boundary_stage_insert.sql."""
        geom = self.geometry
        srid = self.metric_srid or (crsmod.utm_srid(geom.centroid.x) if geom else 32636)
        return {
            "katotth": self.katotth, "slug": self.slug, "name_uk": self.name_uk,
            "name_en": self.name_en, "level": self.level.value, "office": self.office,
            "office_en": self.office_en, "pilot": self.pilot,
            "geom_wkb": shapely.to_wkb(geom) if geom is not None else None,
            "metric_srid": srid, "source": self.source,
        }  # fmt: skip


@dataclass
class LoadReport:
    """What one file did to the database, in numbers and reasons."""

    path: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repairs: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: list[tuple[int, str | None, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    no_polygons: bool = False  # readable, but nothing in it could be a boundary

    @property
    def loaded(self) -> int:
        """Features now in the database from this file (new, changed or already identical)."""
        return self.inserted + self.updated + self.unchanged

    def summary(self) -> str:
        """One paragraph for the person running the load."""
        name = Path(self.path).name
        if self.error:
            return f"NOT LOADED: {self.error}"
        lines = [
            f"{name}: loaded {self.loaded} (new {self.inserted}, changed {self.updated}, "
            f"unchanged {self.unchanged}), repaired {sum(self.repairs.values())}, "
            f"skipped {sum(self.skipped.values())}, rejected {len(self.rejected)}"
        ]
        lines += [f"  repaired: {kind} × {n}" for kind, n in sorted(self.repairs.items())]
        lines += [f"  skipped: {kind} × {n}" for kind, n in sorted(self.skipped.items())]
        by_reason: dict[str, list[str]] = {}
        for num, code, why in self.rejected:
            by_reason.setdefault(why, []).append(f"{num}{f' ({code})' if code else ''}")
        for why, which in sorted(by_reason.items()):
            shown = ", ".join(which[:8]) + (f" and {len(which) - 8} more" if len(which) > 8 else "")
            lines.append(f"  rejected: {why} × {len(which)}: feature {shown}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to load: each path itself, or the readable files of a directory, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in READABLE_SUFFIXES))
        else:
            out.append(p)
    return out


def stage_features(
    features: Sequence[Feature],
    codifier: dict[str, tuple[str, str]],
    source: str,
    report: LoadReport,
    katotth: Sequence[str] = (),
    level: CommunityLevel | None = None,
) -> list[StagedCommunity]:
    """Decide, feature by feature, what becomes a community row; record the rest."""
    wanted = set(katotth)
    staged: list[StagedCommunity] = []
    for feat in features:
        code = feat.katotth
        if not code:
            report.rejected.append((feat.number, None, "no KATOTTH code"))
            continue
        if not is_valid_code(code):
            report.rejected.append((feat.number, code, "malformed KATOTTH code (UA + 17 digits)"))
            continue
        if wanted and code not in wanted:
            report.skipped["not among --katotth"] += 1
            continue
        lvl = level_of(code, feat.admin_level, codifier)
        if level is not None and lvl is not None and lvl != level:
            report.skipped[f"level {lvl.value}, not {level.value}"] += 1
            continue
        lvl = lvl or level
        if lvl is None:
            report.rejected.append(
                (feat.number, code, "level unknown (no admin_level, code not in the codifier); "
                 "pass --level")
            )  # fmt: skip
            continue
        name_uk = feat.name_uk or (codifier.get(code, ("", ""))[1]) or code
        staged.append(
            StagedCommunity(
                katotth=code, slug=code.lower(), name_uk=name_uk,
                name_en=feat.name_en or name_uk, level=lvl, geometry=feat.geometry,
                source=source,
            )
        )  # fmt: skip
        report.repairs.update(feat.repairs)
    missing = wanted - {s.katotth for s in staged}
    if missing:
        report.warnings.append(f"not found in the file: {', '.join(sorted(missing))}")
    return staged


def upsert_communities(session: Session, rows: Sequence[StagedCommunity]) -> tuple[int, int, int]:
    """Write staged rows and refresh their subdivided parts; return (new, changed, unchanged).

    Runs inside the caller's transaction and does not commit.
    """
    if not rows:
        return 0, 0, 0
    session.execute(sql.load("boundary_stage_create"))
    session.execute(sql.load("boundary_stage_insert"), [r.row() for r in rows])
    session.execute(sql.load("boundary_keep_pilot"))
    written = session.execute(sql.load("boundary_upsert")).all()
    ids = [row.id for row in written]
    if ids:
        session.execute(sql.load("community_parts_delete"), {"ids": ids})
        session.execute(sql.load("community_parts_insert"), {"ids": ids})
    session.execute(text("DROP TABLE boundary_stage"))
    inserted = sum(1 for row in written if row.inserted)
    return inserted, len(written) - inserted, len(rows) - len(written)


def write_in_one_transaction(
    session: Session, rows: Sequence[StagedCommunity], report: LoadReport
) -> LoadReport:
    """Upsert `rows` and commit, or roll everything back; fill the report's counts."""
    try:
        report.inserted, report.updated, report.unchanged = upsert_communities(session, rows)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return report


def refresh_statistics(session: Session) -> None:
    """ANALYZE the boundary tables after a load.

    Without statistics (autovacuum may be off, or not have run yet) the
    planner can drive a point lookup through every hromada: measured at 4 hours
    instead of seconds for a million points.  Cheap once per load; too dear
    once per file of a 950-file folder.
    """
    session.execute(text("ANALYZE community"))
    session.execute(text("ANALYZE community_part"))
    session.commit()


def load_file(
    session: Session,
    path: str | Path,
    codifier: dict[str, tuple[str, str]],
    katotth: Sequence[str] = (),
    level: CommunityLevel | None = None,
    encoding: str | None = None,
) -> LoadReport:
    """Load one boundary file in one transaction and report what happened.

    A file-level problem (unreadable, empty, no polygons, outside Ukraine,
    duplicate codes) is reported in `error` and nothing is written.
    """
    report = LoadReport(path=str(path))
    try:
        parsed = read_boundaries(path, encoding=encoding)
    except BoundaryFileError as exc:
        report.error = str(exc)
        report.no_polygons = isinstance(exc, NoPolygonsError)
        return report
    report.skipped.update(parsed.skipped)
    report.rejected.extend(parsed.rejected)
    report.warnings.extend(parsed.warnings)
    rows = stage_features(parsed.features, codifier, Path(path).name, report, katotth, level)
    return write_in_one_transaction(session, rows, report)
