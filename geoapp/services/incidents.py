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
import io
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from threading import Event
from typing import Any

import numpy as np
import pandas as pd
import shapely
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.geo.crs import swapped_points
from geoapp.geo.zorder import zorder
from geoapp.models.incident import ImportBatch
from geoapp.services import audit, bulk_load, incident_cells
from geoapp.services.geocode import geocode
from geoapp.services.incident_files import FileRejected, Table, load_profile, read_table
from geoapp.services.incident_groups import groups_of_articles, known_articles, normalise_article

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                "%d.%m.%Y %H:%M")  # fmt: skip
# A geocoded address is used only when the gazetteer is this sure (an exact house, or a
# house placed between its neighbours); a street alone is too vague for a crime statistic.
MIN_ADDRESS_SCORE = 0.8
ANALYZE_AFTER = 10_000  # rows: a batch this large changes the planner's picture of the table
SHA256_BLOCK = 64  # bytes: HMAC pads its key to the hash's block
IMPORT_LOCK = 7_001  # advisory lock class: imports into one community take turns
_SAFE_TEXT = re.compile(r"^[0-9A-Za-z.-]+$")


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


def ref_hash(secret: str, community_id: int, ref: str) -> bytes:
    """The keyed hash a source reference is stored as: HMAC-SHA256 of "<community>:<ref>"."""
    return ref_hashes(secret, community_id, [ref])[0]


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def ref_hashes(secret: str, community_id: int, refs: Iterable[str]) -> list[bytes]:
    """`ref_hash` of many references.

    HMAC (RFC 2104) written out: the padded key and the community prefix are absorbed once
    into an inner and an outer SHA-256 state, and each reference costs two state copies;
    the `hmac` module's objects took twice as long for a million references.
    """
    key = secret.encode()
    if len(key) > SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(key.translate(_IPAD))
    inner.update(f"{community_id}:".encode())
    outer = hashlib.sha256(key.translate(_OPAD))
    out = []
    for ref in refs:
        h = inner.copy()
        h.update(ref.strip().encode())
        o = outer.copy()
        o.update(h.digest())
        out.append(o.digest())
    return out


def _locate_addresses(session: Session, table: Table, community_id: int) -> None:
    """Fill lon/lat of rows located by address, through the community's gazetteer.

    Only a house the gazetteer is sure of (MIN_ADDRESS_SCORE) is used; each distinct
    address is looked up once.
    """
    if table.address is None:
        return
    found: dict[str, tuple[float, float]] = {}
    for k in np.flatnonzero(pd.isna(table.error) & np.isnan(table.lon)):
        address = str(table.address[k])
        if address not in found:
            hits = geocode(session, address, community_id, limit=1)
            ok = hits and hits[0].score >= MIN_ADDRESS_SCORE
            found[address] = (hits[0].lon, hits[0].lat) if ok else (np.nan, np.nan)
        table.lon[k], table.lat[k] = found[address]


def _parsed(values: np.ndarray, parse: Callable[[str], Any]) -> np.ndarray:
    """`parse` applied to each distinct value once, spread back over the rows.

    Exports repeat a few hundred dates and articles a million times.
    """
    codes, uniques = pd.factorize(values)
    return np.array([parse(str(u)) for u in uniques] + [None], dtype=object)[codes]


def _parsed_dates(values: np.ndarray) -> np.ndarray:
    """`_parse_date` of each distinct value once, as datetime64[D] (NaT where refused).

    Dates stay numpy values from here to the COPY: a million `date` objects cost seconds
    to convert.
    """
    codes, uniques = pd.factorize(values)
    days = [_parse_date(str(u)) for u in uniques]
    parsed = np.array([np.datetime64(d, "D") if d else np.datetime64("NaT") for d in days]
                      + [np.datetime64("NaT")], dtype="datetime64[D]")  # fmt: skip
    return parsed[codes]


def _reasons(table: Table, occurred: np.ndarray, articles: np.ndarray) -> np.ndarray:
    """Why each row cannot be imported (None where it can), first reason only.

    The order is the one the analyst fixes a file in: unreadable cells, then date,
    article, location, reference, and a reference repeated within the file.
    """
    why = table.error.copy()

    def reject(mask: np.ndarray, reason: Callable[[int], str]) -> None:
        for k in np.flatnonzero(mask & pd.isna(why)):
            why[k] = reason(k)

    reject(pd.isna(occurred), lambda k: f"date '{table.date[k]}' not understood "
           "(or in the future / before 2000)")  # fmt: skip
    reject(pd.isna(articles), lambda k: f"'{table.article[k]}' is no article of the Criminal Code")
    address = table.address
    reject(np.isnan(table.lon) | np.isnan(table.lat),
           lambda k: f"address '{address[k]}' not found in the gazetteer"
           if address is not None and address[k] else "missing or unreadable location")  # fmt: skip
    reject(swapped_points(table.lon, table.lat), lambda k: "lon and lat look swapped")
    reject(table.ref == "", lambda k: "no source reference")
    valid = np.flatnonzero(pd.isna(why))
    refs = pd.Series(table.line[valid], index=table.ref[valid])
    repeated = refs.index.duplicated()
    first = refs[~repeated]
    for k, ref in zip(valid[repeated], refs.index[repeated], strict=True):
        why[k] = f"the same reference as row {first[ref]}"
    return why


