"""Reading incident exports (CSV, XLSX, GeoJSON, GeoPackage) through profiles: the values and
row numbers a user would check, the coordinates in WGS84, and plain-English refusals.
Every input is generated here; no database is needed."""

from __future__ import annotations

import csv
import math
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from openpyxl import Workbook
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon

from geoapp.services import incident_files
from geoapp.services.incident_files import (
    MAX_BYTES,
    FileRejected,
    ProfileError,
    load_profile,
    profile_names,
    read_records,
)

RYNOK = (24.0316, 49.8419)  # Lviv, Rynok square: lon, lat
BUCHA_TEXT = ("30.2100", "50.5450")  # lon, lat as an export writes them
GEOD = Geod(ellps="WGS84")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8"):
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def write_profile(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- profiles ----------------------------------------------------------------------------


def test_shipped_profiles_load_and_default_is_the_fixed_contract():
    names = profile_names()
    assert {"default", "address", "prosecutor-form", "ucs2000-tm8"} <= set(names)
    for name in names:
        load_profile(name)
    default = load_profile("default")
    assert default.location == "lonlat"
    assert default.columns == {f: (f,) for f in ("date", "article", "lon", "lat", "ref")}
    assert load_profile("ucs2000-tm8").crs == 6382


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(FileRejected, match=r"no import profile 'police'.*default"):
        load_profile("police")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('colour = "red"\n[columns]\ndate="d"\narticle="a"\nref="r"', "colour: unknown key"),
        ('[columns]\ndate="d"\narticle="a"\nref="r"\nwhen="w"', "columns.when: unknown field"),
        ('[columns]\ndate="d"\narticle="a"', "columns.ref: missing"),
        ('description = "no columns"', "columns: missing"),
        ('[columns]\ndate="d"\narticle="a"\nref="r"\nlon="x"', "columns.lat: missing"),
        ('[columns]\ndate="d"\narticle="a"\nref="r"\neasting="y"\nnorthing="x"', "crs: missing"),
        (
            'crs = 4326\n[columns]\ndate="d"\narticle="a"\nref="r"\neasting="y"\nnorthing="x"',
            "crs: EPSG:4326 .* not a projected",
        ),
        (
            'crs = 999999\n[columns]\ndate="d"\narticle="a"\nref="r"\neasting="y"\nnorthing="x"',
            "crs: EPSG:999999 is unknown",
        ),
        (
            'crs = 6382\n[columns]\ndate="d"\narticle="a"\nref="r"\nlon="x"\nlat="y"',
            "crs: only applies",
        ),
        (
            '[columns]\ndate="d"\narticle="a"\nref="r"\nlon="x"\nlat="y"\naddress="z"',
            "columns: more than one kind",
        ),
        (
            '[columns]\ndate="d"\narticle="D"\nref="r"',
            "columns.article: 'D' is also accepted for date",
        ),
        ('[columns]\ndate=[]\narticle="a"\nref="r"', "columns.date: must be"),
        ("[columns\n", "not valid TOML"),
    ],
)
def test_profile_errors_name_the_file_and_key(tmp_path, body, key):
    folder = tmp_path / "profiles"
    write_profile(folder, "broken", body)
    with pytest.raises(ProfileError, match=rf"^broken\.toml: {key}"):
        load_profile("broken", folder)


# --- CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_default_csv_values_and_physical_line_numbers(tmp_path, delimiter):
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # with a BOM
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(["Date ", "ARTICLE", "lon", "lat", "ref"])
        writer.writerow(["2024-03-01", "185", "30.2100", "50.5450", "12024100000000001"])
        fh.write("\n")  # a blank line (line 3) is skipped but counted
        writer.writerow(["2024-03-02", "ст. 185 ч. 2", "30,21", "50,545", "two\nlines"])
        writer.writerow(["2024-03-03", "186", "", "north", "r3"])
    records = read_records(path, load_profile("default"))
    assert [r.line for r in records] == [2, 4, 6]
    first, second, third = records
    assert (first.date, first.article, first.ref) == ("2024-03-01", "185", "12024100000000001")
    assert (first.lon, first.lat, first.error) == (30.21, 50.545, None)
    assert (second.lon, second.lat, second.ref) == (30.21, 50.545, "two\nlines")
    assert (third.lon, third.lat) == (None, None)
    assert third.error == "unreadable lon/lat ('', 'north')"


