"""Recorded offences counted per hexagonal cell: exact for analysts, releases for everyone else.

Analysts of the community get any period, group and cell size, counted exactly.  Everyone
else (viewers, partners, the public) reads a *release* (`geoapp.services.releases`): a
closed year, all groups, at the one size it was published at, frozen when staff published
it, with its withheld counts null.  So no two answers to the public ever differ by a late
import, and no second cell size can be laid over the first (PRIVACY.md, "Releases").
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from geoapp import privacy, sql
from geoapp.config import CELL_SIZES
from geoapp.layers.errors import bad, not_found
from geoapp.layers.query import LayerQuery
from geoapp.layers.source import LayerContext, Source, base_metadata
from geoapp.layers.spec import LayerSpec
from geoapp.services import incident_cells, releases, tiles
from geoapp.services.incident_cells import CellQuery, Period
from geoapp.services.layer_export import LayerData, filter_bbox

LICENCE = "CC BY 4.0 (aggregated counts); boundaries © OpenStreetMap contributors, ODbL 1.0"
ANALYST_DEFAULT_SIZE = 500


def cell_id(props: dict[str, Any]) -> str | None:
    """A cell's feature id: its grid indices."""
    return f"{props['i']}_{props['j']}" if props.get("i") is not None else None


def group_id(ctx: LayerContext, code: str | None) -> int | None:
    """The incident group's id, or a 400 naming the unknown code."""
    if code is None:
        return None
    found = incident_cells.group_ids(ctx.session).get(code)
    if found is None:
        raise bad(_("no incident group '%(group)s'", group=code))
    return found


def default_period(ctx: LayerContext) -> Period | None:
    """The latest year with incidents: what an analyst's map shows before any filter."""
    years = [p for p in incident_cells.available_periods(ctx.session, ctx.community.id)
             if p.kind == "year"]  # fmt: skip
    return years[0] if years else None


def release_for(ctx: LayerContext, q: LayerQuery) -> releases.Release | None:
    """The release a non-analyst query reads, or a 400 saying what may be asked instead.

    Whole published years, all groups, the release's own size: anything finer would be
    computed from counts that were never published.
    """
    for code in q.groups:  # an unknown group is named as such, before any policy
        group_id(ctx, code)
    if q.groups or (q.period is not None and q.period.kind != "year") or q.start or q.end:
        raise bad(_("outside the staff, cell counts are published per whole year for "
                    "all groups together (choose a year, no group)"), "not_published")  # fmt: skip
    public_sizes = tuple(ctx.config["GEOAPP_PUBLIC_CELL_SIZES"])
    if q.size is not None and q.size not in public_sizes:
        raise bad(_("size must be one of %(sizes)s (metres)",
                    sizes=", ".join(map(str, public_sizes))), "size")  # fmt: skip
    published = releases.all_of(ctx.session, ctx.community.id)
    if q.period is None:
        chosen = published[0] if published else None
    else:
        chosen = next((r for r in published if r.year == q.period.start.year), None)
        if chosen is None:
            years = ", ".join(r.label for r in published) or _("none yet")
            raise bad(_("%(period)s is not published; published years: %(years)s",
                        period=q.period.label, years=years), "not_published",
                      published=[r.year for r in published])  # fmt: skip
    if chosen is not None and q.size is not None and q.size != chosen.size_m:
        raise bad(_("%(year)s is published at %(size)s m cells only",
                    year=chosen.label, size=chosen.size_m), "size", size=chosen.size_m)  # fmt: skip
    return chosen


