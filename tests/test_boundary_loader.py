"""The boundary loader against bad and awkward input, on the real PostGIS."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pyogrio
import pytest
import shapely
from sqlalchemy import select, text

from geoapp.models import Community, CommunityLevel
from geoapp.services.boundaries import load_file
from tests.conftest import OSM_DIR
from tests.helpers import CODE_A, CODE_B, SQUARE, SQUARE2, feature, snapshot, write_geojson


def community(session, code):
    return session.scalars(select(Community).where(Community.katotth == code)).one_or_none()


def geom(session, code):
    wkb = session.scalar(
        text("SELECT ST_AsBinary(geom) FROM community WHERE katotth = :k"), {"k": code}
    )
    return shapely.from_wkb(bytes(wkb))


def test_a_clean_file_loads_and_loading_again_changes_nothing(db_session, codifier, tmp_path):
    path = write_geojson(tmp_path / "a.geojson", feature([SQUARE]), feature([SQUARE2], CODE_B))
    first = load_file(db_session, path, codifier)
    assert (first.inserted, first.updated, first.unchanged, first.error) == (2, 0, 0, None)
    before = snapshot(db_session)
    again = load_file(db_session, path, codifier)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot(db_session) == before
    row = community(db_session, CODE_A)
    assert row.name_uk == "Тестова громада"
    assert row.name_en == "Testova hromada"  # transliterated: the file has no name:en
    assert row.level is CommunityLevel.HROMADA
    assert row.metric_srid == 32636
    parts = db_session.scalar(
        text("SELECT count(*) FROM community_part WHERE community_id = :i"), {"i": row.id}
    )
    assert parts >= 1


def test_self_intersection_is_repaired_and_counted(db_session, codifier, tmp_path):
    bowtie = [[30.20, 50.54], [30.22, 50.55], [30.22, 50.54], [30.20, 50.55], [30.20, 50.54]]
    report = load_file(
        db_session, write_geojson(tmp_path / "b.geojson", feature([bowtie])), codifier
    )
    assert report.inserted == 1
    assert report.repairs["invalid polygon repaired (self-intersection)"] == 1
    g = geom(db_session, CODE_A)
    assert g.is_valid and g.geom_type == "MultiPolygon" and len(g.geoms) == 2


def test_unclosed_ring_is_closed_and_counted(db_session, codifier, tmp_path):
    unclosed = SQUARE[:-1]
    report = load_file(
        db_session, write_geojson(tmp_path / "u.geojson", feature([unclosed])), codifier
    )
    assert report.inserted == 1
    assert report.repairs["unclosed ring closed"] == 1
    assert geom(db_session, CODE_A).area == pytest.approx(0.02 * 0.01)


def test_clockwise_ring_is_rewound(db_session, codifier, tmp_path):
    report = load_file(
        db_session, write_geojson(tmp_path / "cw.geojson", feature([SQUARE[::-1]])), codifier
    )
    assert report.repairs["ring orientation fixed"] == 1
    assert geom(db_session, CODE_A).geoms[0].exterior.is_ccw


def test_swapped_coordinates_are_fixed_with_a_warning(db_session, codifier, tmp_path):
    swapped = [[y, x] for x, y in SQUARE]
    report = load_file(
        db_session, write_geojson(tmp_path / "s.geojson", feature([swapped])), codifier
    )
    assert report.inserted == 1
    assert any("lat/lon order" in w for w in report.warnings)
    minx, miny, maxx, maxy = geom(db_session, CODE_A).bounds
    assert (minx, miny, maxx, maxy) == pytest.approx((30.20, 50.54, 30.22, 50.55))


def test_three_d_coordinates_lose_z(db_session, codifier, tmp_path):
    square_z = [[x, y, 180.0] for x, y in SQUARE]
    report = load_file(
        db_session, write_geojson(tmp_path / "z.geojson", feature([square_z])), codifier
    )
    assert report.repairs["Z coordinate dropped"] == 1
    assert not shapely.has_z(geom(db_session, CODE_A))


def test_null_geometry_and_missing_code_are_rejected_with_reasons(db_session, codifier, tmp_path):
    path = write_geojson(
        tmp_path / "n.geojson",
        feature(None, CODE_B),
        feature([SQUARE2], code=None),
        feature([SQUARE]),
    )
    report = load_file(db_session, path, codifier)
    assert report.inserted == 1
    reasons = {(num, why) for num, _code, why in report.rejected}
    assert reasons == {(1, "no geometry"), (2, "no KATOTTH code")}
    assert community(db_session, CODE_B) is None


def test_repair_that_leaves_nothing_rejects_the_feature(db_session, codifier, tmp_path):
    flat = [[30.20, 50.54], [30.20, 50.55], [30.20, 50.56], [30.20, 50.54]]
    path = write_geojson(tmp_path / "f.geojson", feature([flat], CODE_B), feature([SQUARE]))
    report = load_file(db_session, path, codifier)
    assert report.inserted == 1
    assert [(n, c) for n, c, _ in report.rejected] == [(1, CODE_B)]
    assert "left no area" in report.rejected[0][2]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.geojson", b"", "empty"),
        ("notes.geojson", b"this is a letter, not a map\n", "not a geodata file"),
        ("table.shp", b"\x00\x01garbage", "not a geodata file"),
        ("nothing.geojson", b'{"type": "FeatureCollection", "features": []}', "no features"),
    ],
)
def test_files_that_are_not_boundaries_change_nothing(
    db_session, codifier, tmp_path, name, content, message
):
    before = snapshot(db_session)
    path = tmp_path / name
    path.write_bytes(content)
    report = load_file(db_session, path, codifier)
    assert report.error and message in report.error
    assert report.loaded == 0
    assert snapshot(db_session) == before


def test_points_where_polygons_are_expected_are_refused(db_session, codifier, tmp_path):
    before = snapshot(db_session)
    path = write_geojson(tmp_path / "p.geojson", feature([30.2, 50.54], gtype="Point"))
    report = load_file(db_session, path, codifier)
    assert "no polygon features" in report.error and "Point" in report.error
    assert snapshot(db_session) == before


def test_duplicate_codes_in_one_file_refuse_the_whole_file(db_session, codifier, tmp_path):
    before = snapshot(db_session)
    path = write_geojson(
        tmp_path / "d.geojson", feature([SQUARE]), feature([SQUARE2]), feature([SQUARE2], CODE_B)
    )
    report = load_file(db_session, path, codifier)
    assert CODE_A in report.error and "features 1, 2" in report.error
    assert snapshot(db_session) == before


def test_coordinates_outside_ukraine_refuse_the_file(db_session, codifier, tmp_path):
    before = snapshot(db_session)
    far = [[x + 100, y] for x, y in SQUARE]
    report = load_file(
        db_session, write_geojson(tmp_path / "far.geojson", feature([far])), codifier
    )
    assert "no geometry lies in Ukraine" in report.error
    assert snapshot(db_session) == before


def _frame(crs="EPSG:4326", name="Бучанська громада"):
    return gpd.GeoDataFrame(
        {"katotth": [CODE_A], "name_uk": [name], "admin_leve": ["7"]},
        geometry=[shapely.Polygon(SQUARE)],
        crs=crs,
    )


@pytest.mark.parametrize("epsg", [5561, 6384, 5565])
def test_ucs2000_and_gauss_kruger_are_reprojected(db_session, codifier, tmp_path, epsg):
    """UCS-2000 geographic (latitude-first by definition), TM zone 10 and GK zone 7."""
    path = tmp_path / f"ucs{epsg}.shp"
    pyogrio.write_dataframe(_frame().to_crs(epsg=epsg), path, encoding="UTF-8")
    report = load_file(db_session, path, codifier)
    assert report.error is None and report.inserted == 1
    assert geom(db_session, CODE_A).bounds == pytest.approx((30.20, 50.54, 30.22, 50.55), abs=1e-6)


def test_cp1251_shapefile_without_cpg_is_read_right(db_session, codifier, tmp_path):
    path = tmp_path / "cp.shp"
    pyogrio.write_dataframe(_frame(), path, encoding="cp1251")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    report = load_file(db_session, path, codifier)
    assert report.inserted == 1
    assert any("cp1251" in w for w in report.warnings)
    assert community(db_session, CODE_A).name_uk == "Бучанська громада"


def test_encoding_can_be_given(db_session, codifier, tmp_path):
    path = tmp_path / "cp.shp"
    pyogrio.write_dataframe(_frame(), path, encoding="cp1251")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    report = load_file(db_session, path, codifier, encoding="cp1251")
    assert report.inserted == 1 and not report.warnings
    assert community(db_session, CODE_A).name_uk == "Бучанська громада"


def test_zipped_shapefile_and_geopackage(db_session, codifier, tmp_path):
    shp = tmp_path / "z.shp"
    pyogrio.write_dataframe(_frame(), shp, encoding="UTF-8")
    archive = tmp_path / "boundaries.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("z.*"):
            zf.write(part, part.name)
    assert load_file(db_session, archive, codifier).inserted == 1
    gpkg = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(_frame(name="Інша назва"), gpkg)
    report = load_file(db_session, gpkg, codifier)
    assert report.updated == 1
    assert community(db_session, CODE_A).name_uk == "Інша назва"


def test_katotth_and_level_filters(db_session, codifier):
    path = OSM_DIR / "kyyivska_oblast.buchanskyy_rayon.geojson"
    report = load_file(db_session, path, codifier, katotth=["UA32080150000035443"])
    assert report.loaded == 1 and community(db_session, "UA32080150000035443").name_uk.startswith(
        "Ірпін"
    )
    report = load_file(db_session, path, codifier, level=CommunityLevel.RAION)
    assert report.loaded == 0 and sum(report.skipped.values()) > 12


def test_generic_load_keeps_the_pilot_names(db_session, codifier):
    path = OSM_DIR / "kyyivska_oblast.buchanskyy_rayon.geojson"
    load_file(db_session, path, codifier)
    bucha = community(db_session, "UA32080070000050759")
    assert (bucha.slug, bucha.name_en, bucha.pilot) == ("bucha", "Bucha hromada", True)
    assert bucha.office == "Бучанська окружна прокуратура"


def test_the_same_unit_in_two_files_is_unchanged_the_second_time(db_session, codifier):
    first = load_file(db_session, OSM_DIR / "kyyiv.geojson", codifier)
    assert first.inserted == 10
    before = snapshot(db_session)
    second = load_file(db_session, OSM_DIR / "kyyivska_oblast.kyyiv.geojson", codifier)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 10)
    assert snapshot(db_session) == before
