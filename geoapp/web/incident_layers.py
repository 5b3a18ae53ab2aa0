"""The incident layers over HTTP: parse the filters, ask privacy.py, shape the answer.

`incident_cells` answers everyone (suppressed unless the caller is an analyst of the
community); `incidents` answers only analysts, and anyone else is told there is no such
layer, as for any layer they may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request, url_for
from flask_babel import gettext as _

from geoapp import db, privacy
from geoapp.layers import LayerSpec
from geoapp.models.community import Community
from geoapp.services import incident_cells
from geoapp.services.incident_cells import CellQuery, Period, PeriodError, parse_period

LICENCE = "CC BY 4.0 (aggregated counts); boundaries © OpenStreetMap contributors, ODbL 1.0"


def _filters() -> tuple[Period | None, int | None, str | None]:
    """Period and group from the query string; (None, None, message) when one is wrong."""
    period = None
    if request.args.get("period"):
        try:
            period = parse_period(request.args["period"])
        except PeriodError as exc:  # the service's words are English; the caller's may not be
            raise PeriodError(_("'period': '%(value)s' is not a period: write 2025, 2025-Q2 "
                                "or 2025-03 (a year from 1900 to 2100)",
                                value=request.args["period"])) from exc  # fmt: skip
    group = request.args.get("group") or None
    category_id = None
    if group:
        category_id = incident_cells.group_ids(db.session()).get(group)
        if category_id is None:
            raise PeriodError(_("no incident group '%(group)s'", group=group))
    return period, category_id, group


def default_period(community_id: int) -> Period | None:
    """The latest year with incidents: what a map shows before anyone filters."""
    years = [p for p in incident_cells.available_periods(db.session(), community_id)
             if p.kind == "year"]  # fmt: skip
    return years[0] if years else None


def default_size(community_id: int, audience: str, period: Period | None) -> int:
    """The cell size a map opens at: the smallest public size where most incidents show.

    "Most" is 80 % of the year's incidents in published cells; analysts open at 500 m.
    """
    public = current_app.config["GEOAPP_PUBLIC_CELL_SIZES"]
    if audience == "analyst" or period is None:
        return 500 if audience == "analyst" else public[-1]
    shares = incident_cells.published_share(db.session(), community_id, period.start.year)
    return next((s for s in public if shares.get(s, 0) >= 0.8), public[-1])


def cells_data(
    spec: LayerSpec, found: Community, audience: str
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """The `incident_cells` rows for one size, period and group, and their metadata.

    Raises PeriodError (answered 400) when a filter is wrong or not open to the caller.
    """
    period, category_id, group = _filters()
    period = period or default_period(found.id)
    if audience != "analyst" and (category_id is not None or (period and period.kind != "year")):
        raise PeriodError(_("outside the staff, cell counts are published per whole year for "
                            "all groups together (choose a year, no group)"))  # fmt: skip
    public_sizes = current_app.config["GEOAPP_PUBLIC_CELL_SIZES"]
    allowed = incident_cells.SIZES if audience == "analyst" else public_sizes
    size_arg = request.args.get("size")
    if size_arg is None:
        size = default_size(found.id, audience, period)
    elif size_arg not in {str(s) for s in allowed}:  # "²".isdigit(), but int("²") fails
        sizes = ", ".join(str(s) for s in allowed)
        raise PeriodError(_("size must be one of %(sizes)s (metres)", sizes=sizes))
    else:
        size = int(size_arg)
    k = current_app.config["GEOAPP_SUPPRESSION_K"]
    rows: list[tuple[dict[str, Any], str]] = []
    total: dict[str, Any] = {"count": 0, "suppressed": False}
    if period is not None:
        query = CellQuery(found.id, size, period, category_id)
        rows, total = privacy.incident_cell_rows(db.session(), query, audience)
    counts = [p["count"] for p, _g in rows if p["count"] is not None]
    exact = audience == "analyst"
    meta = dict(
        community=found.slug, licence=LICENCE,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        period=period.label if period else None, group=group or "all",
        aggregation_unit=f"hexagon, {size} m edge, EPSG:{found.metric_srid}",
        cell_size_m=size, k=None if exact else k, exact_counts=exact,
        total=total, suppressed_cells=sum(1 for p, _g in rows if p["suppressed"]),
        breaks=incident_cells.class_breaks(counts, 1 if exact else k),
    )  # fmt: skip
    return rows, meta


def points_data(
    spec: LayerSpec, found: Community, audience: str
) -> tuple[list[tuple[dict[str, Any], str]], dict[str, Any]]:
    """The `incidents` rows (analysts): individual points, filtered by period and group.

    Raises PermissionError for anyone but an analyst, PeriodError for a bad filter.
    """
    period, category_id, group = _filters()
    rows = privacy.incident_points(db.session(), found.id, period, category_id, audience)
    meta = dict(
        community=found.slug, generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        period=period.label if period else None, group=group or "all",
        aggregation_unit="none (individual offences, analysts only)", k=None,
        licence="internal: not for publication",
        truncated_at=privacy.MAX_POINTS if len(rows) >= privacy.MAX_POINTS else None,
    )  # fmt: skip
    return rows, meta


@dataclass(frozen=True)
class FilterOptions:
    """What the map's incident filter offers: periods, groups, sizes, and where to ask."""

    periods: list[Period]
    groups: list[tuple[str, str, str]]
    sizes: tuple[int, ...]
    size: int
    url: str
    points_url: str | None
    credentials: str
    k: int
    tiles_url: str | None = None


def filter_options(community_id: int, slug: str, audience: str) -> FilterOptions | None:
    """The filter for a community's map, or None when it has no incident statistics.

    The public page asks without cookies, so a signed-in analyst sees there exactly
    what the public sees; the staff page asks with them and gets exact counts.
    """
    sess = db.session()
    periods = incident_cells.available_periods(sess, community_id)
    if not periods:
        return None
    analyst = audience == "analyst"
    sizes = incident_cells.SIZES if analyst else current_app.config["GEOAPP_PUBLIC_CELL_SIZES"]
    url = url_for("api.layer_geojson", slug=slug, layer="incident_cells")
    points = url_for("api.layer_geojson", slug=slug, layer="incidents")
    if not analyst:  # the public table: whole years, all groups (see year_withheld)
        periods = [p for p in periods if p.kind == "year"]
    tiles = None
    if (
        analyst
        and incident_cells.incident_count(sess, community_id)
        > current_app.config["GEOAPP_TILE_THRESHOLD"]
    ):
        tiles = (
            url_for("tiles.tile", layer="incidents", z=0, x=0, y=0).replace(
                "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
            )
            + f"?community={slug}"
        )
    return FilterOptions(
        tiles_url=tiles,
        periods=periods,
        groups=incident_cells.groups_present(sess, community_id) if analyst else [],
        sizes=tuple(sizes), size=default_size(community_id, audience, periods[0]), url=url,
        points_url=points if analyst else None,
        credentials="same-origin" if analyst else "omit",
        k=current_app.config["GEOAPP_SUPPRESSION_K"],
    )  # fmt: skip
