"""Importing incident records: groups from the Criminal Code, one batch per file, bad rows
reported by number and reason, references kept only as keyed hashes."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from geoapp.services.incident_groups import known_articles, normalise_article
from geoapp.services.incidents import IncidentFileError, import_file, ref_hash, ref_hashes
from tests.conftest import DATA_DIR
from tests.test_geocoding import bucha_gazetteer  # noqa: F401 - a shared fixture

SECRET = "test-secret"
IN_BUCHA = ("30.2100", "50.5450")


def write(
    path: Path,
    rows: list[list[str]],
    header=("date", "article", "lon", "lat", "ref"),
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(session, path: Path, **kwargs):
    cid = session.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
    return cid, import_file(session, path, cid, SECRET, str(DATA_DIR), actor="test", **kwargs)


@pytest.mark.parametrize(
    ("written", "article"),
    [
        ("185", "185"),
        ("ст. 185 ч. 2", "185"),
        ("185-2", "185"),
        ("126-1", "126-1"),
        ("Ст.126-1", "126-1"),
        ("286-1", "286-1"),
        ("стаття 190", "190"),
        ("999", None),
        ("крадіжка", None),
    ],
)
def test_articles_are_read_the_ways_they_are_written(written, article):
    assert normalise_article(written, known_articles(str(DATA_DIR))) == article


def test_groups_and_chapters(db_session):
    rows = dict(
        db_session.execute(
            text("SELECT code, cc_chapter FROM category WHERE domain = 'incident'")
        ).all()
    )
    assert len([c for c in rows if c.startswith("chapter_")]) == 20
    assert rows["theft"] == "VI" and rows["domestic_violence"] == "II"
    assert rows["drugs"] == "XIII" and rows["hooliganism"] == "XII"


def test_a_clean_file_is_one_batch_and_refs_are_hashed(db_session, tmp_path):
    path = write(
        tmp_path / "ok.csv",
        [
            ["2024-03-01", "185", *IN_BUCHA, "ЄРДР 12024100000000123"],
            ["15.03.2024", "ст. 296 ч. 1", *IN_BUCHA, "ЄРДР 12024100000000124"],
            ["2024-04-02", "126-1", *IN_BUCHA, "ЄРДР 12024100000000125"],
            ["2024-04-03", "115", *IN_BUCHA, "ЄРДР 12024100000000126"],
            ["2024-04-04", "201-1", *IN_BUCHA, "ЄРДР 12024100000000127"],
        ],
    )
    cid, report = run(db_session, path)
    assert (report.accepted, report.rejected) == (5, [])
    groups = db_session.execute(
        text(
            "SELECT i.article, c.code FROM incident i JOIN category c ON c.id = i.category_id "
            "WHERE i.batch_id = :b ORDER BY i.article"
        ),
        {"b": report.batch_id},
    ).all()
    assert dict(groups) == {
        "115": "murder",
        "126-1": "domestic_violence",
        "185": "theft",
        "201-1": "chapter_vii",
        "296": "hooliganism",
    }
    stored = " ".join(str(r) for r in db_session.execute(text("SELECT * FROM incident")))
    assert "12024100000000123" not in stored
    hashes = set(db_session.scalars(text("SELECT ref_hash FROM incident")))
    assert ref_hash(SECRET, cid, "ЄРДР 12024100000000123") in hashes
    again = run(db_session, path)[1]
    assert again.accepted == 0 and {why for _n, why in again.rejected} == {"already imported"}
    audit = db_session.scalar(
        text(
            "SELECT details FROM audit_event WHERE action = 'incidents.import' AND object_id = :b"
        ),
        {"b": str(report.batch_id)},
    )
    assert audit["accepted"] == 5 and len(audit["sha256"]) == 64


def test_bad_rows_are_reported_and_strict_imports_nothing(db_session, tmp_path):
    path = write(
        tmp_path / "mixed.csv",
        [
            ["2024-03-01", "185", *IN_BUCHA, "A-1"],
            ["2024-02-30", "185", *IN_BUCHA, "A-2"],
            ["2099-01-01", "185", *IN_BUCHA, "A-3"],
            ["2024-03-01", "999", *IN_BUCHA, "A-4"],
            ["2024-03-01", "185", "50.5450", "30.2100", "A-5"],
            ["2024-03-01", "185", "24.03", "49.84", "A-6"],
            ["2024-03-01", "185", *IN_BUCHA, "A-1"],
            ["2024-03-01", "185", *IN_BUCHA, ""],
        ],
    )
    with pytest.raises(IncidentFileError, match="nothing was imported") as err:
        run(db_session, path, strict=True)
    assert len(err.value.report.rejected) == 7
    assert db_session.scalar(text("SELECT count(*) FROM incident")) == 0
    _cid, report = run(db_session, path)
    reasons = dict(report.rejected)
    assert report.accepted == 1
    assert "not understood" in reasons[3] and "not understood" in reasons[4]
    assert "no article" in reasons[5] and "swapped" in reasons[6]
    assert reasons[7] == "outside the community" and reasons[8] == "the same reference as row 2"
    assert reasons[9] == "no source reference"
    assert report.rejection_csv().splitlines()[0] == "row,reason"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"date,article\n2024-01-01,185\n", "missing column"),
        (b"date,article,lon,lat,ref\n", "no data rows"),
    ],
)
def test_unusable_files_import_nothing(db_session, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(IncidentFileError, match=message):
        run(db_session, path)
    assert db_session.scalar(text("SELECT count(*) FROM incident")) == 0


def test_cp1251_with_semicolons(db_session, tmp_path):
    path = write(
        tmp_path / "cp.csv",
        [["01.05.2024", "ст. 185 ч. 1", "30,2100", "50,5450", "Справа №1"]],
        encoding="cp1251",
        delimiter=";",
    )
    assert run(db_session, path)[1].accepted == 1


def test_a_prosecutor_form_workbook_imports_with_its_spreadsheet_row_numbers(db_session, tmp_path):
    """Title row, merged two-level header, a row of column numbers, Bucha coordinates."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["A1"] = "Відомості про зареєстровані кримінальні правопорушення, березень 2024"
    sheet["A3"], sheet["B3"], sheet["C3"], sheet["E3"] = (
        "Дата реєстрації", "Стаття КК", "Місце події", "Номер ЄРДР")  # fmt: skip
    sheet["C4"], sheet["D4"] = "довгота", "широта"
    for cells in ("A1:E1", "A3:A4", "B3:B4", "C3:D3", "E3:E4"):
        sheet.merge_cells(cells)
    sheet.append([1, 2, 3, 4, 5])
    sheet.append([datetime(2024, 3, 1), 185, 30.2100, 50.5450, "12024100000000001"])  # row 6
    sheet.append([datetime(2024, 3, 2), "ст. 296 ч. 1", 30.2110, 50.5460, "12024100000000002"])
    sheet.append([datetime(2024, 3, 3), 185, 24.0316, 49.8419, "12024100000000003"])  # Lviv
    path = tmp_path / "форма.xlsx"
    book.save(path)
    _cid, report = run(db_session, path, profile="prosecutor-form")
    assert report.accepted == 2
    assert report.rejected == [(8, "outside the community")]


