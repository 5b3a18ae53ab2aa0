"""Writing a layer out: GeoJSON, CSV and GeoPackage, streamed, hashed and audited.

Why text in, bytes out: the features arrive from `privacy.py` already whitelisted, as
JSON text (properties) and GeoJSON text (geometry, WGS 84, 6 decimals), so the GeoJSON
writer only concatenates, in chunks, and memory stays flat for any number of features
(bench/RESULTS.md: a million concerns against ogr2ogr).  CSV carries the geometry as a
`WKT` column (QGIS's "Delimited text" and GDAL's CSV driver read it without options);
GeoPackage is written batch by batch to a temporary file that is then streamed and
deleted.  Every byte that leaves is counted into a sha256 that ends up in the audit trail
(privacy rule 5) when the last chunk has gone.  Flask-free.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.layers.spec import LayerSpec
from geoapp.privacy import FeatureText
from geoapp.services import audit

if TYPE_CHECKING:
    import geopandas as gpd

FORMATS = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
}
BATCH = 5000
OSM_LICENCE = "boundaries © OpenStreetMap contributors, ODbL 1.0"
DATA_LICENCE = "CC BY 4.0"


@dataclass
class LayerData:
    """One layer ready to leave: whitelisted features (lazy) and the export's metadata."""

    spec: LayerSpec
    features: Iterable[FeatureText]
    metadata: dict[str, Any]


@dataclass
class Tally:
    """What has been sent so far: bytes, features and the running sha256."""

    features: int = 0
    size: int = 0
    digest: Any = field(default_factory=hashlib.sha256)

    @classmethod
    def of(cls, body: bytes, features: int) -> Tally:
        """The tally of a body sent in one piece."""
        tally = cls(features=features)
        tally.add(body)
        return tally

    def add(self, chunk: bytes) -> bytes:
        """Count one chunk on its way out and return it unchanged."""
        self.size += len(chunk)
        self.digest.update(chunk)
        return chunk


def _batches(features: Iterable[FeatureText], size: int = BATCH) -> Iterator[list[FeatureText]]:
    it = iter(features)
    while batch := list(islice(it, size)):
        yield batch


def geojson_chunks(data: LayerData, tally: Tally) -> Iterator[bytes]:
    """An RFC 7946 FeatureCollection, metadata first, features in chunks of `BATCH`.

    `numberReturned` closes the document, once the count is known.
    """
    meta = json.dumps(data.metadata, ensure_ascii=False, default=str)
    yield tally.add(f'{{"type":"FeatureCollection","metadata":{meta},"features":['.encode())
    first = True
    for batch in _batches(data.features):
        parts = [
            '{"type":"Feature","id":' + json.dumps(fid) + ',"properties":' + props
            + ',"geometry":' + (geometry or "null") + "}"
            for fid, props, geometry in batch
        ]  # fmt: skip
        tally.features += len(parts)
        yield tally.add(("" if first else ",").encode() + ",\n".join(parts).encode())
        first = False
    yield tally.add(f'],"numberReturned":{tally.features}}}\n'.encode())


def _wkt(geometries: list[str | None]) -> list[str]:
    """GeoJSON geometry texts as WKT (6 decimals), one vectorised call per batch."""
    parsed = shapely.from_geojson([g or '{"type":"GeometryCollection","geometries":[]}'
                                   for g in geometries])  # fmt: skip
    return [w if g else "" for w, g in zip(shapely.to_wkt(parsed, rounding_precision=6),
                                           geometries, strict=True)]  # fmt: skip


def csv_chunks(data: LayerData, tally: Tally) -> Iterator[bytes]:
    """CSV with a header: `id`, the whitelisted properties, and the geometry as `WKT`."""
    names = list(data.spec.properties)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", *names, "WKT"])
    yield tally.add(out.getvalue().encode())
    for batch in _batches(data.features):
        out.seek(0)
        out.truncate()
        wkts = _wkt([g for _f, _p, g in batch])
        for (fid, props, _g), wkt in zip(batch, wkts, strict=True):
            values = json.loads(props)
            writer.writerow([fid, *(_cell(values.get(n)) for n in names), wkt])
        tally.features += len(batch)
        yield tally.add(out.getvalue().encode())