Hasher = Callable[[Iterable[str]], list[bytes]]
# Told where an import is: a stage ("reading", "waiting" for another import of the community,
# "checking", "writing", "counting") and the share of the whole import done when it starts
# (a job's progress bar shows it).
Progress = Callable[[str, float], None]


def copy_incidents(
    session: Session,
    rows: pd.DataFrame,
    community_id: int,
    batch_id: int,
    hasher: Hasher | None = None,
    sent: Event | None = None,
) -> int:
    """Write incidents by one binary COPY; return how many.

    `rows` has columns category_id, article, occurred_on, lon, lat, and either ref_hash
    (32 bytes) or ref, which `hasher` (`ref_hashes` with the key) hashes run by run while
    the server parses the previous run.  `sent` is set once every row has been sent.
    The rows are written in Z-order (which keeps the BRIN point index selective) within
    runs of equal article length: each run is then one fixed-width numpy record array in
    PostgreSQL's binary COPY format, so no row passes through Python and the server parses
    no text (for a million rows that halved the server's COPY, bench/).  The references are
    checked once for the whole load (`bulk_load`).
    """
    articles = rows["article"].to_numpy(dtype=object)
    if any(not _SAFE_TEXT.match(a) for a in set(articles)):  # normalised codes, ASCII
        raise ValueError(f"unexpected article codes {sorted(set(articles))[:5]}")
    lon, lat = rows["lon"].to_numpy(dtype=float), rows["lat"].to_numpy(dtype=float)
    article_bytes = np.array([a.encode() for a in articles], dtype=bytes)
    lengths = np.char.str_len(article_bytes) if len(rows) else np.zeros(0, dtype=int)
    order = zorder(lon, lat)
    order = order[np.argsort(lengths[order], kind="stable")]
    if "ref_hash" in rows:
        hashed = rows["ref_hash"].tolist()
        if not all(isinstance(h, bytes) and len(h) == 32 for h in hashed):
            raise ValueError("reference hashes must be 32 bytes (ref_hashes)")
        refs, hasher = np.array(hashed, dtype="S32"), None
    elif hasher is None:
        raise ValueError("references without a hasher")
    else:
        refs = rows["ref"].to_numpy(dtype=object)
    days = np.asarray(rows["occurred_on"].to_numpy(), dtype="datetime64[D]").astype(np.int64)
    varying = {
        "category": rows["category_id"].to_numpy(dtype=np.int64),
        "day": days - incident_cells.PG_EPOCH_DAYS,  # a date's binary form: days since 2000
        "x": lon, "y": lat, "article": article_bytes,
    }  # fmt: skip
    fixed = {"community": community_id, "batch": batch_id}
    conn = session.connection().connection.dbapi_connection
    assert conn is not None

    def write() -> int:
        with (
            conn.cursor() as cur,
            # queued: the socket is written by psycopg's own thread, so the server parses
            # one run while this thread hashes and packs the next
            cur.copy(COPY_INCIDENT, writer=QueuedLibpqWriter(cur)) as copy,
        ):
            copy.write(BINARY_COPY_HEADER)
            for length in np.unique(lengths):
                of_length = order[lengths[order] == length]
                layout = _binary_record(int(length))
                constants = {**BINARY_CONSTANTS, **fixed, "article_len": length}
                for start in range(0, len(of_length), COPY_RUN):
                    run = of_length[start : start + COPY_RUN]
                    record = np.empty(len(run), dtype=layout)
                    for name, value in constants.items():
                        record[name] = value
                    for name, values in varying.items():
                        record[name] = values[run]
                    record["ref"] = refs[run] if hasher is None else hasher(refs[run])
                    copy.write(record.tobytes())
            copy.write(b"\xff\xff")  # the binary format's trailer
        if sent is not None:
            sent.set()
        return len(rows)

    def check() -> None:
        _check_references(session, community_id, batch_id, set(rows["category_id"].tolist()))

    bulk_load.load(session, len(rows), write, check)
    if len(rows) >= ANALYZE_AFTER:
        session.execute(text("ANALYZE incident"))
    return len(rows)