def test_ucs2000_coordinates_land_where_they_should(db_session, tmp_path):
    from pyproj import Transformer

    # EPSG:6384 lists northing first: x = northing, y = easting, as the profile reads them.
    northing, easting = Transformer.from_crs(4326, 6384).transform(50.5450, 30.2100)
    path = write(tmp_path / "ucs.csv", [["2024-05-01", "185", f"{northing:.2f}",
                                         f"{easting:.2f}", "U-1"]],
                 header=("дата", "стаття", "x", "y", "ref"))  # fmt: skip
    cid, report = run(db_session, path, profile="ucs2000-tm10")
    assert (report.accepted, report.rejected) == (1, [])
    metres = db_session.scalar(text(
        "SELECT ST_Distance(point::geography, ST_MakePoint(30.21, 50.545)::geography) "
        "FROM incident WHERE community_id = :c"), {"c": cid})  # fmt: skip
    assert metres < 1.0


@pytest.mark.usefixtures("bucha_gazetteer")
def test_rows_located_by_address_go_through_the_gazetteer(db_session, tmp_path):
    path = write(tmp_path / "addresses.csv", [
        ["2024-05-01", "185", "вул. Вокзальна 46", "A-1"],
        ["2024-05-02", "185", "Вокзальна 47", "A-2"],  # between 46 and 48: interpolated
        ["2024-05-03", "185", "вул. Вокзальна", "A-3"],  # a street alone is too vague
        ["2024-05-04", "185", "вул. Неіснуюча 1", "A-4"],
    ], header=("date", "article", "address", "ref"))  # fmt: skip
    _cid, report = run(db_session, path, profile="address")
    assert report.accepted == 2
    assert [n for n, _why in report.rejected] == [4, 5]
    assert all("not found in the gazetteer" in why for _n, why in report.rejected)


