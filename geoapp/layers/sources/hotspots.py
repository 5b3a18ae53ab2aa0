"""Hot spots (Gi*), emerging hot spots and concern gaps: derived layers, guarded by audience.

Analysts get the analysis of any period (`period` or `from`/`to`), groups and cell size,
from exact counts.  Everyone below them (viewers, partners, the public where a layer is
theirs) gets `hotspots` only, computed from a published release with its withheld cells
counted as 0 (`services.hotspots.from_published`): a class that the caller could have
computed from the public table, never one computed from a single offence of one day.
Emerging trends (monthly exact counts) and concern gaps (true concern points) stay with
analysts whatever a layer file says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

import numpy as np
from flask_babel import gettext as _

from geoapp import privacy
from geoapp.layers.errors import bad, not_found
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source, base_metadata
from geoapp.layers.sources.incident_cells import cell_id, release_for
from geoapp.layers.spec import LayerSpec
from geoapp.services import hotspots, incident_cells, releases
from geoapp.services.hotspots import HotspotQuery, Hotspots
from geoapp.services.layer_export import LayerData, filter_bbox

LICENCE = "CC BY 4.0 (classes of aggregated counts)"
SIZES = (250, 500, 1000)
DEFAULT_SIZE = 500
MAX_DAYS = 366 * 5


@dataclass(frozen=True)
class Analysis:
    """An analyst's hot spot query and the group codes as the caller wrote them."""

    query: HotspotQuery
    groups: tuple[str, ...]


def analysis_query(ctx: LayerContext, q: LayerQuery) -> Analysis:
    """From `period` or `from`/`to`, groups and size; defaults: the last twelve months, 500 m."""
    if q.period is not None:
        start, end = q.period.start, q.period.stop - timedelta(days=1)
    else:
        end = q.end or hotspots.latest_day(ctx.session, ctx.community.id) or date.today()
        start = q.start or date(end.year - 1 + (end.month == 12), end.month % 12 + 1, 1)
    if start > end:
        raise bad(_("'from' must not be after 'to'"))
    if (end - start).days > MAX_DAYS:
        raise bad(_("the period may span at most %(n)s days", n=MAX_DAYS))
    known = incident_cells.group_ids(ctx.session)
    unknown = [c for c in q.groups if c not in known]
    if unknown:
        raise bad(_("no incident group %(codes)s",
                    codes=", ".join(repr(c) for c in unknown)))  # fmt: skip
    size = q.size or DEFAULT_SIZE
    if size not in SIZES:
        raise bad(_("size must be one of %(sizes)s (metres)", sizes=", ".join(map(str, SIZES))))
    query = HotspotQuery(ctx.community.id, start, end,
                         tuple(sorted(known[c] for c in q.groups)), size)  # fmt: skip
    return Analysis(query, q.groups)


def analyse(ctx: LayerContext, q: LayerQuery) -> tuple[Analysis, Hotspots | None]:
    """An analyst's query and its (cached) result: the staff analysis and session pages."""
    if not ctx.exact:
        raise not_found("the hot spot analysis is for analysts")
    params = analysis_query(ctx, q)
    return params, hotspots.analyse(ctx.session, params.query, ctx.cache)


class _Derived(Source):
    """The three layers share their parameters and their cells; `keep` picks the rows."""

    accepts: ClassVar[frozenset[str]] = frozenset({"period", "from", "to", "group", "size",
                                                   "bbox"})  # fmt: skip
    analysts_only: ClassVar[bool] = True

    def keep(self, result: Hotspots) -> np.ndarray:
        """Which cells this layer shows."""
        raise NotImplementedError

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """Analysts: their analysis; below them, the published release's classes or nothing."""
        if ctx.exact:
            params, result = analyse(ctx, q)
            query = params.query
            meta: dict[str, Any] = dict(
                period={"from": query.start.isoformat(), "to": query.end.isoformat()},
                group=",".join(params.groups) or "all", size=query.size_m,
                input="exact counts (analysts)",
            )  # fmt: skip
        elif self.analysts_only:
            raise not_found(f"no layer '{spec.id}' in '{ctx.community.slug}'")
        else:
            release = release_for(ctx, q)
            result = None
            if release is not None:
                result = hotspots.from_published(ctx.session, ctx.community.id, release.size_m,
                                                 releases.counts(ctx.session, release),
                                                 release.year)  # fmt: skip
            meta = dict(period=release.label if release else None, group="all",
                        size=release.size_m if release else None,
                        input="the published release of the year, withheld cells as 0")  # fmt: skip
        rows = _rows(self.keep(result), result, ctx.audience) if result is not None else []
        size = meta.pop("size")
        metadata = {
            **base_metadata(ctx, spec, LICENCE), **meta,
            "aggregation_unit": f"hexagon, {size} m edge, EPSG:{ctx.community.metric_srid}"
            if size else None,
            "k": None if ctx.exact else ctx.k, "cell_size_m": size,
            "classes_only": ctx.audience in ("public", "partner"),
            "statistic": "Getis-Ord Gi* (normal approximation), FDR-corrected classes",
            "distance_band_m": None if result is None or ctx.audience in ("public", "partner")
            else round(result.band_m),
        }  # fmt: skip
        features = privacy.feature_texts(spec, rows, cell_id)
        return LayerData(spec, filter_bbox(features, q.bbox), metadata)


class HotspotsLayer(_Derived):
    """`hotspots`: Gi* classes per cell (z and p for staff, counts for analysts)."""

    analysts_only = False

    def keep(self, result: Hotspots) -> np.ndarray:
        """Every cell of the study area."""
        return np.ones(len(result.i), dtype=bool)


class EmergingHotspots(_Derived):
    """`emerging_hotspots`: the trend label of cells that have one (analysts)."""

    def keep(self, result: Hotspots) -> np.ndarray:
        """Cells with a trend."""
        return result.trend != ""


class ConcernGaps(_Derived):
    """`concern_gaps`: where concerns and recorded offences disagree (analysts)."""

    def keep(self, result: Hotspots) -> np.ndarray:
        """Cells with a gap."""
        return result.gap != ""


def _rows(keep: np.ndarray, result: Hotspots, audience: str) -> list[tuple[dict[str, Any], str]]:
    """Features per cell; the public and partners get classes only, counts only analysts."""
    staff = audience in ("staff", "analyst")
    exact = audience == "analyst"
    rings = result.rings_wgs84()
    out = []
    for k in np.flatnonzero(keep).tolist():
        props = {
            "gi_bin": int(result.gi_bin[k]),
            "gi_z": round(float(result.gi_z[k]), 4) if staff else None,
            "gi_p": round(float(result.gi_p[k]), 6) if staff else None,
            "count": int(result.count[k]) if exact else None,
            "incidents": int(result.count[k]) if exact else None,
            "trend": (str(result.trend[k]) or None) if exact else None,
            "gap": (str(result.gap[k]) or None) if exact else None,
            "concerns": int(result.concerns[k]) if exact else None,
            "expected_concerns": round(float(result.expected_concerns[k]), 2) if exact else None,
            "cell_size_m": int(result.size_m),
            "i": int(result.i[k]), "j": int(result.j[k]),
        }  # fmt: skip
        ring = [[round(x, 6), round(y, 6)] for x, y in rings[k].tolist()]
        out.append((props, json.dumps({"type": "Polygon", "coordinates": [ring]})))
    return out
