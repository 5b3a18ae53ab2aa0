"""Load the pilot communities named in data/boundaries/communities.toml.

The manifest says which file and feature is which community; the files come
from a local folder or from the pinned public URL, and each is checked against
its sha256 before use.  The whole manifest is one transaction.
"""

from __future__ import annotations

import hashlib
import shutil
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy.orm import Session

from geoapp.config import PROJECT_ROOT
from geoapp.geo.reader import BoundaryFileError, read_boundaries
from geoapp.geo.repair import repair
from geoapp.models.community import CommunityLevel
from geoapp.services.boundaries import (
    LoadReport,
    StagedCommunity,
    refresh_statistics,
    write_in_one_transaction,
)

MANIFEST = PROJECT_ROOT / "data" / "boundaries" / "communities.toml"


class PilotError(RuntimeError):
    """The pilot manifest cannot be loaded; nothing was written."""


@dataclass
class PilotCommunity:
    """One [[community]] entry of the manifest."""

    slug: str
    katotth: str
    name_uk: str
    name_en: str
    level: CommunityLevel
    office_uk: str | None
    office_en: str | None
    file: str | None
    union: bool
    metric_srid: int | None


def read_manifest(path: Path = MANIFEST) -> tuple[dict[str, Any], list[PilotCommunity]]:
    """Parse the manifest: (its [source] and [files] tables, the communities)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    communities = [
        PilotCommunity(
            slug=c["slug"], katotth=c["katotth"], name_uk=c["name_uk"], name_en=c["name_en"],
            level=CommunityLevel(c["level"]), office_uk=c.get("office_uk"),
            office_en=c.get("office_en"), file=c.get("file"), union=bool(c.get("union")),
            metric_srid=c.get("metric_srid"),
        )
        for c in data["community"]
    ]  # fmt: skip
    return data, communities


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_files(manifest: dict[str, Any], source: str, cache_dir: Path) -> dict[str, Path]:
    """Local paths of the manifest's files, downloaded first when `source` is a URL.

    Every file must match its pinned sha256: a changed upstream file would
    otherwise silently redraw a community.
    """
    pinned: dict[str, str] = manifest["files"]
    paths: dict[str, Path] = {}
    is_url = source.startswith(("http://", "https://"))
    for name, sha in pinned.items():
        if is_url:
            target = cache_dir / name
            if not (target.exists() and _sha256(target) == sha):
                cache_dir.mkdir(parents=True, exist_ok=True)
                url = source.rstrip("/") + "/" + name
                try:
                    with urllib.request.urlopen(url, timeout=60) as resp, target.open("wb") as out:
                        shutil.copyfileobj(resp, out)
                except (urllib.error.URLError, OSError) as exc:
                    raise PilotError(f"cannot download {url}: {exc}") from exc
            path = target
        else:
            path = Path(source) / name
            if not path.exists():
                raise PilotError(f"{path}: missing (is --source the ukraine-osm folder?)")
        actual = _sha256(path)
        if actual != sha:
            raise PilotError(f"{path}: sha256 {actual} differs from the pinned {sha}")
        paths[name] = path
    return paths


def _boundary(entry: PilotCommunity, path: Path) -> tuple[shapely.MultiPolygon, list[str]]:
    try:
        parsed = read_boundaries(path)
    except BoundaryFileError as exc:
        raise PilotError(str(exc)) from exc
    if entry.union:
        geom = shapely.union_all([f.geometry for f in parsed.features])
        fixed = repair(geom)
        if fixed.geometry is None:
            raise PilotError(f"{entry.slug}: the union of {path.name} has no area")
        return fixed.geometry, sorted(parsed.repairs)
    for feat in parsed.features:
        if feat.katotth == entry.katotth:
            return feat.geometry, feat.repairs
    raise PilotError(f"{entry.slug}: {entry.katotth} is not in {path.name}")


def load_pilot(session: Session, source: str, cache_dir: Path) -> LoadReport:
    """Upsert every pilot community in one transaction; report like a file load."""
    manifest, entries = read_manifest()
    paths = fetch_files(manifest, source, cache_dir)
    report = LoadReport(path=str(MANIFEST))
    rows: list[StagedCommunity] = []
    for entry in entries:
        geom, repairs = (None, [])
        if entry.file:
            geom, repairs = _boundary(entry, paths[entry.file])
        else:
            report.warnings.append(
                f"{entry.slug}: no boundary in the open data; loaded without one"
            )
        report.repairs.update(repairs)
        rows.append(
            StagedCommunity(
                katotth=entry.katotth, slug=entry.slug, name_uk=entry.name_uk,
                name_en=entry.name_en, level=entry.level, geometry=geom,
                source=entry.file, office=entry.office_uk, office_en=entry.office_en,
                pilot=True, metric_srid=entry.metric_srid,
            )
        )  # fmt: skip
    write_in_one_transaction(session, rows, report)
    refresh_statistics(session)
    return report