def test_utf16_tab_text_as_excel_saves_unicode_text(tmp_path):
    path = tmp_path / "unicode.txt"
    body = "date\tarticle\tlon\tlat\tref\r\n2024-03-01\t185\t30,21\t50,545\tr1\r\n"
    path.write_bytes(body.encode("utf-16"))
    [record] = read_records(path, load_profile("default"))
    assert (record.line, record.article, record.lon, record.ref) == (2, "185", 30.21, "r1")


def test_cp1251_semicolons_ukrainian_headers_and_decimal_commas(tmp_path):
    path = write_csv(
        tmp_path / "prokuratura.csv",
        [
            ["Дата реєстрації", "Стаття КК", "Довгота", "Широта", "Номер ЄРДР"],
            ["01.03.2024", "185", "24,0316", "49,8419", "12024140000000001"],
            ["02.03.2024", "ст. 296 ч. 1", "24,03", "49,84", "12024140000000002"],
        ],
        delimiter=";",
        encoding="cp1251",
    )
    records = read_records(path, load_profile("prosecutor-form"))
    assert [(r.line, r.date, r.article, r.lon, r.lat, r.ref) for r in records] == [
        (2, "01.03.2024", "185", 24.0316, 49.8419, "12024140000000001"),
        (3, "02.03.2024", "ст. 296 ч. 1", 24.03, 49.84, "12024140000000002"),
    ]


def test_title_rows_above_a_csv_header_are_skipped(tmp_path):
    path = write_csv(
        tmp_path / "with-title.csv",
        [
            ["Incidents, Bucha, March 2024"],
            [],
            ["date", "article", "lon", "lat", "ref"],
            ["2024-03-01", "185", *BUCHA_TEXT, "r1"],
        ],
    )
    [record] = read_records(path, load_profile("default"))
    assert (record.line, record.ref, record.lon) == (4, "r1", 30.21)


def test_missing_columns_name_what_is_missing_and_what_was_found(tmp_path):
    path = write_csv(
        tmp_path / "no-coords.csv", [["date", "article", "ref"], ["2024-03-01", "185", "r1"]]
    )
    with pytest.raises(FileRejected) as caught:
        read_records(path, load_profile("default"))
    message = str(caught.value)
    assert message.startswith("no-coords.csv: missing column(s) lon, lat for profile 'default'")
    assert "lon: 'lon'" in message
    assert "found date, article, ref" in message


def test_address_profile_keeps_the_text_and_has_no_coordinates(tmp_path):
    path = write_csv(
        tmp_path / "addresses.csv",
        [
            ["Дата", "Стаття", "Адреса", "Номер ЄРДР"],
            ["2024-03-01", "185", "м. Буча, вул. Вокзальна, 1", "r1"],
            ["2024-03-02", "185", "  ", "r2"],
        ],
    )
    first, second = read_records(path, load_profile("address"))
    assert (first.address, first.lon, first.lat, first.error) == (
        "м. Буча, вул. Вокзальна, 1",
        None,
        None,
        None,
    )
    assert (second.line, second.address, second.error) == (3, "", "no address")


# --- UCS-2000 ----------------------------------------------------------------------------


def test_ucs2000_tm8_lviv_point_comes_back_within_a_metre(tmp_path):
    # Independently: EPSG:6382 is TM zone 8, central meridian 24E, false easting 300 000 m.
    easting, northing = Transformer.from_crs(4326, 6382, always_xy=True).transform(*RYNOK)
    assert 300_000 < easting < 305_000 and 5_520_000 < northing < 5_525_000
    path = write_csv(
        tmp_path / "ucs.csv",
        [
            ["Дата", "Стаття КК", "X", "Y", "ЄРДР"],  # X = northing, Y = easting (as surveyors)
            ["2024-03-01", "185", f"{northing:.2f}", f"{easting:.2f}", "r1"],
            [
                "2024-03-02",
                "185",
                f"{northing:,.2f}".replace(",", " ").replace(".", ","),
                f"{easting:.3f}".replace(".", ","),
                "r2",
            ],
            ["2024-03-03", "185", f"{easting:.2f}", f"{northing:.2f}", "r3"],  # the wrong way round
            ["2024-03-04", "185", "", "", "r4"],
        ],
    )
    first, second, swapped, blank = read_records(path, load_profile("ucs2000-tm8"))
    for record in (first, second):
        assert record.error is None
        assert metres((record.lon, record.lat), RYNOK) < 1.0
    assert (swapped.lon, swapped.lat) == (None, None)
    assert "look swapped" in swapped.error
    assert blank.error == "no easting/northing"


