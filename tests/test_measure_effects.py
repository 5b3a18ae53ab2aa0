"""A measure's evaluation on constructed data with a known answer, on real PostGIS.

In Bolhrad, around a 400 m square: offences drop in the target (40 -> 10), rise in the
buffer ring (10 -> 20) and stay flat in the rest of the community (200 -> 200), so
SM = -0.15, BDM = +0.05, WDQ = -1/3: displacement smaller than the gain.  Concerns drop
in the target (4 -> 1), none around it, flat elsewhere (10 -> 10): WDQ = 0.  The page
says so in Ukrainian, with the chart.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.models.measure import Measure
from geoapp.services import measure_effects, measures
from geoapp.services.communities import get_by_slug
from geoapp.services.concerns import Report, report_concern
from geoapp.services.incidents import import_file
from tests.conftest import DATA_DIR, sign_in

START = date(2025, 7, 1)


def _points(rng, centre, r_low, r_high, n):
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = rng.uniform(r_low, r_high, n)
    return centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle)


@pytest.fixture(scope="module")
def constructed(engine, app, staff, tmp_path_factory):
    rng = np.random.default_rng(5)
    with Session(engine) as sess:
        bolhrad = get_by_slug(sess, "bolhrad")
        srid = bolhrad.metric_srid
        to_metric = Transformer.from_crs(4326, srid, always_xy=True)
        area = shapely.transform(
            shapely.from_wkb(bytes(bolhrad.geom.data)),
            lambda xy: np.column_stack(to_metric.transform(*xy.T)),
        )
        centre = shapely.point_on_surface(area)
        assert area.contains(centre.buffer(700)), "the target must lie well inside Bolhrad"
        c = (centre.x, centre.y)
        rows = []  # (x, y, date)

        def add(xs, ys, month_from, month_to):
            months = rng.integers(month_from, month_to + 1, len(xs))
            for x, y, m in zip(xs, ys, months, strict=True):
                rows.append((x, y, date(2025, int(m), 1 + int(rng.integers(0, 28)))))

        add(*_points(rng, c, 0, 120, 40), 1, 6)  # target before
        add(*_points(rng, c, 0, 120, 10), 7, 12)  # target after
        add(*_points(rng, c, 380, 420, 10), 1, 6)  # buffer before
        add(*_points(rng, c, 380, 420, 20), 7, 12)  # buffer after
        minx, miny, maxx, maxy = area.bounds
        far_x, far_y = [], []
        while len(far_x) < 400:
            x, y = rng.uniform(minx, maxx, 2000), rng.uniform(miny, maxy, 2000)
            keep = shapely.contains_xy(area, x, y) & (np.hypot(x - c[0], y - c[1]) > 1500)
            far_x.extend(x[keep].tolist())
            far_y.extend(y[keep].tolist())
        add(np.array(far_x[:200]), np.array(far_y[:200]), 1, 6)  # control before
        add(np.array(far_x[200:399]), np.array(far_y[200:399]), 7, 12)  # control after
        rows.append((far_x[399], far_y[399], date(2025, 12, 31)))  # the data's last day
        lon, lat = to_metric.transform([r[0] for r in rows], [r[1] for r in rows],
                                       direction="INVERSE")  # fmt: skip
        lines = ["date,article,lon,lat,ref"]
        for k, row in enumerate(rows):
            lines.append(f"{row[2].isoformat()},185,{lon[k]:.6f},{lat[k]:.6f},E-{k}")
        path = tmp_path_factory.mktemp("effect") / "constructed.csv"
        path.write_text("\n".join(lines), encoding="utf-8")
        report = import_file(sess, path, bolhrad.id, app.config["SECRET_KEY"], str(DATA_DIR),
                             actor="test")  # fmt: skip
        assert report.accepted == len(rows), report.rejected[:5]

        # Concerns: 4 before and 1 after in the target, 10 and 10 far away.
        concerns = [(c, "2025-03-10")] * 4 + [(c, "2025-09-10")]
        concerns += [((far_x[k], far_y[k]), "2025-03-10") for k in range(10)]
        concerns += [((far_x[200 + k], far_y[200 + k]), "2025-09-10") for k in range(10)]
        for n, ((x, y), day) in enumerate(concerns):
            plon, plat = to_metric.transform(x + n, y, direction="INVERSE")
            report_concern(sess, bolhrad, Report(category="vandalism", lon=plon, lat=plat,
                                                 client_token=f"effect-{n:04d}"))  # fmt: skip
            sess.execute(
                text(
                    "UPDATE concern SET status = 'accepted', created_at = :d "
                    "WHERE client_token = :t"
                ),
                {"d": day, "t": f"effect-{n:04d}"},
            )
        sess.commit()

        half = 200.0
        square = shapely.box(c[0] - half, c[1] - half, c[0] + half, c[1] + half)
        ring = np.asarray(square.exterior.coords)
        slon, slat = to_metric.transform(ring[:, 0], ring[:, 1], direction="INVERSE")
        drawn = json.dumps({"type": "Polygon", "coordinates": [list(zip(slon, slat, strict=True))]})
        draft = measures.MeasureDraft(title="Освітлення площі", kind="lighting",
                                      agency="Болградська міська рада", owner="Іван Петренко",
                                      start_on=START.isoformat(), target_geojson=drawn)  # fmt: skip
        actor = sess.scalar(text("SELECT id FROM app_user WHERE email = :e"),
                            {"e": staff["olena"].email})  # fmt: skip
        measure = measures.create(sess, bolhrad, measures.validate(sess, bolhrad, draft), actor)
        public_id, community_id = measure.public_id, bolhrad.id
    yield public_id
    with Session(engine) as sess:
        sess.execute(text("DELETE FROM measure WHERE community_id = :c"), {"c": community_id})
        sess.execute(text("DELETE FROM concern WHERE client_token LIKE 'effect-%'"))
        for table in ("incident_cell", "incident", "import_batch"):
            sess.execute(text(f"DELETE FROM {table} WHERE community_id = :c"), {"c": community_id})
        sess.commit()


def _measure(sess: Session, public_id: str) -> Measure:
    return sess.query(Measure).filter_by(public_id=public_id).one()


def test_the_known_answer_on_constructed_data(engine, constructed):
    with Session(engine) as sess:
        result = measure_effects.effect(sess, _measure(sess, constructed), today=date(2026, 1, 15))
    assert isinstance(result, measure_effects.Effect)
    assert result.after == (START, date(2025, 12, 31))
    assert result.days == 184 and result.before == (date(2024, 12, 29), date(2025, 6, 30))
    inc = result.incidents
    assert (inc.target.before, inc.target.after) == (40, 10)
    assert (inc.buffer.before, inc.buffer.after) == (10, 20)
    assert (inc.control.before, inc.control.after) == (200, 200)
    assert inc.success == pytest.approx(-0.15)
    assert inc.buffer_displacement == pytest.approx(0.05)
    assert inc.wdq == pytest.approx(-1 / 3)
    assert inc.verdict == "displacement_less_than_gain"
    assert inc.odds_ratio == pytest.approx(4.0)
    con = result.concerns
    assert (con.target.before, con.target.after, con.buffer.before, con.buffer.after) == (
        4,
        1,
        0,
        0,
    )
    assert (con.control.before, con.control.after) == (10, 10)
    assert con.verdict == "no_displacement" and con.wdq == 0
    # The chart's months add up to the windows' counts, and the dashed line is the
    # target's before-share (40/200) of the control, month by month.
    assert sum(result.series["target"]) == 50 and sum(result.series["buffer"]) == 30
    assert result.months[0] == date(2024, 12, 1) and result.months[-1] == date(2025, 12, 1)
    assert result.expected == [round(v * 40 / 200, 2) for v in result.series["control"]]


def test_nothing_to_evaluate_is_said_why(engine, constructed):
    with Session(engine) as sess:
        measure = _measure(sess, constructed)
        assert measure_effects.effect(sess, measure, today=date(2025, 6, 1)).reason == "not_started"
        measure.start_on = None
        assert measure_effects.effect(sess, measure).reason == "no_start"
        measure.target = None
        assert measure_effects.effect(sess, measure).reason == "no_target"
        sess.rollback()


def test_the_measure_page_gives_the_verdict_in_ukrainian(app, staff, constructed):
    client = app.test_client()
    assert sign_in(client, staff["olena"]).status_code == 302
    page = client.get(f"/staff/c/bolhrad/measures/{constructed}").get_data(as_text=True)
    assert 'data-verdict="displacement_less_than_gain"' in page
    assert "частина випадків, імовірно, перемістилася" in page
    assert "Зважений коефіцієнт зміщення: -0,33." in page
    assert "<svg" in page and "polyline" in page
    assert 'data-area="target"' in page
