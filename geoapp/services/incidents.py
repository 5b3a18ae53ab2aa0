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
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session
from tqdm import tqdm

from geoapp import sql
from geoapp.geo.crs import looks_swapped
from geoapp.models.incident import ImportBatch
from geoapp.services import audit
from geoapp.services.incident_groups import group_of_article, known_articles, normalise_article

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                "%d.%m.%Y %H:%M")  # fmt: skip
PROFILES = {"default": {"date": "date", "article": "article", "lon": "lon", "lat": "lat",
                        "ref": "ref"}}  # fmt: skip


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
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
        return parsed if date(2000, 1, 1) <= parsed <= date.today() else None
    return None


def _number(value: str) -> float | None:
    try:
        number = float(value.strip().replace(",", "."))
    except (ValueError, AttributeError):
        return None
    return number if math.isfinite(number) else None


def ref_hash(secret: str, community_id: int, ref: str) -> str:
    """The keyed hash a source reference is stored as."""
    message = f"{community_id}:{ref.strip()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _rows(raw: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            body = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("the file is neither UTF-8 nor cp1251 text")
    try:
        dialect = csv.Sniffer().sniff(body[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(body), dialect=dialect)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    rows = [(reader.line_num, {str(k).strip().lower(): (v or "") for k, v in r.items() if k})
            for r in reader]  # fmt: skip
    return fields, rows


def import_file(
    session: Session,
    path: str | Path,
    community_id: int,
    secret: str,
    data_dir: str,
    actor: str,
    profile: str = "default",
    strict: bool = False,
) -> ImportReport:
    """Import one CSV of incidents; see the module docstring for what is kept and refused."""
    path = Path(path)
    report = ImportReport(file_name=path.name)
    columns = PROFILES.get(profile)
    if columns is None:
        raise IncidentFileError(f"no import profile '{profile}' (known: {', '.join(PROFILES)})",
                                report)  # fmt: skip
    raw = path.read_bytes()
    if not raw.strip():
        raise IncidentFileError(f"{path.name}: the file is empty", report)
    try:
        fields, rows = _rows(raw)
    except ValueError as exc:
        raise IncidentFileError(f"{path.name}: {exc}", report) from exc
    missing = [c for c in columns.values() if c not in fields]
    if missing:
        raise IncidentFileError(
            f"{path.name}: missing column(s) {', '.join(missing)} (profile '{profile}' expects "
            f"{', '.join(columns.values())}; found {', '.join(fields) or 'none'})",
            report,
        )
    known = known_articles(data_dir)
    staged, seen = [], {}
    for line, row in tqdm(rows, unit="row", disable=len(rows) < 20_000 or None):
        occurred = _parse_date(row[columns["date"]])
        article = normalise_article(row[columns["article"]], known)
        lon, lat = _number(row[columns["lon"]]), _number(row[columns["lat"]])
        ref = row[columns["ref"]].strip()
        why = None
        if occurred is None:
            why = f"date '{row[columns['date']]}' not understood (or in the future / before 2000)"
        elif article is None:
            why = f"'{row[columns['article']]}' is no article of the Criminal Code"
        elif lon is None or lat is None:
            why = "missing or unreadable lon/lat"
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
        category = group_of_article(session, article, known[article])
        staged.append((line, category, article, occurred, lon, lat,
                       ref_hash(secret, community_id, ref)))  # fmt: skip
    if not rows:
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
                            sha256=hashlib.sha256(raw).hexdigest(), profile=profile,
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