# --- XLSX --------------------------------------------------------------------------------


def prosecutor_workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Форма"
    sheet["A1"] = "Відомості про зареєстровані кримінальні правопорушення, березень 2024"
    sheet.merge_cells("A1:E1")
    sheet["A3"], sheet["B3"], sheet["C3"], sheet["E3"] = (
        "Дата реєстрації",
        "Стаття КК",
        "Місце події",
        "Номер ЄРДР",
    )
    sheet["C4"], sheet["D4"] = "довгота", "широта"
    for cells in ("A3:A4", "B3:B4", "C3:D3", "E3:E4"):
        sheet.merge_cells(cells)
    sheet.append([1, 2, 3, 4, 5])  # row 5: column numbers, as the forms print them
    sheet.append([datetime(2024, 3, 1), 185, 24.0316, 49.8419, "12024140000000001"])  # row 6
    sheet.append([datetime(2024, 3, 2, 14, 30), 185.0, "24,03", "49,84", "12024140000000002"])
    sheet.append([datetime(2024, 3, 3), 185, 24.0, 49.8, 12024140000000003])  # row 8: rounded
    sheet.append([])  # row 9: blank
    sheet.append(["03.03.2024", "ст. 296 ч. 1", None, None, "r10"])  # row 10
    book.save(path)
    return path


def test_prosecutor_xlsx_with_title_and_merged_two_level_header(tmp_path):
    path = prosecutor_workbook(tmp_path / "forma.xlsx")
    records = read_records(path, load_profile("prosecutor-form"))
    assert [(r.line, r.date, r.article, r.ref) for r in records] == [
        (6, "2024-03-01", "185", "12024140000000001"),
        (7, "2024-03-02T14:30", "185", "12024140000000002"),
        (8, "2024-03-03", "185", "12024140000000000"),
        (10, "03.03.2024", "ст. 296 ч. 1", "r10"),
    ]
    assert [(r.lon, r.lat) for r in records[:2]] == [(24.0316, 49.8419), (24.03, 49.84)]
    assert "format the column as text" in records[2].error
    assert records[3].error == "no lon/lat"


def test_the_group_path_of_a_two_level_header_can_be_named(tmp_path):
    folder = tmp_path / "profiles"
    columns = {
        "date": "дата реєстрації",
        "article": "стаття кк",
        "ref": "номер єрдр",
        "lon": "Місце події/Довгота",
        "lat": "МІСЦЕ ПОДІЇ / широта",
    }
    write_profile(
        folder, "paths", "[columns]\n" + "".join(f'{k} = "{v}"\n' for k, v in columns.items())
    )
    path = prosecutor_workbook(tmp_path / "forma.xlsx")
    records = read_records(path, load_profile("paths", folder))
    assert (records[0].lon, records[0].lat) == (24.0316, 49.8419)


def test_xlsx_reads_the_sheet_the_profile_names(tmp_path):
    folder = tmp_path / "profiles"
    write_profile(
        folder,
        "sheet",
        'sheet = "Дані"\n[columns]\ndate="date"\narticle="article"\n'
        'ref="ref"\nlon="lon"\nlat="lat"',
    )
    book = Workbook()
    book.active.title = "Зміст"
    book.active.append(["This workbook lists incidents on the next sheet"])
    data = book.create_sheet("Дані")
    data.append(["date", "article", "lon", "lat", "ref"])
    data.append(["2024-03-01", "185", 30.21, 50.545, "r1"])
    book.save(tmp_path / "two-sheets.xlsx")
    [record] = read_records(tmp_path / "two-sheets.xlsx", load_profile("sheet", folder))
    assert (record.line, record.ref, record.lon) == (2, "r1", 30.21)
    with pytest.raises(FileRejected, match="missing column"):
        read_records(tmp_path / "two-sheets.xlsx", load_profile("default"))  # first sheet


# --- GeoJSON and GeoPackage ----------------------------------------------------------------


def incidents_frame(crs: str) -> gpd.GeoDataFrame:
    utm = Transformer.from_crs(4326, 32635, always_xy=True)
    point = Point(*RYNOK) if crs == "EPSG:4326" else Point(*utm.transform(*RYNOK))
    square = Polygon([(0, 0), (1, 0), (1, 1)])
    return gpd.GeoDataFrame(
        {"date": ["2024-03-01", "2024-03-02", "2024-03-03"], "Article": [185, 186, 187],
         "ref": ["r1", "r2", "r3"]},
        geometry=[point, None, square], crs=crs,
    )  # fmt: skip


