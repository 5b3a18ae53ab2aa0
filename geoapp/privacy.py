"""What leaves the building: the rules, in one place (PRIVACY.md is their specification).

The audiences and their ranks, which layer an audience may see (`may_see`), the property
whitelist every feature passes (`feature`, `whitelisted_json`, `feature_texts`,
`properties_sql`), and the policy values the sources bind into their SQL (the public
statuses, the time zone, the measure cell, the point cap) live here and nowhere else.
No SQL runs here and no service is imported: the layer sources (`geoapp.layers.sources`)
fetch, this module decides what of it may leave.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from geoapp.layers.spec import LayerSpec

AUDIENCE_RANK = {"public": 0, "partner": 1, "staff": 2, "analyst": 3}

# Concerns the public may see, and the ones still open ("nearby" on the report page).
PUBLIC_CONCERN_STATUSES = ("accepted", "in_progress", "resolved")
OPEN_CONCERN_STATUSES = ("accepted", "in_progress")
# The day a concern was reported is the day in the community's time zone.
TIME_ZONE = "Europe/Kyiv"
# An analyst's map shows at most this many individual points; beyond it the cells tell more.
MAX_POINTS = 20_000
PUBLIC_MEASURE_CELL_M = 250.0  # a measure's public area: the hexagons of this size it touches
PUBLIC_MEASURE_STATUSES = ("agreed", "in_progress", "done")


def may_see(spec: LayerSpec, audience: str) -> bool:
    """True when a caller of `audience` may receive this layer."""
    return AUDIENCE_RANK[audience] >= AUDIENCE_RANK[spec.audience]


def policy_params() -> dict[str, Any]:
    """The policy values as bound parameters: SQL never writes a status or a zone itself."""
    return {"public_statuses": list(PUBLIC_CONCERN_STATUSES),
            "open_statuses": list(OPEN_CONCERN_STATUSES), "tz": TIME_ZONE}  # fmt: skip


def feature(spec: LayerSpec, properties: Mapping[str, Any], geometry_json: str | None) -> dict:
    """One GeoJSON feature carrying only the layer's whitelisted properties."""
    return {
        "type": "Feature",
        "properties": {k: properties.get(k) for k in spec.properties},
        "geometry": json.loads(geometry_json) if geometry_json else None,
    }


# --- Exports, OGC items and tiles: features as text, whitelisted here ------------------------

# One exported feature: its id, its whitelisted properties as JSON text, its geometry as
# GeoJSON text (WGS 84, 6 decimals).  Text, not dicts, so a million features cross from
# PostgreSQL to the client without being parsed and re-serialised on the way.
FeatureText = tuple[str | None, str, str | None]
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def whitelisted_json(spec: LayerSpec, properties: Mapping[str, Any]) -> str:
    """The layer's whitelisted properties of one feature as compact JSON text."""
    return json.dumps({k: properties.get(k) for k in spec.properties}, ensure_ascii=False,
                      separators=(",", ":"), default=str)  # fmt: skip


def feature_texts(
    spec: LayerSpec,
    rows: Iterable[tuple[Mapping[str, Any], str | None]],
    fid: Callable[[Mapping[str, Any]], str | None],
) -> Iterator[FeatureText]:
    """Rows computed in Python (cells, hot spots, boundaries) as whitelisted feature texts."""
    for props, geometry in rows:
        yield fid(props), whitelisted_json(spec, props), geometry


def properties_sql(spec: LayerSpec, columns: Iterable[str]) -> str:
    """The whitelist as `json_build_object(...)` over `src`; a property the source lacks is null.

    For sources that stream from the database: the whitelist is applied in the statement,
    so nothing outside it is ever fetched into the process.
    """
    have = set(columns)
    pairs = []
    for name in spec.properties:
        if not _NAME.match(name):
            raise ValueError(f"{spec.path}: property '{name}' is not a plain name")
        pairs.append(f"'{name}', " + (f'src."{name}"' if name in have else "NULL"))
    return f"json_build_object({', '.join(pairs)})::text"


# --- Counts of offences on staff pages (measures, sessions, minutes) -------------------------


def withhold_small(n: int | None, k: int, exact: bool) -> int | None:
    """`n` as a page may show it: None ("fewer than k") when 0 < n < k, unless `exact`.

    The measure and session pages count offences in an area someone drew or a cell someone
    chose, over a window someone chose; below analyst (and in the minutes, which leave the
    room) a count of 1 to k - 1 there can point to single offences.  Zeros stay, as in the
    releases: "nothing was recorded" is not hidden.
    """
    if n is None or exact or n == 0 or n >= k:
        return n
    return None


SECONDARY = "withheld"  # a count withheld only so that a small one cannot be worked back


def withhold_parts(parts: Sequence[int], k: int, exact: bool) -> list[int | str | None]:
    """Parts of a whole the reader may know (`withhold_small` each), with a second withheld.

    A measure's target, ring and rest of the community add up to the community's offences
    in the window, which a release of that year can give away.  So when a part is
    withheld (None: "fewer than k"), the largest part still shown is withheld too
    (`SECONDARY`: it is not small, only hidden): the whole minus what is shown is then a
    sum that includes a large unknown, never one small count.
    """
    shown: list[int | str | None] = [withhold_small(n, k, exact) for n in parts]
    if None in shown:
        rest = [p for p, s in enumerate(shown) if s]  # shown and not 0
        if rest:
            shown[max(rest, key=lambda p: parts[p])] = SECONDARY
    return shown
