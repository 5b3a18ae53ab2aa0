"""Small builders for test input files and database snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# A square of about 1.4 km in Bucha hromada (lon/lat), and a second one beside it.
SQUARE = [[30.20, 50.54], [30.22, 50.54], [30.22, 50.55], [30.20, 50.55], [30.20, 50.54]]
SQUARE2 = [[30.23, 50.54], [30.25, 50.54], [30.25, 50.55], [30.23, 50.55], [30.23, 50.54]]
CODE_A = "UA99000000000000001"
CODE_B = "UA99000000000000002"


def feature(coords: Any, code: str | None = CODE_A, gtype: str = "Polygon", **props: Any) -> dict:
    """A GeoJSON feature with OSM-like properties."""
    properties = {"name:uk": "Тестова громада", "admin_level": "7", **props}
    if code is not None:
        properties["katotth"] = code
    geometry = None if coords is None else {"type": gtype, "coordinates": coords}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_geojson(path: Path, *features: dict) -> Path:
    """Write a FeatureCollection."""
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


def snapshot(session: Session) -> list[tuple]:
    """Everything the loader could change, to compare before and after."""
    return session.execute(
        text(
            "SELECT katotth, slug, name_uk, name_en, level::text, md5(ST_AsEWKB(geom)::text), "
            "(SELECT count(*) FROM community_part p WHERE p.community_id = c.id) "
            "FROM community c ORDER BY katotth"
        )
    ).all()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(base: str, seconds: float = 30) -> None:
    """Poll `base`/healthz until it answers 200 (a server started in another process)."""
    import time

    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"{base} did not start"
        time.sleep(0.2)


def forget_imports(engine, slug: str) -> None:
    """Remove a community's imported incidents, cells and batches after a test (committed)."""
    with engine.begin() as conn:
        cid = conn.scalar(text("SELECT id FROM community WHERE slug = :s"), {"s": slug})
        for table in ("incident_release", "incident_cell", "incident", "import_batch"):
            conn.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": cid})


def publish_year(app_or_engine, slug: str, year: int, k: int | None = None,
                 public_sizes: tuple[int, ...] | None = None) -> Any:  # fmt: skip
    """Publish a closed year of a community's incident counts, as staff would (committed).

    Below analysts every incident and hot spot layer reads only published years, so a test
    of what the public sees publishes first, exactly as an office does.  Given the app, its
    k and public sizes are used; given an engine, the defaults (10 and 500,1000).
    """
    from datetime import date

    from geoapp.services import releases

    config = getattr(app_or_engine, "config", {})
    k = k if k is not None else int(config.get("GEOAPP_SUPPRESSION_K", 10))
    sizes = public_sizes or tuple(config.get("GEOAPP_PUBLIC_CELL_SIZES", (500, 1000)))
    engine = app_or_engine.extensions["geoapp.engine"] if config else app_or_engine
    with Session(engine) as sess:
        cid = sess.scalar(text("SELECT id FROM community WHERE slug = :s"), {"s": slug})
        made = releases.publish(sess, cid, year, k, sizes, actor="test",
                                today=date(max(year + 1, date.today().year), 1, 1))  # fmt: skip
        sess.commit()
        return made


def forget_releases(engine, slug: str) -> None:
    """Remove a community's published releases after a test (committed).

    Releases are never revised (an UPDATE is refused), but a community's removal deletes
    them; a test that published one removes it here so later tests can publish afresh.
    """
    with engine.begin() as conn:
        cid = conn.scalar(text("SELECT id FROM community WHERE slug = :s"), {"s": slug})
        for table in ("incident_release", "sensitive_release"):
            conn.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": cid})


def publish_release_year(session: Session, community_id: int, year: int, k: int,
                         public_sizes: tuple[int, ...] | list[int]) -> None:  # fmt: skip
    """Publish one closed year of a community as staff would (RELEASE_POLICY.md, rule 1).

    Until a year is published the public and partners are not offered it; the tests publish
    through the same service the CLI (`geoapp releases publish`) and `geoapp demo` call.
    Commits, like the CLI: the release is what every later request of the module reads.
    """
    from geoapp.services import releases

    releases.publish(session, community_id, year, k, tuple(public_sizes), actor="test")
    session.commit()