def test_geojson_points_give_the_location_and_feature_numbers(tmp_path):
    path = tmp_path / "incidents.geojson"
    incidents_frame("EPSG:4326").to_file(path, driver="GeoJSON")
    first, second, third = read_records(path, load_profile("default"))
    assert [r.line for r in (first, second, third)] == [1, 2, 3]
    assert (first.date, first.article, first.ref, first.error) == ("2024-03-01", "185", "r1", None)
    assert metres((first.lon, first.lat), RYNOK) < 0.01
    assert (second.lon, second.error) == (None, "no point geometry (no geometry)")
    assert third.error == "no point geometry (Polygon)"


def test_geopackage_in_utm_is_reprojected_to_wgs84(tmp_path):
    path = tmp_path / "incidents.gpkg"
    incidents_frame("EPSG:32635").to_file(path, driver="GPKG", layer="incidents")
    first, _, third = read_records(path, load_profile("default"))
    assert first.error is None
    assert metres((first.lon, first.lat), RYNOK) < 0.01
    assert third.error == "no point geometry (Polygon)"


def test_a_layer_without_geometry_is_read_like_a_table(tmp_path):
    path = tmp_path / "table.gpkg"
    frame = pd.DataFrame({"date": ["2024-03-01"], "article": ["185"], "lon": [30.21],
                          "lat": [50.545], "ref": ["r1"]})  # fmt: skip
    pyogrio.write_dataframe(frame, path, layer="incidents", driver="GPKG")
    [record] = read_records(path, load_profile("default"))
    assert (record.line, record.lon, record.lat, record.ref) == (1, 30.21, 50.545, "r1")


def test_a_geometry_only_profile_refuses_a_table(tmp_path):
    folder = tmp_path / "profiles"
    write_profile(folder, "points", '[columns]\ndate="date"\narticle="article"\nref="ref"')
    path = write_csv(tmp_path / "t.csv", [["date", "article", "ref"], ["2024-03-01", "185", "r"]])
    with pytest.raises(FileRejected, match="point geometry"):
        read_records(path, load_profile("points", folder))


# --- files refused as a whole --------------------------------------------------------------


def test_over_the_limit_is_refused_without_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: no disk used

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened")

    profile = load_profile("default")
    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(FileRejected, match=r"^huge\.csv: the file is larger than the 50 MB limit"):
        read_records(path, profile)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "the file is empty"),
        (b" \r\n\r\n", "blank.csv", "the file is empty"),
        (b"date,article,lon,lat,ref\r\n\r\n", "header.csv", "no data rows below the header"),
        (b'{"type": "FeatureCollection", "features": []}', "none.geojson", "no features|readable"),
        (b'{"rows": [1, 2]}', "other.json", "not a readable GeoJSON"),
        (b"\x00\x01\x02binary", "blob.bin", "unknown format"),
        (b"%PDF-1.7\n", "report.pdf", "unknown format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old.xls", r"old Excel \(\.xls\)"),
    ],
)
def test_unusable_files_are_refused_in_plain_words(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=rf"^{name.replace('.', '[.]')}: .*({message})"):
        read_records(path, load_profile("default"))


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(FileRejected, match="not an XLSX workbook"):
        read_records(tmp_path / "photos.zip", load_profile("default"))


def test_an_empty_sheet_is_refused(tmp_path):
    Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(FileRejected, match="is empty"):
        read_records(tmp_path / "empty.xlsx", load_profile("default"))


def test_values_come_out_as_the_importer_parses_them():
    text = incident_files._text
    assert text(185.0) == "185"
    assert text(24.5) == "24.5"
    assert text(datetime(2024, 3, 1)) == "2024-03-01"
    assert text(datetime(2024, 3, 1, 9, 5)) == "2024-03-01T09:05"
    assert text(float("nan")) == ""
    parsed = incident_files._numbers(np.array(["5 523 385,06", "inf", " 24,0316 ", "", "x"],
                                              dtype=object))  # fmt: skip
    assert parsed[0] == 5523385.06
    assert np.isnan(parsed[1]) and np.isnan(parsed[3]) and np.isnan(parsed[4])
    assert math.isclose(parsed[2], 24.0316)