class IncidentCells(Source):
    """`incident_cells`: counts per cell, with `count` null and `suppressed` where withheld."""

    accepts: ClassVar[frozenset[str]] = frozenset({"period", "group", "size", "bbox"})

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """Exact cells for analysts, the published release for everyone else."""
        rows, meta = self._exact(ctx, q) if ctx.exact else self._released(ctx, q)
        metadata = {**base_metadata(ctx, spec, LICENCE), **meta}
        features = privacy.feature_texts(spec, rows, cell_id)
        return LayerData(spec, filter_bbox(features, q.bbox), metadata)

    def _exact(self, ctx: LayerContext, q: LayerQuery) -> tuple[list, dict[str, Any]]:
        if q.start or q.end:
            raise bad(_("give a 'period' (2025, 2025-Q2 or 2025-03) for cell counts"))
        period = q.period or default_period(ctx)
        category = group_id(ctx, q.group)
        size = q.size or ANALYST_DEFAULT_SIZE
        rows: list = []
        total: dict[str, Any] = {"count": 0, "suppressed": False}
        if period is not None:
            query = CellQuery(ctx.community.id, size, period, category)
            rows, total = incident_cells.cells(ctx.session, query, exact=True)
        counts = [p["count"] for p, _g in rows if p["count"] is not None]
        return rows, dict(
            period=period.label if period else None, group=q.group or "all",
            aggregation_unit=f"hexagon, {size} m edge, EPSG:{ctx.community.metric_srid}",
            cell_size_m=size, k=None, exact_counts=True, total=total, suppressed_cells=0,
            breaks=incident_cells.class_breaks(counts, 1), sizes=list(CELL_SIZES),
        )  # fmt: skip

    def _released(self, ctx: LayerContext, q: LayerQuery) -> tuple[list, dict[str, Any]]:
        release = release_for(ctx, q)
        rows = releases.cells(ctx.session, release) if release else []
        counts = [p["count"] for p, _g in rows if p["count"] is not None]
        total = {"count": release.total if release else 0,
                 "suppressed": bool(release and release.total is None)}  # fmt: skip
        size = release.size_m if release else None
        return rows, dict(
            period=release.label if release else None, group="all",
            aggregation_unit=(f"hexagon, {size} m edge, EPSG:{ctx.community.metric_srid}"
                              if size else None),
            cell_size_m=size, k=ctx.k, exact_counts=False, total=total,
            suppressed_cells=sum(1 for p, _g in rows if p["suppressed"]),
            breaks=incident_cells.class_breaks(counts, ctx.k),
            released_at=release.released_at.isoformat(timespec="seconds") if release else None,
            release_policy="published once after the year closed, never revised; one cell "
            "size per year",
        )  # fmt: skip


class Incidents(Source):
    """`incidents`: individual offences, for analysts of the community only."""

    accepts: ClassVar[frozenset[str]] = frozenset({"period", "group", "bbox"})
    tiles = tiles.INCIDENTS

    def data(self, ctx: LayerContext, spec: LayerSpec, q: LayerQuery) -> LayerData:
        """The analyst's points (anyone else is told there is no such layer)."""
        if not ctx.exact:
            raise not_found(f"no layer '{spec.id}' in '{ctx.community.slug}'")
        category = group_id(ctx, q.group)
        rows = incident_points(ctx.session, ctx.community.id, q.period, category)
        meta = base_metadata(ctx, spec, "internal: not for publication")
        meta.update(
            period=q.period.label if q.period else None, group=q.group or "all",
            aggregation_unit="none (individual offences, analysts only)", k=None,
            truncated_at=privacy.MAX_POINTS if len(rows) >= privacy.MAX_POINTS else None,
        )  # fmt: skip
        return LayerData(spec, filter_bbox(privacy.feature_texts(spec, rows, lambda p: None),
                                           q.bbox), meta)  # fmt: skip


def incident_points(
    session: Session, community_id: int, period: Period | None, category_id: int | None
) -> list[tuple[dict[str, Any], str]]:  # fmt: skip
    """Individual incidents (the caller has checked the audience is an analyst's)."""
    start = stop = None
    if period is not None:
        start, stop = period.start, period.stop
    rows = session.execute(sql.load("incident_points"), {
        "community_id": community_id, "start": start, "stop": stop,
        "category_id": category_id, "limit": privacy.MAX_POINTS})  # fmt: skip
    return [
        ({k: v for k, v in r.items() if k != "geometry"}, r["geometry"]) for r in rows.mappings()
    ]
