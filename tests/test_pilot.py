"""The pilot manifest: five communities, Crimea as a union, Sevastopol without a polygon."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from geoapp.services.pilot import PilotError, fetch_files, load_pilot, read_manifest
from tests.conftest import OSM_DIR
from tests.helpers import snapshot

SLUGS = {"lviv-halytskyi", "bucha", "bolhrad", "crimea", "sevastopol"}


def pilot_rows(session):
    return {
        r.slug: r
        for r in session.execute(
            text(
                "SELECT slug, katotth, level::text AS level, geom IS NOT NULL AS has_geom, "
                "ST_Area(geom::geography) / 1e6 AS km2, GeometryType(geom) AS gtype, "
                "office FROM community WHERE pilot"
            )
        )
    }


def test_pilot_communities_are_loaded(db_session):
    rows = pilot_rows(db_session)
    assert set(rows) == SLUGS
    assert rows["bucha"].katotth == "UA32080070000050759" and rows["bucha"].level == "hromada"
    assert rows["lviv-halytskyi"].level == "city_district"
    assert 5 < rows["lviv-halytskyi"].km2 < 8
    assert 250 < rows["bucha"].km2 < 270
    assert rows["sevastopol"].has_geom is False
    assert rows["crimea"].level == "arc" and rows["crimea"].gtype == "MULTIPOLYGON"
    # The union of the ten raions: Crimea is about 26,000 km².
    assert 25_000 < rows["crimea"].km2 < 27_500
    assert all(r.office for r in rows.values())


def test_loading_the_pilot_again_changes_nothing(db_session, tmp_path):
    before = snapshot(db_session)
    report = load_pilot(db_session, str(OSM_DIR), tmp_path)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 5)
    assert any("sevastopol" in w for w in report.warnings)
    assert snapshot(db_session) == before


@pytest.fixture()
def http_folder():
    """The shared boundaries folder served over HTTP on loopback, like the pinned URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(OSM_DIR))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def test_pilot_files_can_come_over_http(db_session, http_folder, tmp_path):
    report = load_pilot(db_session, http_folder, tmp_path / "cache")
    assert report.loaded == 5
    assert {p.name for p in (tmp_path / "cache").iterdir()} == set(read_manifest()[0]["files"])


def test_a_file_that_differs_from_its_pin_is_refused(db_session, tmp_path):
    manifest, _ = read_manifest()
    for name in manifest["files"]:
        (tmp_path / name).write_bytes((OSM_DIR / name).read_bytes())
    victim = next(iter(manifest["files"]))
    (tmp_path / victim).write_bytes((OSM_DIR / victim).read_bytes().replace(b"7", b"8", 1))
    before = snapshot(db_session)
    with pytest.raises(PilotError, match="differs from the pinned"):
        load_pilot(db_session, str(tmp_path), tmp_path / "cache")
    assert snapshot(db_session) == before


def test_a_missing_folder_says_so():
    with pytest.raises(PilotError, match="missing"):
        fetch_files(read_manifest()[0], "/nonexistent", Path("/tmp"))
