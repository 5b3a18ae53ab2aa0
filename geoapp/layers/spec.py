"""Layer specs: reads layers/*.toml and refuses to start on a bad one.

One spec feeds the map, the GeoJSON API, exports, OGC collections and tiles, so a
layer is declared once.  Validation happens at start-up and a bad file stops the app
with a message naming the file and the key.  Which source kinds exist is the registry's
to say (`geoapp.layers`), so this module takes them as an argument and names none.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUDIENCES = ("public", "partner", "staff", "analyst")
_REQUIRED = ("id", "title_uk", "title_en", "source", "audience", "properties")


class LayerSpecError(ValueError):
    """A layer file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class LayerSpec:
    """A validated layer declaration."""

    id: str
    title_uk: str
    title_en: str
    source: str
    audience: str
    properties: tuple[str, ...]
    popup: tuple[str, ...] = ()
    # Properties of the aggregated (low-zoom) vector tiles, e.g. a count per cell.
    aggregate_properties: tuple[str, ...] = ()
    exportable: bool = False
    default_visible: bool = True
    min_zoom: int = 0
    max_zoom: int = 19
    style: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def title(self, locale: str) -> str:
        """The title in the interface language (Ukrainian unless English is asked for)."""
        return self.title_en if locale == "en" else self.title_uk


def _check(path: Path, data: dict[str, Any], kinds: Collection[str]) -> LayerSpec:
    def fail(key: str, why: str) -> LayerSpecError:
        return LayerSpecError(f"{path}: key '{key}': {why}")

    for key in _REQUIRED:
        if key not in data:
            raise fail(key, "missing")
    known = set(LayerSpec.__dataclass_fields__) - {"path"}
    for key in data:
        if key not in known:
            raise fail(key, "unknown key")
    if data["id"] != path.stem:
        raise fail("id", f"'{data['id']}' must equal the file name '{path.stem}'")
    if data["source"] not in kinds:
        raise fail("source", f"'{data['source']}' is not one of {', '.join(kinds)}")
    if data["audience"] not in AUDIENCES:
        raise fail("audience", f"'{data['audience']}' is not one of {', '.join(AUDIENCES)}")
    props = data["properties"]
    if not isinstance(props, list) or not props or not all(isinstance(p, str) for p in props):
        raise fail("properties", "must be a non-empty list of property names")
    aggregate = data.get("aggregate_properties", [])
    if not isinstance(aggregate, list) or not all(isinstance(p, str) for p in aggregate):
        raise fail("aggregate_properties", "must be a list of property names")
    popup = data.get("popup", [])
    stray = [p for p in popup if p not in props]
    if stray:
        raise fail("popup", f"{', '.join(stray)} not in 'properties' (only whitelisted fields)")
    lo, hi = data.get("min_zoom", 0), data.get("max_zoom", 19)
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi <= 24):
        raise fail("min_zoom", "zoom range must satisfy 0 <= min_zoom <= max_zoom <= 24")
    for key in ("exportable", "default_visible"):
        if not isinstance(data.get(key, False), bool):
            raise fail(key, "must be true or false")
    return LayerSpec(
        **{
            **data,
            "properties": tuple(props),
            "popup": tuple(popup),
            "aggregate_properties": tuple(aggregate),
            "path": str(path),
        }
    )


def load_specs(directory: str | Path, kinds: Collection[str]) -> dict[str, LayerSpec]:
    """Read and validate every `*.toml` in `directory` (sources among `kinds`), by layer id."""
    specs: dict[str, LayerSpec] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise LayerSpecError(f"{path}: not valid TOML: {exc}") from exc
        spec = _check(path, data, kinds)
        specs[spec.id] = spec
    if not specs:
        raise LayerSpecError(f"{directory}: no layer files (*.toml)")
    return specs