# PostgreSQL's binary COPY: a signature, flags and header extension length, then per row
# the field count and each field as its length and its bytes, big-endian; the point is
# EWKB (little-endian, with its SRID), which PostGIS's binary input reads.
BINARY_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_INCIDENT = ("COPY incident (community_id, category_id, occurred_on, point, ref_hash, "
                 "batch_id, article) FROM STDIN (FORMAT binary)")  # fmt: skip
BINARY_CONSTANTS = {"fields": 7, "community_len": 4, "category_len": 4, "day_len": 4,
                    "point_len": 25, "order": 1, "type": 0x20000001, "srid": 4326,
                    "ref_len": 32, "batch_len": 4}  # fmt: skip
COPY_RUN = 100_000  # rows per message: the server parses one while the next is hashed


def _binary_record(article_length: int) -> np.dtype:
    """One incident row of the binary COPY as a numpy record, for one article length."""
    return np.dtype([
        ("fields", ">i2"),
        ("community_len", ">i4"), ("community", ">i4"),
        ("category_len", ">i4"), ("category", ">i4"),
        ("day_len", ">i4"), ("day", ">i4"),
        ("point_len", ">i4"), ("order", "u1"), ("type", "<u4"), ("srid", "<u4"),
        ("x", "<f8"), ("y", "<f8"),
        ("ref_len", ">i4"), ("ref", "S32"),
        ("batch_len", ">i4"), ("batch", ">i4"),
        ("article_len", ">i4"), ("article", f"S{article_length}"),
    ])  # fmt: skip


def _check_references(
    session: Session, community_id: int, batch_id: int, categories: set[int]
) -> None:
    """What the statement trigger checks, for a load that bypasses it (`bulk_load`).

    Every row carries this batch, its community and one of these categories, so checking
    the few distinct values checks every row.
    """
    ok = session.execute(
        text("SELECT EXISTS (SELECT 1 FROM import_batch WHERE id = :b AND community_id = :c) "
             "AND (SELECT count(*) FROM category WHERE id = ANY(:ids)) = :n"),
        {"b": batch_id, "c": community_id, "ids": sorted(categories), "n": len(categories)},
    ).scalar_one()  # fmt: skip
    if not ok:
        raise ValueError(f"incidents reference no batch {batch_id} of community "
                         f"{community_id} or unknown categories {sorted(categories)}")  # fmt: skip


def _existing_hashes(session: Session, community_id: int) -> set[bytes]:
    """The reference hashes the community already has (for "already imported")."""
    rows = session.execute(text("SELECT ref_hash FROM incident WHERE community_id = :c"),
                           {"c": community_id})  # fmt: skip
    return set(rows.scalars())


