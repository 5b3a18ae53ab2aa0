"""The incident filter over a community map: which periods, groups and sizes it offers.

Analysts of the community filter by any period, group and cell size and see exact counts
and points.  Everyone else is offered the published releases only (`services.releases`):
whole closed years at the size each was published at, so the filter has no size and no
group for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app, url_for

from geoapp import db
from geoapp.layers.sources.incident_cells import ANALYST_DEFAULT_SIZE
from geoapp.services import incident_cells, releases
from geoapp.services.incident_cells import Period


@dataclass(frozen=True)
class FilterOptions:
    """What the map's incident filter offers: periods, groups, sizes, and where to ask."""

    periods: list[Period]
    groups: list[tuple[str, str, str]]
    sizes: tuple[int, ...]
    size: int | None
    url: str
    points_url: str | None
    credentials: str
    k: int
    tiles_url: str | None = None


def filter_options(community_id: int, slug: str, audience: str) -> FilterOptions | None:
    """The filter for a community's map, or None when there is nothing to show.

    The public page asks without cookies, so a signed-in analyst sees there exactly what
    the public sees; the staff page asks with them and gets exact counts.
    """
    sess = db.session()
    analyst = audience == "analyst"
    if analyst:
        periods = incident_cells.available_periods(sess, community_id)
    else:
        periods = [Period("year", date(r.year, 1, 1))
                   for r in releases.all_of(sess, community_id)]  # fmt: skip
    if not periods:
        return None
    url = url_for("api.layer_geojson", slug=slug, layer="incident_cells")
    points = url_for("api.layer_geojson", slug=slug, layer="incidents")
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
        sizes=tuple(incident_cells.SIZES) if analyst else (),
        size=ANALYST_DEFAULT_SIZE if analyst else None, url=url,
        points_url=points if analyst else None,
        credentials="same-origin" if analyst else "omit",
        k=current_app.config["GEOAPP_SUPPRESSION_K"],
    )  # fmt: skip
