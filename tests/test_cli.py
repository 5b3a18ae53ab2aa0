"""The `geoapp` command as an admin types it, against the test database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from geoapp.cli import main
from tests.conftest import OSM_DIR
from tests.helpers import SQUARE, feature, write_geojson

IRPIN = "UA32080150000035443"


@pytest.fixture()
def run(database_url):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), env={"DATABASE_URL": database_url})

    return invoke


def test_db_upgrade_is_idempotent(run):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "schema up to date (PostGIS 3" in result.output


def test_pilot_reports_unchanged_on_a_second_load(run):
    result = run("boundaries", "pilot", "--source", str(OSM_DIR))
    assert result.exit_code == 0, result.output
    assert "unchanged 5" in result.output and "sevastopol" in result.output


def test_load_reports_and_filters(run, engine):
    try:
        raion = OSM_DIR / "kyyivska_oblast.buchanskyy_rayon.geojson"
        result = run("boundaries", "load", str(raion), "--katotth", IRPIN)
        assert result.exit_code == 0, result.output
        assert "loaded 1 (new 1" in result.output
        with engine.connect() as conn:
            name = conn.scalar(
                text("SELECT name_uk FROM community WHERE katotth = :k"), {"k": IRPIN}
            )
        assert name == "Ірпінська міська громада"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM community WHERE katotth = :k"), {"k": IRPIN})


def test_a_refused_file_exits_non_zero_with_the_reason(run, tmp_path):
    bad = write_geojson(tmp_path / "dupes.geojson", feature([SQUARE]), feature([SQUARE]))
    result = run("boundaries", "load", str(bad))
    assert result.exit_code == 1
    assert "NOT LOADED" in result.output and "more than once" in result.output
    assert "Traceback" not in result.output