def _inside(session: Session, community_id: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which points lie in the community (its boundary included); none without a boundary."""
    wkb = session.execute(text("SELECT ST_AsBinary(geom) FROM community WHERE id = :c"),
                          {"c": community_id}).scalar()  # fmt: skip
    if wkb is None:
        return np.zeros(len(lon), dtype=bool)
    area = shapely.from_wkb(bytes(wkb))
    shapely.prepare(area)
    return shapely.intersects_xy(area, lon, lat)


def _load(
    session: Session,
    rows: pd.DataFrame,
    community_id: int,
    batch_id: int,
    hasher: Hasher,
    policy: CellPolicy,
    progress: Progress | None = None,
) -> int:
    """Write the incidents and recount the community's cells; return how many were written.

    The COPY runs in a thread: it hashes the references as it sends them, so the server
    parses while Python hashes.  Once the rows are sent, the server builds the indexes and
    this thread counts the cells, from the incidents already there and the new ones in
    hand.  The connection is used by one thread at a time (the COPY's); the counting needs
    none, and on two cores the three overlap.
    """
    before = incident_cells.incident_points(session, community_id)
    srid = incident_cells.metric_srid(session, community_id)
    new = incident_cells.BinaryPoints(
        lon=rows["lon"].to_numpy(dtype=float), lat=rows["lat"].to_numpy(dtype=float),
        category=rows["category_id"].to_numpy(dtype=np.int64),
        day=np.asarray(rows["occurred_on"].to_numpy(), dtype="datetime64[D]"),
    )  # fmt: skip
    sent = Event()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="incident-copy") as pool:
        written = pool.submit(copy_incidents, session, rows, community_id, batch_id, hasher,
                              sent)  # fmt: skip
        try:
            while not sent.wait(0.05) and not written.done():
                pass  # the hashing needs the interpreter more than the counting does
            if progress is not None:
                progress("counting", 0.8)
            table = incident_cells.cell_rows(before + new, srid, policy.k, policy.public_sizes)
        finally:
            count = written.result()  # the COPY's own error, if any, is the one raised
    incident_cells.write_cells(session, community_id, table)
    return count


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
    progress: Progress | None = None,
    name: str | None = None,
) -> ImportReport:
    """Import one file of incidents; see the module docstring for what is kept and refused.

    The file is read through a profile (`data/incident_profiles/`): CSV, XLSX, GeoJSON
    or GeoPackage; located by lon/lat, UCS-2000 coordinates, an address (through the
    community's gazetteer) or the file's point geometry.  Every check runs on whole
    columns (a million-row export takes seconds, see bench/); imports into one community
    take turns (an advisory lock), so two files cannot both add the same reference.

    `name` is the file's name as the person knows it (an upload is stored under a name of
    ours), used in the report, the batch and every message; `progress` hears each stage.
    """
    path = Path(path)
    name = name or path.name
    report = ImportReport(file_name=name)
    tell = progress or (lambda stage, done: None)
    tell("reading", 0.05)
    try:
        table = read_table(path, load_profile(profile))
    except FileRejected as exc:
        raise IncidentFileError(str(exc).replace(path.name, name), report) from exc
    if not len(table):
        raise IncidentFileError(f"{name}: no rows", report)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    known = known_articles(data_dir)
    lock = {"key": IMPORT_LOCK, "c": community_id}
    try:
        if not session.execute(text("SELECT pg_try_advisory_xact_lock(:key, :c)"), lock).scalar():
            tell("waiting", 0.3)  # another import of this community holds the turn
            session.execute(text("SELECT pg_advisory_xact_lock(:key, :c)"), lock)
        tell("checking", 0.3)
        _locate_addresses(session, table, community_id)
        occurred = _parsed_dates(table.date)
        articles = _parsed(table.article, lambda a: normalise_article(a, known))
        why = _reasons(table, occurred, articles)
        valid = np.flatnonzero(pd.isna(why))
        outside = ~_inside(session, community_id, table.lon[valid], table.lat[valid])
        why[valid[outside]] = "outside the community"
        existing = _existing_hashes(session, community_id)
        hashes = None  # unless needed now, the COPY hashes the references as it sends them
        if existing:
            hashes = np.array(ref_hashes(secret, community_id, table.ref[valid]), dtype=object)
            again = np.fromiter((h in existing for h in hashes), dtype=bool, count=len(hashes))
            why[valid[again & ~outside]] = "already imported"
        keep = pd.isna(why[valid])
        report.rejected = [(int(table.line[k]), str(why[k])) for k in np.flatnonzero(~pd.isna(why))]
        if strict and report.rejected:
            raise IncidentFileError(
                f"{name}: {len(report.rejected)} rows cannot be imported; with --strict "
                "nothing was imported", report)  # fmt: skip
        batch = ImportBatch(community_id=community_id, file_name=name,
                            sha256=digest, profile=profile,
                            accepted=0, rejected=len(report.rejected),
                            errors=[list(r) for r in report.rejected[:1000]],
                            actor=actor)  # fmt: skip
        session.add(batch)
        session.flush()
        chosen = valid[keep]
        article_of = articles[chosen]
        groups = groups_of_articles(session, {a: known[a] for a in set(article_of)})
        rows = pd.DataFrame({
            "category_id": [groups[a] for a in article_of], "article": article_of,
            "occurred_on": occurred[chosen], "lon": table.lon[chosen],
            "lat": table.lat[chosen],
        })  # fmt: skip
        if hashes is None:
            rows["ref"] = table.ref[chosen]
        else:
            rows["ref_hash"] = hashes[keep]
        tell("writing", 0.5)
        report.accepted = batch.accepted = _load(
            session, rows, community_id, batch.id, partial(ref_hashes, secret, community_id),
            cells or CellPolicy(), progress)  # fmt: skip
        report.batch_id = batch.id
        audit.record(session, "incidents.import", actor, community_id=community_id,
                     object_type="import_batch", object_id=batch.id,
                     details={"file": name, "sha256": batch.sha256,
                              "accepted": report.accepted,
                              "rejected": len(report.rejected)})  # fmt: skip
        session.commit()
    except Exception:
        session.rollback()
        raise
    return report


def recent_batches(session: Session, community_id: int, limit: int = 20) -> list[ImportBatch]:
    """The community's latest import batches, newest first (the staff import page)."""
    from sqlalchemy import select

    return list(session.scalars(select(ImportBatch).where(ImportBatch.community_id == community_id)
                                .order_by(ImportBatch.created_at.desc()).limit(limit)))  # fmt: skip
