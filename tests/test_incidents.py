"""Importing incident records: groups from the Criminal Code, one batch per file, bad rows
reported by number and reason, references kept only as keyed hashes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from geoapp.services.incident_groups import known_articles, normalise_article
from geoapp.services.incidents import IncidentFileError, import_file, ref_hash
from tests.conftest import DATA_DIR

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
    assert ref_hash(SECRET, cid, "ЄРДР 12024100000000123") in stored
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