def test_the_fast_csv_path_reads_what_the_row_by_row_path_reads(tmp_path, monkeypatch):
    # Title rows, a row of column numbers, blank lines, decimal commas, a quoted delimiter,
    # ragged short rows and spaces around values: pandas' reader and the csv module agree.
    body = (
        "Звіт про зареєстровані правопорушення;;;;\n"
        "\n"
        "Дата;Стаття;Довгота;Широта;Номер\n"
        "1;2;3;4;5\n"
        "2024-03-01;185;30,2100;50,5450;A-1\n"
        "\n"
        ' 15.03.2024 ;"ст. 296; ч. 1";30.21;50.545;A-2\n'
        ";;;;\n"
        "2024-04-02;126-1;;;A-3\n"
        "2024-04-03;115;x;50.5;A-4\n"
        "2024-04-04;190\n"
    )
    path = tmp_path / "form.csv"
    path.write_text(body, encoding="utf-8")
    profile = incident_files.Profile(
        name="ua", description="", location="lonlat",
        columns={"date": ("Дата",), "article": ("Стаття",), "lon": ("Довгота",),
                 "lat": ("Широта",), "ref": ("Номер",)},
    )  # fmt: skip
    slow_path = incident_files._rows_table
    with monkeypatch.context() as patch:  # the fast path must not fall back here
        patch.setattr(incident_files, "_rows_table", lambda *a, **k: pytest.fail("fell back"))
        fast = incident_files.read_table(path, profile)
    rows = list(incident_files._parse_csv(body, ";"))
    slow = slow_path(path.name, rows, profile)
    assert fast.records() == slow.records()
    assert [r.line for r in fast.records()] == [5, 7, 9, 10, 11]
    first, second, no_place, bad, short = fast.records()
    assert (first.lon, first.lat, second.article, second.date) == (
        30.21,
        50.545,
        "ст. 296; ч. 1",
        "15.03.2024",
    )
    assert no_place.error == "no lon/lat" and bad.error == "unreadable lon/lat ('x', '50.5')"
    assert short.error == "no lon/lat" and short.ref == ""


def test_a_quoted_line_break_keeps_physical_line_numbers(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('date,article,lon,lat,ref\n2024-03-01,185,30.21,50.545,"A\n1"\n'
                    "2024-03-02,185,30.21,50.545,A-2\n", encoding="utf-8")  # fmt: skip
    first, second = read_records(path, load_profile("default"))
    assert (first.line, first.ref, second.line) == (2, "A\n1", 4)


@pytest.mark.parametrize(
    "cells",
    [
        ["185", "186"],  # nothing to strip: returned as they are
        ["185 ", "186"],
        [" 185", "186"],
        ["185", "186\t"],
        ["185", "\x0c186"],
        ["185\r", "186"],
        ["185\xa0", "ст. 186 "],  # non-ASCII: a no-break space is whitespace too
        ["ст. 185 ч. 2", "186"],  # inner spaces stay
    ],
)
def test_cells_are_stripped_exactly_as_str_strip_would(cells):
    got = incident_files._stripped(np.array(cells, dtype=object))
    assert got.tolist() == [c.strip() for c in cells]


@pytest.mark.parametrize("odd", [None, "inf", "1_0", "3,5"])
def test_coordinates_read_as_numbers_give_what_the_text_path_gives(tmp_path, odd):
    """Clean coordinates are read by pandas as floats; any odd cell sends the whole column
    through the text path, which explains that row."""
    lines = ["date,article,lon,lat,ref", "2024-03-01,185,30.2100,50.5450,R1",
             '2024-03-02,186, 30.21 ,5.0545e1,R2', "2024-03-03,296,-0.5,+50.5,R3"]  # fmt: skip
    if odd:
        lines.append(f'2024-03-04,185,"{odd}",50.5,R4')
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    profile = incident_files.load_profile("default")
    fast = incident_files.read_table(path, profile).records()
    slow = incident_files._rows_table(
        path.name, list(incident_files._parse_csv(path.read_text(encoding="utf-8"), ",")), profile
    ).records()
    assert fast == slow
    assert [(r.lon, r.lat) for r in fast[:3]] == [(30.21, 50.545), (30.21, 50.545), (-0.5, 50.5)]
    if odd == "3,5":  # a decimal comma is read, by the text path
        assert (fast[3].lon, fast[3].error) == (3.5, None)
    elif odd:
        assert fast[3].error == f"unreadable lon/lat ('{odd}', '50.5')"
