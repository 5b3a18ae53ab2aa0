"""The analyst's upload form: imports through the page (the form queues a job, a real
worker runs it, the job's page shows the report), reports in Ukrainian, refuses cleanly,
and offers the rejected rows for download."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import text

from geoapp import jobs
from tests.conftest import csrf_from, sign_in
from tests.helpers import forget_imports

PAGE = "/staff/c/bucha/incidents/"
IN_BUCHA = "30.2100,50.5450"


@pytest.fixture()
def analyst(app, staff, engine):
    jobs.queue(app.config).empty()
    client = app.test_client()
    sign_in(client, staff["analyst"])
    yield client
    forget_imports(engine, "bucha")


def send(client, body: bytes, name: str = "export.csv", **fields):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    data = {"csrf_token": token, "profile": "default", "file": (io.BytesIO(body), name), **fields}
    return client.post(PAGE, data=data, content_type="multipart/form-data")


def post(client, body: bytes, name: str = "export.csv", **fields):
    """Send the form, let a real worker run the queued import, and open the job's page."""
    resp = send(client, body, name, **fields)
    assert resp.status_code == 303 and "/incidents/jobs/" in resp.headers["Location"]
    jobs.work(client.application, burst=True, simple=True)
    assert client.get(resp.headers["Location"] + "/status").get_json()["done"]
    return client.get(resp.headers["Location"], follow_redirects=True)


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM incident"))


def test_an_analyst_imports_through_the_page(analyst, engine):
    rows = [
        "date,article,lon,lat,ref",
        f"2025-03-01,185,{IN_BUCHA},A1",
        f"2025-03-02,ст. 296 ч. 1,{IN_BUCHA},A2",
        f"2025-03-03,999,{IN_BUCHA},A3",
    ]
    body = "\n".join(rows).encode()
    resp = post(analyst, body)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Імпортовано 2 правопорушення" in html and "1 рядок відхилено" in html
    assert "«999» — не стаття Кримінального кодексу" in html
    assert count(engine) == 2
    batch = re.search(r'data-batch="(\d+)"', html)[1]
    assert resp.request.args["batch"] == batch  # the finished job led to its batch
    csv = analyst.get(f"{PAGE}batches/{batch}/rejections.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).lstrip("\ufeff").splitlines() == [
        "row,reason", "4,'999' is no article of the Criminal Code"]  # fmt: skip
    # The page after the progress bar's redirect shows the same report from the batch.
    again = analyst.get(PAGE, query_string={"batch": batch}).get_data(as_text=True)
    assert "Імпортовано 2 правопорушення" in again


def test_a_file_with_missing_columns_is_refused_in_ukrainian_and_changes_nothing(analyst, engine):
    resp = post(analyst, b"date,article\n2025-01-01,185\n")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200  # the job's page: the job ran, the file was refused
    assert "export.csv: для вибраного профілю бракує стовпців" in html
    assert 'aria-invalid="true"' in html
    assert count(engine) == 0


def test_all_or_nothing_refuses_a_file_with_one_bad_row(analyst, engine):
    rows = [
        "date,article,lon,lat,ref",
        f"2025-03-01,185,{IN_BUCHA},B1",
        f"31.02.2025,185,{IN_BUCHA},B2",
    ]
    body = "\n".join(rows).encode()
    resp = post(analyst, body, strict="on")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "у режимі «все або нічого» нічого не імпортовано" in html
    assert "дата «31.02.2025» незрозуміла" in html
    assert 'download="rejections.csv" href="data:text/csv' in html
    assert 'name="strict" checked' in html  # the form keeps what was chosen
    assert count(engine) == 0


def test_a_viewer_may_not_import_and_another_community_is_unknown(app, staff, engine):
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    assert viewer.get(PAGE).status_code == 403
    olena = app.test_client()
    sign_in(olena, staff["olena"])
    assert olena.get(PAGE).status_code == 404


def test_a_form_without_a_file_or_profile_is_refused_at_once(analyst):
    token = csrf_from(analyst.get(PAGE).get_data(as_text=True))
    resp = analyst.post(PAGE, data={"csrf_token": token, "profile": "default"})
    assert resp.status_code == 400 and "Виберіть файл для імпорту." in resp.get_data(as_text=True)
    resp = send(analyst, b"date\n", profile="../../etc")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Виберіть профіль імпорту зі списку." in html


def test_a_file_far_over_the_limit_is_refused_with_a_message(analyst, engine):
    resp = send(analyst, b"date,article,lon,lat,ref\n" + b"x" * (61 * 2**20))
    assert resp.status_code == 413
    assert "Файл завеликий" in resp.get_data(as_text=True)
    assert count(engine) == 0