def _cell(value: Any) -> Any:
    """A CSV cell: nested values as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def gpkg_chunks(data: LayerData, tally: Tally, chunk: int = 1 << 16) -> Iterator[bytes]:
    """A GeoPackage (EPSG:4326) written batch by batch to a temporary file, then streamed.

    The metadata goes into the file's `gpkg_metadata` (GDAL dataset metadata).
    """
    # pyogrio (GDAL, and geopandas with it) is imported here, not at module level: the web
    # app imports this module at start-up, and they would add ~50 MB to its memory at rest.
    import pyogrio

    names = list(data.spec.properties)
    handle, path = tempfile.mkstemp(suffix=".gpkg")
    os.close(handle)
    os.unlink(path)  # GDAL creates the file itself
    try:
        meta = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                for k, v in data.metadata.items()}  # fmt: skip
        written = False
        for batch in _batches(data.features):
            frame = _frame(names, batch)
            pyogrio.write_dataframe(frame, path, layer=data.spec.id, driver="GPKG",
                                    append=written, metadata=None if written else meta,
                                    promote_to_multi=False)  # fmt: skip
            tally.features += len(batch)
            written = True
        if not written:
            pyogrio.write_dataframe(_frame(names, []), path, layer=data.spec.id, driver="GPKG",
                                    metadata=meta, geometry_type="Unknown")  # fmt: skip
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                yield tally.add(block)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def _frame(names: list[str], batch: list[FeatureText]) -> gpd.GeoDataFrame:
    """One batch as a GeoDataFrame; nested values as JSON text, empty columns as text."""
    # Imported here for the app's memory at rest, as pyogrio in `gpkg_chunks`.
    import geopandas as gpd
    import pandas as pd

    rows = [json.loads(p) for _f, p, _g in batch]
    columns: dict[str, Any] = {"fid_text": pd.Series([f for f, _p, _g in batch], dtype="string")}
    for name in names:
        values = [_cell(r.get(name)) if isinstance(r.get(name), dict | list) else r.get(name)
                  for r in rows]  # fmt: skip
        series = pd.Series(values, dtype="object")
        series = series.astype("string") if series.isna().all() else series.infer_objects()
        columns[name] = series
    geometry = shapely.from_geojson([g for _f, _p, g in batch if g] or [], on_invalid="raise")
    if len(geometry) != len(batch):  # a feature without geometry keeps its place
        geometry = [shapely.from_geojson(g) if g else None for _f, _p, g in batch]
    return gpd.GeoDataFrame(columns, geometry=list(geometry), crs="EPSG:4326")


WRITERS: dict[str, Callable[[LayerData, Tally], Iterator[bytes]]] = {
    "geojson": geojson_chunks,
    "csv": csv_chunks,
    "gpkg": gpkg_chunks,
}


@dataclass(frozen=True)
class Recipient:
    """Who receives an export, as the audit trail names them."""

    actor: str
    actor_id: int | None
    audience: str
    client_addr: str | None


def audited(
    data: LayerData,
    fmt: str,
    recipient: Recipient,
    community_id: int,
    filters: dict[str, Any],
    open_session: Callable[[], Session],
) -> Iterator[bytes]:
    """The export's bytes; when the stream ends, one `layer.export` audit event.

    The event carries the sha256 and size of exactly what was sent, the feature count and
    whether the stream completed (a client that hangs up is recorded as incomplete).  It
    is written in its own session: the request's may already be gone when a long stream
    ends.
    """
    tally = Tally()
    complete = False
    try:
        yield from WRITERS[fmt](data, tally)
        complete = True
    finally:
        with open_session() as sess:
            record(sess, data.spec.id, fmt, recipient, community_id, filters, tally, complete)
            sess.commit()


_PUBLIC_TALLY_SQL = text(
    "INSERT INTO public_export_tally (day, community_id, layer, fmt, features) "
    "VALUES ((now() AT TIME ZONE 'UTC')::date, :community, :layer, :fmt, :features) "
    "ON CONFLICT (day, community_id, layer, fmt) DO UPDATE SET "
    "count = public_export_tally.count + 1, "
    "features = public_export_tally.features + EXCLUDED.features"
)


def record(
    session: Session, layer: str, fmt: str, recipient: Recipient, community_id: int,
    filters: dict[str, Any], tally: Tally, complete: bool,
) -> None:  # fmt: skip
    """One `layer.export` audit event: who, which layer and filters, and the body's sha256.

    An anonymous caller is not audited one by one: nothing is stored per public visitor
    (privacy rule 6), so the export only raises a counter per day, community, layer and
    format, with no address and no time finer than the day.
    """
    if recipient.audience == "public":
        session.execute(_PUBLIC_TALLY_SQL, {"community": community_id, "layer": layer,
                                            "fmt": fmt, "features": tally.features})  # fmt: skip
        return
    audit.record(session, "layer.export", recipient.actor, actor_id=recipient.actor_id,
                 community_id=community_id, object_type="layer", object_id=layer,
                 client_addr=recipient.client_addr,
                 details={"format": fmt, "audience": recipient.audience, "filters": filters,
                          "features": tally.features, "bytes": tally.size,
                          "sha256": tally.digest.hexdigest(), "complete": complete})  # fmt: skip


def filter_bbox(
    features: Iterable[FeatureText], bbox: tuple[float, float, float, float] | None
) -> list[FeatureText]:
    """Features of an in-memory layer whose geometry meets `bbox` (all of them without one)."""
    rows = list(features)
    if bbox is None or not rows:
        return rows
    shapes = shapely.from_geojson([g or '{"type":"GeometryCollection","geometries":[]}'
                                   for _f, _p, g in rows])  # fmt: skip
    hits = shapely.intersects(shapes, shapely.box(*bbox))
    return [row for row, hit in zip(rows, hits.tolist(), strict=True) if hit]
