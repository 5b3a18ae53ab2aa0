"""Import incident records (police and prosecutor exports) into a community.

One file is one batch in one transaction: every valid row is imported and every
other row is reported with its number and reason, or, with `strict`, nothing is
imported unless every row is valid.  The source reference is stored only as an
HMAC keyed with the app's secret, so a re-import is recognised but the reference
cannot be recovered from the database.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from tqdm import tqdm

from geoapp import sql
from geoapp.geo.crs import looks_swapped
from geoapp.models.incident import ImportBatch
from geoapp.services import audit, incident_cells
from geoapp.services.geocode import geocode
from geoapp.services.incident_files import FileRejected, load_profile, read_records
from geoapp.services.incident_groups import group_of_article, known_articles, normalise_article

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                "%d.%m.%Y %H:%M")  # fmt: skip
# A geocoded address is used only when the gazetteer is this sure (an exact house, or a
# house placed between its neighbours); a street alone is too vague for a crime statistic.
MIN_ADDRESS_SCORE = 0.8


@dataclass(frozen=True)
class CellPolicy:
    """How the counts an import rebuilds are protected: k and the public cell sizes."""

    k: int = 10
    public_sizes: tuple[int, ...] = (500, 1000)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CellPolicy:
        """The policy the app is configured with (GEOAPP_SUPPRESSION_K, ..._CELL_SIZES)."""
        return cls(config["GEOAPP_SUPPRESSION_K"], tuple(config["GEOAPP_PUBLIC_CELL_SIZES"]))


class IncidentFileError(ValueError):
    """The file cannot be imported at all (or, strict, not every row is valid)."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class ImportReport:
    """What an import did, row by row."""

    file_name: str
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    batch_id: int | None = None

    def summary(self) -> str:
        """Lines for the person importing."""
        lines = [f"{self.file_name}: {self.accepted} incidents imported, "
                 f"{len(self.rejected)} rows rejected"]  # fmt: skip
        lines += [f"  row {n}: {why}" for n, why in self.rejected[:50]]
        if len(self.rejected) > 50:
            lines.append(f"  ... and {len(self.rejected) - 50} more")
        return "\n".join(lines)

    def rejection_csv(self) -> str:
        """The rejected rows as CSV (row, reason), for the analyst to fix and re-import."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "reason"])
        writer.writerows(self.rejected)
        return out.getvalue()


def _parse_date(value: str) -> date | None:
    """A date in one of DATE_FORMATS, between 2000 and today."""
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
        return parsed if date(2000, 1, 1) <= parsed <= date.today() else None
    return None


def ref_hash(secret: str, community_id: int, ref: str) -> str:
    """The keyed hash a source reference is stored as."""
    message = f"{community_id}:{ref.strip()}".encode()
    return hmac.digest(secret.encode(), message, "sha256").hex()


def _locate_address(
    session: Session, address: str, community_id: int
) -> tuple[float | None, float | None]:
    """A house address through the community's gazetteer, or (None, None) when unsure."""
    found = geocode(session, address, community_id, limit=1)
    if found and found[0].score >= MIN_ADDRESS_SCORE:
        return found[0].lon, found[0].lat
    return None, None


def import_file(
    session: Session,
    path: str | Path,
    community_id: int,
    secret: str,
    data_dir: str,
    actor: str,
    profile: str = "default",
    strict: bool = False,
    cells: CellPolicy | None = None,
) -> ImportReport:
    """Import one file of incidents; see the module docstring for what is kept and refused.

    The file is read through a profile (`data/incident_profiles/`): CSV, XLSX, GeoJSON
    or GeoPackage; located by lon/lat, UCS-2000 coordinates, an address (through the
    community's gazetteer) or the file's point geometry.
    """
    path = Path(path)
    report = ImportReport(file_name=path.name)
    try:
        records = read_records(path, load_profile(profile))
    except FileRejected as exc:
        raise IncidentFileError(str(exc), report) from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    known = known_articles(data_dir)
    staged, seen = [], {}
    groups: dict[str, int | None] = {}
    articles: dict[str, str | None] = {}
    dates: dict[str, date | None] = {}
    for record in tqdm(records, unit="row", disable=len(records) < 20_000 or None):
        line = record.line
        # Exports repeat a few hundred dates and articles a million times: parse each once.
        if record.date not in dates:
            dates[record.date] = _parse_date(record.date)
        occurred = dates[record.date]
        if record.article not in articles:
            articles[record.article] = normalise_article(record.article, known)
        article = articles[record.article]
        lon, lat = record.lon, record.lat
        if record.error is None and lon is None and record.address:
            lon, lat = _locate_address(session, record.address, community_id)
        ref = record.ref.strip()
        why = None
        if record.error:
            why = record.error
        elif occurred is None:
            why = f"date '{record.date}' not understood (or in the future / before 2000)"
        elif article is None:
            why = f"'{record.article}' is no article of the Criminal Code"
        elif lon is None or lat is None:
            why = (f"address '{record.address}' not found in the gazetteer" if record.address
                   else "missing or unreadable location")  # fmt: skip
        elif looks_swapped((lon, lat, lon, lat)):
            why = "lon and lat look swapped"
        elif not ref:
            why = "no source reference"
        elif ref in seen:
            why = f"the same reference as row {seen[ref]}"
        if why:
            report.rejected.append((line, why))
            continue
        seen[ref] = line
        if article not in groups:
            groups[article] = group_of_article(session, article, known[article])
        category = groups[article]
        staged.append((line, category, article, occurred, lon, lat,
                       ref_hash(secret, community_id, ref)))  # fmt: skip
    if not records:
        raise IncidentFileError(f"{path.name}: no rows", report)
    try:
        session.execute(text("DROP TABLE IF EXISTS incident_stage"))
        session.execute(text(
            "CREATE TEMP TABLE incident_stage (line integer, category_id integer, article text, "
            "occurred_on date, lon float8, lat float8, ref_hash text)"))  # fmt: skip
        conn = session.connection().connection.dbapi_connection
        with conn.cursor() as cur, cur.copy("COPY incident_stage FROM STDIN") as copy:
            for item in staged:
                copy.write_row(item)
        for line, reason in session.execute(sql.load("incident_stage_checks"),
                                            {"community_id": community_id}):  # fmt: skip
            report.rejected.append((line, reason))
        report.rejected.sort()
        if strict and report.rejected:
            raise IncidentFileError(
                f"{path.name}: {len(report.rejected)} rows cannot be imported; with --strict "
                "nothing was imported", report)  # fmt: skip
        errors = [list(r) for r in report.rejected[:1000]]
        batch = ImportBatch(community_id=community_id, file_name=path.name,
                            sha256=digest, profile=profile,
                            accepted=0, rejected=len(report.rejected), errors=errors,
                            actor=actor)  # fmt: skip
        session.add(batch)
        session.flush()
        result = session.execute(sql.load("incident_insert"), {
            "community_id": community_id, "batch_id": batch.id,
            "rejected": [line for line, _ in report.rejected]})  # fmt: skip
        report.accepted = batch.accepted = result.rowcount
        report.batch_id = batch.id
        session.execute(text("DROP TABLE incident_stage"))
        policy = cells or CellPolicy()
        incident_cells.rebuild(session, community_id, policy.k, policy.public_sizes)
        audit.record(session, "incidents.import", actor, community_id=community_id,
                     object_type="import_batch", object_id=batch.id,
                     details={"file": path.name, "sha256": batch.sha256,
                              "accepted": report.accepted,
                              "rejected": len(report.rejected)})  # fmt: skip
        session.commit()
    except Exception:
        session.rollback()
        raise
    return report
