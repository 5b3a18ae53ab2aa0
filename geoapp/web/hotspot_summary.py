"""The paragraph a council member reads under the hot spot map, in the interface language.

It says how many hot spot areas there are (touching cells at 95 % confidence or more),
where the largest lie (the nearest street in the community's gazetteer), how they move
over time (the emerging labels), and where residents' worries and the records disagree.
Numbers and plurals are the Ukrainian way through Flask-Babel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import format_date, format_decimal, ngettext
from flask_babel import gettext as _

from geoapp import db
from geoapp.analysis.gaps import RECORD, WORRY
from geoapp.services import gazetteer
from geoapp.services.hotspots import HotspotQuery, Hotspots, clusters

MAX_PLACES = 3
MAX_GAP_ROWS = 30


@dataclass(frozen=True)
class GapRow:
    """One place where residents' concerns and the records disagree, for the page's table."""

    kind: str  # WORRY or RECORD
    kind_name: str
    place: str
    concerns: int
    expected: str  # formatted the interface's way
    incidents: int
    i: int
    j: int


def trend_names() -> dict[str, str]:
    """Emerging hot spot labels as the page writes them."""
    return {
        "new_hot": _("new"), "consecutive_hot": _("consecutive"),
        "intensifying_hot": _("intensifying"), "persistent_hot": _("persistent"),
        "diminishing_hot": _("diminishing"), "sporadic_hot": _("sporadic"),
        "oscillating_hot": _("oscillating"), "historical_hot": _("historical"),
        "new_cold": _("new cold spot"), "consecutive_cold": _("consecutive cold spot"),
        "intensifying_cold": _("intensifying cold spot"),
        "persistent_cold": _("persistent cold spot"),
        "diminishing_cold": _("diminishing cold spot"), "sporadic_cold": _("sporadic cold spot"),
        "oscillating_cold": _("oscillating cold spot"),
        "historical_cold": _("historical cold spot"), "no_pattern": _("no pattern"),
    }  # fmt: skip


def _nearest_street(community_id: int, lon: float, lat: float) -> str | None:
    """The gazetteer street nearest a point, to name a place the way residents do."""
    return gazetteer.nearest_street(db.session(), community_id, lon, lat)


def summary(result: Hotspots | None, query: HotspotQuery, group_label: str) -> list[str]:
    """Sentences describing the analysis (the first always says what was analysed)."""
    period = _("%(start)s – %(end)s", start=format_date(query.start, "dd.MM.yyyy"),
               end=format_date(query.end, "dd.MM.yyyy"))  # fmt: skip
    if result is None:
        return [_("This community has no boundary, so there is no area to analyse.")]
    total = int(result.count.sum())
    lines = [_("%(period)s, %(group)s: %(n)s recorded offences in %(cells)s cells of "
               "%(size)s m.", period=period, group=group_label,
               n=format_decimal(total), cells=format_decimal(len(result.count)),
               size=int(result.size_m))]  # fmt: skip
    if total == 0:
        return [*lines, _("No offences in this period and group: nothing to analyse.")]
    areas = clusters(result, level=2)
    if not areas:
        lines.append(_("No hot spots: offences are not significantly more concentrated "
                       "anywhere than chance would explain (p < 0.05, corrected for testing "
                       "every cell)."))  # fmt: skip
    else:
        places = []
        for cells in areas[:MAX_PLACES]:
            street = _nearest_street(query.community_id, *result.centre_wgs84(cells))
            n = int(result.count[list(cells)].sum())
            where = _("near %(street)s", street=street) if street else _("unnamed area")
            places.append(_("%(where)s (%(n)s offences)", where=where, n=format_decimal(n)))
        lines.append(ngettext(
            "%(num)d hot spot area, where offences cluster more than chance would explain "
            "(95 %% confidence or more): %(places)s.",
            "%(num)d hot spot areas, where offences cluster more than chance would explain "
            "(95 %% confidence or more): %(places)s.", len(areas),
            places="; ".join(places)))  # fmt: skip
        lines.extend(_trends(result, areas))
    lines.append(_("Neighbourhood: cells within %(band)s m of each other (the smallest "
                   "distance that gives every cell at least 8 neighbours).",
                   band=format_decimal(round(result.band_m))))  # fmt: skip
    worry = int(np.sum(result.gap == "worry_without_record"))
    record = int(np.sum(result.gap == "record_without_worry"))
    if worry:
        lines.append(ngettext(
            "%(num)d place where residents worry more than the records would suggest.",
            "%(num)d places where residents worry more than the records would suggest.",
            worry))  # fmt: skip
    if record:
        lines.append(ngettext(
            "%(num)d place with many recorded offences but few residents' concerns.",
            "%(num)d places with many recorded offences but few residents' concerns.",
            record))  # fmt: skip
    return lines


def _trends(result: Hotspots, areas: list[Sequence[int]]) -> list[str]:
    """How the hot spot areas behave over time: the most common label of each."""
    if not (result.trend != "").any():
        return [_("Too short a period for a trend (at least 10 months are needed).")]
    names = trend_names()
    kinds = Counter()
    for cells in areas:
        labels = [str(result.trend[k]) for k in cells if str(result.trend[k]).endswith("_hot")]
        if labels:
            kinds[Counter(labels).most_common(1)[0][0]] += 1
    if not kinds:
        return []
    parts = [_("%(name)s: %(n)d", name=names[label], n=n) for label, n in kinds.most_common()]
    return [_("Over time, by area: %(parts)s.", parts=", ".join(parts))]


def gap_rows(result: Hotspots, community_id: int) -> list[GapRow]:
    """The concern gap cells, worries first, each kind by how far it is from expected.

    The table is the "what do residents fear that the statistics do not show" list of a
    joint session: the place (nearest gazetteer street), accepted concerns against what
    the cell's share of recorded offences would predict, and the offences themselves.
    """
    names = {WORRY: _("Residents worry, few records"), RECORD: _("Many records, few worries")}
    cells = np.flatnonzero(result.gap != "")
    distance = np.abs(result.concerns[cells] - result.expected_concerns[cells])
    order = np.lexsort((-distance, result.gap[cells] != WORRY))
    rows = []
    for k in cells[order][:MAX_GAP_ROWS].tolist():
        kind = str(result.gap[k])
        street = _nearest_street(community_id, *result.centre_wgs84([k]))
        rows.append(GapRow(
            kind=kind, kind_name=names.get(kind, kind),
            place=_("near %(street)s", street=street) if street else _("unnamed area"),
            concerns=int(result.concerns[k]),
            expected=format_decimal(round(float(result.expected_concerns[k]), 2)),
            incidents=int(result.count[k]), i=int(result.i[k]), j=int(result.j[k]),
        ))  # fmt: skip
    return rows