def test_references_are_checked_per_statement(db_session, tmp_path):
    """The triggers that replaced the foreign keys refuse what the keys refused."""
    from psycopg.errors import ForeignKeyViolation
    from sqlalchemy.exc import IntegrityError

    cid, report = run(db_session, write(tmp_path / "one.csv",
                                        [["2024-03-01", "185", *IN_BUCHA, "R-1"]]))  # fmt: skip
    other = db_session.scalar(text("SELECT id FROM community WHERE slug = 'bolhrad'"))
    category = db_session.scalar(text("SELECT category_id FROM incident WHERE batch_id = :b"),
                                 {"b": report.batch_id})  # fmt: skip
    insert = text(
        "INSERT INTO incident (community_id, category_id, article, occurred_on, point, "
        "ref_hash, batch_id) VALUES (:c, :cat, '185', '2024-03-01', "
        "ST_SetSRID(ST_MakePoint(30.21, 50.545), 4326), :h, :b)"
    )
    bad = [
        {"c": other, "cat": category, "h": "x1", "b": report.batch_id},  # batch of bucha
        {"c": cid, "cat": category, "h": "x2", "b": 999_999},  # no such batch
        {"c": cid, "cat": 999_999, "h": "x3", "b": report.batch_id},  # no such category
    ]
    for values in bad:
        with pytest.raises(IntegrityError) as caught:
            db_session.execute(insert, values)
        assert isinstance(caught.value.orig, ForeignKeyViolation)
        db_session.rollback()
    with pytest.raises(IntegrityError):
        db_session.execute(text("DELETE FROM category WHERE id = :c"), {"c": category})
    db_session.rollback()
    db_session.execute(text("DELETE FROM import_batch WHERE id = :b"), {"b": report.batch_id})
    left = db_session.scalar(text("SELECT count(*) FROM incident WHERE batch_id = :b"),
                             {"b": report.batch_id})  # fmt: skip
    assert left == 0
    db_session.rollback()


@pytest.mark.parametrize("secret", ["short", "k" * 64, "a much longer secret " * 5])
def test_the_reference_hash_is_hmac_sha256(secret):
    """The hash written out by hand is the standard HMAC (keys of any length)."""
    import hmac

    refs = ["ЄРДР 12024100000000123", " B0000001 ", ""]
    expected = [hmac.new(secret.encode(), f"7:{r.strip()}".encode(), "sha256").digest()
                for r in refs]  # fmt: skip
    assert ref_hashes(secret, 7, refs) == expected


def test_every_value_is_stored_as_the_file_gives_it(db_session, tmp_path):
    """The binary COPY writes each row's date, article, point, hash, batch and community.

    Articles of different lengths go in separate runs and the points in Z-order, so the
    rows are written out of the file's order: each must still carry its own values.
    """
    lines = [
        ["2024-03-01", "185", "30.2100", "50.5450", "R-1"],
        ["29.02.2024", "126-1", "30.2312", "50.5511", "R-2"],
        ["2025-12-31", "296", "30.1987", "50.5402", "R-3"],
        ["2000-01-01", "286-1", "30.2234", "50.5378", "R-4"],
        ["1999-12-31", "185", "30.2100", "50.5450", "R-5"],  # refused: before 2000
        ["2024-07-04", "115", "30.2051", "50.5563", "R-6"],
    ]
    cid, report = run(db_session, write(tmp_path / "values.csv", lines))
    assert report.accepted == 5 and [n for n, _ in report.rejected] == [6]
    stored = db_session.execute(
        text("SELECT ref_hash, CAST(occurred_on AS text), article, ST_X(point), ST_Y(point), "
             "ST_SRID(point), batch_id, community_id FROM incident WHERE batch_id = :b"),
        {"b": report.batch_id},
    ).all()  # fmt: skip
    by_hash = {bytes(r[0]): tuple(r[1:]) for r in stored}
    expected = {
        ref_hash(SECRET, cid, "R-1"): ("2024-03-01", "185", 30.21, 50.545),
        ref_hash(SECRET, cid, "R-2"): ("2024-02-29", "126-1", 30.2312, 50.5511),
        ref_hash(SECRET, cid, "R-3"): ("2025-12-31", "296", 30.1987, 50.5402),
        ref_hash(SECRET, cid, "R-4"): ("2000-01-01", "286-1", 30.2234, 50.5378),
        ref_hash(SECRET, cid, "R-6"): ("2024-07-04", "115", 30.2051, 50.5563),
    }
    assert {h: v[:4] for h, v in by_hash.items()} == expected
    assert {v[4:] for v in by_hash.values()} == {(4326, report.batch_id, cid)}


def test_a_second_file_adds_its_new_records_under_their_own_hashes(db_session, tmp_path):
    """With incidents already there the references are hashed before the COPY (to find
    repeats); the new rows must carry the hash of their reference, not of anything else."""
    first = write(tmp_path / "a.csv", [["2024-03-01", "185", *IN_BUCHA, "S-1"]])
    cid, _report = run(db_session, first)
    second = write(tmp_path / "b.csv", [["2024-03-01", "185", *IN_BUCHA, "S-1"],
                                        ["2024-03-05", "186", *IN_BUCHA, "S-2"]])  # fmt: skip
    report = run(db_session, second)[1]
    assert report.accepted == 1 and report.rejected == [(2, "already imported")]
    stored = db_session.scalars(text("SELECT ref_hash FROM incident WHERE batch_id = :b"),
                                {"b": report.batch_id}).all()  # fmt: skip
    assert [bytes(h) for h in stored] == [ref_hash(SECRET, cid, "S-2")]
