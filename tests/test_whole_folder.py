"""Loading all of ukraine-osm: every coded unit arrives, broken rings are accounted for.

The expectation is computed independently of the loader, by reading the
GeoJSON files with the json module.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import text

from geoapp.services.boundaries import expand_paths, load_file
from tests.conftest import OSM_DIR

pytestmark = pytest.mark.slow


def _expected() -> tuple[set[str], int, int, int]:
    """Codes of polygon features; unclosed rings in coded and uncoded ones; coded features hit."""
    codes: set[str] = set()
    unclosed_coded = unclosed_uncoded = features_hit = 0
    for path in OSM_DIR.glob("*.geojson"):
        for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
            geom = feat["geometry"]
            if not geom or geom["type"] not in ("Polygon", "MultiPolygon"):
                continue
            code = feat["properties"].get("katotth")
            polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
            rings = sum(1 for poly in polys for ring in poly if ring[0] != ring[-1])
            if code:
                codes.add(code)
                unclosed_coded += rings
                features_hit += rings > 0
            else:
                unclosed_uncoded += rings
    return codes, unclosed_coded, unclosed_uncoded, features_hit


def test_whole_folder_loads_with_nothing_lost(db_session, codifier):
    expected, unclosed_coded, unclosed_uncoded, features_hit = _expected()
    assert unclosed_coded + unclosed_uncoded == 10  # as the data README says
    repairs: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    files = expand_paths([OSM_DIR])
    empty = 0
    for path in files:
        report = load_file(db_session, path, codifier)
        assert report.error is None or report.no_polygons, report.summary()
        empty += report.no_polygons
        repairs.update(report.repairs)
        reasons.update(why for _n, _c, why in report.rejected)
    loaded = set(db_session.scalars(text("SELECT katotth FROM community")))
    assert expected - loaded == set()
    levels = dict(
        db_session.execute(text("SELECT level::text, count(*) FROM community GROUP BY 1")).all()
    )
    print(f"\n{len(files)} files ({empty} without polygons); levels {levels}")
    print(f"repairs {dict(repairs)}; rejected {dict(reasons)}")
    assert levels["hromada"] >= 1466 and levels["raion"] >= 136 and levels["city_district"] >= 70
    # Rings in coded features are closed and repaired; the others belong to
    # uncoded settlement outlines, rejected for that reason.
    assert repairs["unclosed ring closed"] == features_hit
    assert set(reasons) == {"no KATOTTH code"}
    invalid = db_session.scalar(text("SELECT count(*) FROM community WHERE NOT ST_IsValid(geom)"))
    assert invalid == 0
