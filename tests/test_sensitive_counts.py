"""Sensitive category counts (issue 18, attack 3, second half): k and frozen quarterly releases.

Counted live and published with no threshold, the counts of sensitive concerns (drugs,
suspicious activity) said `n: 1`, and each change dated one acceptance.  Checked here as
the public sees them: the anonymous concerns layer's metadata and the public map page.

* a count 0 < n < k is never published: null and `suppressed: true`, "менше 10" on the page;
* a quarter still open, or closed less than GEOAPP_SENSITIVE_RELEASE_LAG_DAYS ago, is not
  published at all;
* once a quarter is published, accepting one more concern reported in it changes nothing
  the public sees (the differencing attack).

The service tests run inside a rolled-back transaction with the day given; the public
ones commit concerns reported in the last quarter now due (real today) in Bolhrad and
remove them, and the releases they caused, afterwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geoapp.layers.sources import concerns as concern_source
from geoapp.services import sensitive_counts
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern
from geoapp.services.sensitive_counts import Quarter, due_quarters, published

SLUG = "bolhrad"
TOKEN = "sensitive-counts-"
LAG = 30


# --- The decisions, pure -------------------------------------------------------------------


@given(st.integers(0, 10_000), st.integers(1, 50))
def test_a_count_below_k_is_never_shown(n, k):
    shown, suppressed = published(n, k)
    assert suppressed == (0 < n < k)
    assert shown == (None if 0 < n < k else n)


@pytest.mark.parametrize("today, due", [
    (date(2025, 3, 31), []),  # Q1 still open
    (date(2025, 4, 30), []),  # closed 1 April, 29 days ago: within the lag
    (date(2025, 5, 1), ["2025-Q1"]),  # 30 days after it closed
    (date(2026, 2, 1), ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]),  # Q4 + 31 days
])  # fmt: skip
def test_a_quarter_is_due_once_closed_and_past_the_lag(today, due):
    assert [q.label for q in due_quarters(date(2025, 2, 14), today, LAG)] == due
    assert due_quarters(None, today, LAG) == []


def test_quarters_have_their_calendar_days():
    q4 = Quarter.of(date(2025, 12, 31))
    assert (q4.label, q4.start, q4.stop) == ("2025-Q4", date(2025, 10, 1), date(2026, 1, 1))
    assert Quarter.of(date(2025, 1, 1)).label == "2025-Q1"


# --- Releases on real PostGIS ----------------------------------------------------------------


def _inside(sess: Session) -> tuple[float, float]:
    """A lon/lat well inside Bolhrad."""
    community = get_by_slug(sess, SLUG)
    to_metric = Transformer.from_crs(4326, community.metric_srid, always_xy=True)
    area = shapely.transform(shapely.from_wkb(bytes(community.geom.data)),
                             lambda xy: np.column_stack(to_metric.transform(*xy.T)))  # fmt: skip
    centre = shapely.get_point(shapely.maximum_inscribed_circle(area, 10.0), 0)
    lon, lat = to_metric.transform(centre.x, centre.y, direction="INVERSE")
    return float(lon), float(lat)


def _report(sess: Session, category: str, reported: datetime, status: str, token: str) -> None:
    """A concern of `category` reported at `reported` (Kyiv), in `status`."""
    community = get_by_slug(sess, SLUG)
    lon, lat = _inside(sess)
    report_concern(sess, community, Report(category=category, lon=lon, lat=lat,
                                           client_token=token))  # fmt: skip
    sess.execute(text("UPDATE concern SET status = :s, created_at = :d WHERE client_token = :t"),
                 {"s": status, "d": reported, "t": token})  # fmt: skip


KYIV = ZoneInfo("Europe/Kyiv")


def test_one_concern_is_published_as_fewer_than_k(db_session):
    bolhrad = get_by_slug(db_session, SLUG)
    _report(db_session, "drugs", datetime(2019, 8, 5, 12, tzinfo=KYIV), "accepted", f"{TOKEN}one")
    for n in range(10):
        _report(db_session, "suspicious_activity", datetime(2019, 9, 30, 23, 30, tzinfo=KYIV),
                "resolved", f"{TOKEN}ten-{n}")  # fmt: skip
    _report(db_session, "drugs", datetime(2019, 7, 1, 0, 5, tzinfo=KYIV), "rejected",
            f"{TOKEN}rejected")  # fmt: skip
    (q3,) = [r for r in sensitive_counts.releases(db_session, bolhrad.id, 10, LAG,
                                                  today=date(2019, 11, 15))
             if r.quarter.label == "2019-Q3"]  # fmt: skip
    counts = {c.code: (c.n, c.suppressed) for c in q3.counts}
    assert counts["drugs"] == (None, True)  # one accepted (the rejected one is not counted)
    assert counts["suspicious_activity"] == (10, False)  # reported 23:30 Kyiv on 30 Sep
    public = concern_source.sensitive_counts(db_session, bolhrad.id, 10, LAG)
    assert all(c["n"] is None or c["n"] == 0 or c["n"] >= 10
               for q in public for c in q["counts"])  # fmt: skip


def test_an_open_quarter_or_one_within_the_lag_is_not_published(db_session):
    bolhrad = get_by_slug(db_session, SLUG)
    for n in range(12):
        _report(db_session, "drugs", datetime(2019, 8, 5, tzinfo=KYIV), "accepted",
                f"{TOKEN}lag-{n}")  # fmt: skip

    def labels(today: date) -> list[str]:
        return [r.quarter.label for r in sensitive_counts.releases(
            db_session, bolhrad.id, 10, LAG, today=today)]  # fmt: skip

    assert "2019-Q3" not in labels(date(2019, 9, 30))  # still open
    assert "2019-Q3" not in labels(date(2019, 10, 30))  # closed 29 days ago
    assert db_session.scalar(text("SELECT count(*) FROM sensitive_release "
                                  "WHERE community_id = :c AND quarter_start = '2019-07-01'"),
                             {"c": bolhrad.id}) == 0  # fmt: skip
    assert "2019-Q3" in labels(date(2019, 10, 31))
    assert "2019-Q4" not in labels(date(2019, 10, 31))


def test_a_release_is_frozen_in_the_database(db_session):
    bolhrad = get_by_slug(db_session, SLUG)
    _report(db_session, "drugs", datetime(2019, 8, 5, tzinfo=KYIV), "accepted", f"{TOKEN}fz")
    sensitive_counts.releases(db_session, bolhrad.id, 10, LAG, today=date(2019, 11, 15))
    with pytest.raises(DBAPIError, match="frozen"), db_session.begin_nested():
        db_session.execute(text("UPDATE sensitive_release_count SET n = n + 1 "
                                "WHERE community_id = :c"), {"c": bolhrad.id})  # fmt: skip


# --- What the public sees: the anonymous API and the map page ------------------------------


def _last_due_quarter(today: date) -> Quarter:
    """The newest quarter that closed at least LAG days before `today`."""
    quarter = Quarter.of(today)
    while quarter.stop + timedelta(days=LAG) > today:
        quarter = Quarter(quarter.year - 1, 4) if quarter.number == 1 else Quarter(
            quarter.year, quarter.number - 1)  # fmt: skip
    return quarter


@pytest.fixture(scope="module")
def reported_last_quarter(engine, app):
    """One accepted drugs concern and ten accepted suspicious-activity ones, all committed,
    reported in the last quarter now due; removed with the releases afterwards."""
    assert app.config.get("GEOAPP_SENSITIVE_RELEASE_LAG_DAYS", LAG) == LAG  # the default
    quarter = _last_due_quarter(datetime.now(KYIV).date())
    middle = datetime.combine(quarter.start + timedelta(days=40), datetime.min.time(), KYIV)
    with Session(engine) as sess:
        _report(sess, "drugs", middle, "accepted", f"{TOKEN}pub-drugs")
        for n in range(10):
            _report(sess, "suspicious_activity", middle, "in_progress", f"{TOKEN}pub-{n}")
        community_id = get_by_slug(sess, SLUG).id
        sess.commit()
    yield quarter
    with Session(engine) as sess:
        sess.execute(text("DELETE FROM sensitive_release WHERE community_id = :c"),
                     {"c": community_id})  # fmt: skip
        sess.execute(text("DELETE FROM concern WHERE client_token LIKE :t"), {"t": TOKEN + "%"})
        sess.commit()


def _published(client) -> list[dict]:
    body = client.get(f"/api/v1/communities/{SLUG}/layers/concerns.geojson").get_json()
    return body["metadata"]["sensitive_counts"]


def _counts_anywhere(value) -> list[int]:
    """Every "n" in the metadata, whatever its shape (the attacker reads them all)."""
    if isinstance(value, dict):
        own = [value["n"]] if isinstance(value.get("n"), int) else []
        return own + [n for v in value.values() for n in _counts_anywhere(v)]
    if isinstance(value, list):
        return [n for v in value for n in _counts_anywhere(v)]
    return []


def test_the_public_never_gets_a_count_of_one(client, reported_last_quarter):
    published_counts = _counts_anywhere(_published(client))
    assert [n for n in published_counts if 0 < n < 10] == [], "a count below k was published"
    quarters = {q["quarter"]: q for q in _published(client)}
    assert reported_last_quarter.label in quarters
    counts = {c["code"]: c for c in quarters[reported_last_quarter.label]["counts"]}
    assert counts["drugs"]["n"] is None and counts["drugs"]["suppressed"] is True
    assert counts["suspicious_activity"]["n"] == 10
    assert all(c["n"] in (None, 0) or c["n"] >= 10 for q in quarters.values() for c in q["counts"])
    page = client.get(f"/c/{SLUG}").get_data(as_text=True)
    assert "Продаж або вживання наркотиків: менше 10" in page
    assert "Підозріла діяльність: 10" in page
    roman = ("I", "II", "III", "IV")[reported_last_quarter.number - 1]
    assert f"{roman} квартал {reported_last_quarter.year}" in page


def test_accepting_one_more_concern_of_a_published_quarter_changes_nothing(
    client, engine, reported_last_quarter
):
    """The differencing attack: read, wait for one acceptance, read again."""
    quarter = reported_last_quarter
    late = datetime.combine(quarter.start + timedelta(days=50), datetime.min.time(), KYIV)
    with Session(engine) as sess:
        _report(sess, "suspicious_activity", late, "new", f"{TOKEN}pub-late")
        sess.commit()
    before = _published(client)
    page_before = client.get(f"/c/{SLUG}").get_data(as_text=True)
    with Session(engine) as sess:  # staff accept it, after the quarter was published
        sess.execute(text("UPDATE concern SET status = 'accepted' WHERE client_token = :t"),
                     {"t": f"{TOKEN}pub-late"})  # fmt: skip
        sess.commit()
    after = _published(client)
    assert after == before, "a published quarter changed: the change dates one acceptance"
    page_after = client.get(f"/c/{SLUG}").get_data(as_text=True)
    assert _sensitive_paragraph(page_after) == _sensitive_paragraph(page_before)


def _sensitive_paragraph(page: str) -> str:
    start = page.index('class="muted sensitive-counts"')
    return page[start : page.index("</p>", start)]
