"""Web imports as background jobs: the form queues, a real RQ worker imports, the analyst
follows a status page; jobs wait for a worker, keep to their time limit, stay in their
community, and an upload's name is never a path."""

from __future__ import annotations

import io
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.serializers import JSONSerializer
from sqlalchemy import text

from geoapp import jobs
from tests.conftest import UPLOAD_DIR, csrf_from, sign_in, worker_environment
from tests.helpers import forget_imports

PAGE = "/staff/c/bucha/incidents/"
IN_BUCHA = "30.2100,50.5450"
CSV = "\n".join([
    "date,article,lon,lat,ref",
    f"2025-03-01,185,{IN_BUCHA},J1",
    f"2025-03-02,ст. 296 ч. 1,{IN_BUCHA},J2",
    f"2025-03-03,999,{IN_BUCHA},J3",
]).encode()  # fmt: skip
JOB_URL = re.compile(r"^/staff/c/bucha/incidents/jobs/([0-9a-f]{32})$")


@pytest.fixture()
def job_queue(app):
    """This run's queue, empty before and after the test (so no job outlives its test)."""
    queue = jobs.queue(app.config)

    def clear() -> None:
        queue.empty()
        for path in stored_uploads():  # the uploads of jobs never run
            path.unlink()

    clear()
    yield queue
    clear()


@pytest.fixture()
def analyst(app, staff, engine, job_queue):
    client = app.test_client()
    sign_in(client, staff["analyst"])
    yield client
    forget_imports(engine, "bucha")


def upload(client, body: bytes = CSV, name: str = "export.csv", **fields) -> str:
    """Send the form; check it answers 303 to a job page; return the job's id."""
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    data = {"csrf_token": token, "profile": "default", "file": (io.BytesIO(body), name), **fields}
    resp = client.post(PAGE, data=data, content_type="multipart/form-data")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    found = JOB_URL.match(resp.headers["Location"])
    assert found, resp.headers["Location"]
    return found[1]


def run_jobs(app) -> bool:
    """A real RQ worker (in this process) works through the queue, then returns."""
    return jobs.work(app, burst=True, simple=True)


def status(client, job_id: str, slug: str = "bucha"):
    return client.get(f"/staff/c/{slug}/incidents/jobs/{job_id}/status")


def batches(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT b.file_name, b.accepted, b.rejected, "
            "(SELECT count(*) FROM incident i WHERE i.batch_id = b.id) "
            "FROM import_batch b JOIN community c ON c.id = b.community_id "
            "WHERE c.slug = 'bucha' AND b.actor = 'analyst@bucha.test' "
            "ORDER BY b.id")).all()  # fmt: skip


def stored_uploads() -> list[Path]:
    return sorted(UPLOAD_DIR.iterdir()) if UPLOAD_DIR.exists() else []


def test_an_upload_is_queued_then_imported_by_the_worker(app, analyst, engine, job_queue):
    job_id = upload(analyst)
    page = analyst.get(f"{PAGE}jobs/{job_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<progress id="job-progress"' in html and "Очікування служби імпорту" in html
    assert '<noscript><meta http-equiv="refresh"' in html  # no JavaScript: it reloads itself
    assert "/static/js/import_job.js" in html and "<script>" not in html  # CSP: no inline
    assert status(analyst, job_id).get_json()["status"] == "queued"
    assert batches(engine) == []  # nothing imported by the request itself
    [stored] = stored_uploads()  # the upload waits under our name, readable by us only
    assert stored.name == f"{job_id}.csv"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(UPLOAD_DIR.stat().st_mode) == 0o700

    assert run_jobs(app)
    done = status(analyst, job_id).get_json()
    assert done["status"] == "finished" and done["done"] is True
    assert done["stage"] == "counting" and done["fraction"] == 0.8  # progress was reported
    with engine.connect() as conn:
        batch_id = conn.scalar(text("SELECT max(id) FROM import_batch"))
    resp = analyst.get(f"{PAGE}jobs/{job_id}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"?batch={batch_id}")
    html = analyst.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Імпортовано 2 правопорушення" in html and "1 рядок відхилено" in html
    assert batches(engine) == [("export.csv", 2, 1, 2)]
    assert stored_uploads() == []  # deleted once imported


def test_a_job_waits_for_a_worker_started_later_in_its_own_process(
    app, analyst, engine, database_url, job_queue
):
    job_id = upload(analyst)
    time.sleep(1)
    assert status(analyst, job_id).get_json()["status"] == "queued"  # no worker: it waits
    geoapp = Path(sys.executable).with_name("geoapp")
    run = subprocess.run([str(geoapp), "worker", "--burst"], env=worker_environment(database_url),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert status(analyst, job_id).get_json()["status"] == "finished"
    assert batches(engine) == [("export.csv", 2, 1, 2)]
    assert stored_uploads() == []


def test_a_job_over_its_time_limit_fails_with_a_message_and_its_file_is_removed(
    app, analyst, engine, monkeypatch, job_queue
):
    monkeypatch.setitem(app.config, "GEOAPP_IMPORT_TIMEOUT", 1)
    job_id = upload(analyst)
    assert len(stored_uploads()) == 1
    with engine.connect() as conn:  # another import of Bucha holds the community's turn
        cid = conn.scalar(text("SELECT id FROM community WHERE slug = 'bucha'"))
        conn.execute(text("SELECT pg_advisory_lock(7001, :c)"), {"c": cid})
        started = time.monotonic()
        run_jobs(app)
        elapsed = time.monotonic() - started
        conn.execute(text("SELECT pg_advisory_unlock(7001, :c)"), {"c": cid})
    assert elapsed < 30
    ended = status(analyst, job_id).get_json()
    assert ended["status"] == "failed" and ended["stage"] == "waiting"  # for the other import
    page = analyst.get(f"{PAGE}jobs/{job_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "перевищив свій ліміт часу (1 хв) і був зупинений; нічого не імпортовано" in html
    assert batches(engine) == []
    assert stored_uploads() == []


def test_a_viewer_and_a_stranger_cannot_see_a_job(app, analyst, staff, job_queue):
    job_id = upload(analyst)
    viewer = app.test_client()
    sign_in(viewer, staff["viewer"])
    assert viewer.get(f"{PAGE}jobs/{job_id}").status_code == 403
    assert status(viewer, job_id).status_code == 403
    olena = app.test_client()  # coordinator of Bolhrad and Lviv, not of Bucha
    sign_in(olena, staff["olena"])
    assert olena.get(f"{PAGE}jobs/{job_id}").status_code == 404
    assert olena.get(f"/staff/c/bolhrad/incidents/jobs/{job_id}").status_code == 404
    assert status(olena, job_id, slug="bolhrad").status_code == 404
    for other in ("0" * 32, "f" * 32, "not-a-job", "rq:queue:geoapp"):
        assert analyst.get(f"{PAGE}jobs/{other}").status_code == 404
        assert status(analyst, other).status_code == 404


CYRILLIC = "Звіт_про_зареєстровані_кримінальні_правопорушення_" * 3
HOSTILE_NAMES = [
    ("..", "upload"),
    ("../../etc/passwd", "passwd"),
    (CYRILLIC[:146] + ".csv", CYRILLIC[:146] + ".csv"),  # 150 characters, 277 bytes
    ("й" * 300 + ".csv", "й" * 195 + "….csv"),
]


@pytest.mark.parametrize(("name", "shown"), HOSTILE_NAMES)
def test_an_upload_name_is_only_a_display_name(app, analyst, engine, job_queue, name, shown):
    outside = Path("/etc/passwd").stat().st_mtime
    job_id = upload(analyst, name=name)
    [stored] = stored_uploads()
    assert stored.parent == UPLOAD_DIR and re.fullmatch(rf"{job_id}\.(csv|dat)", stored.name)
    run_jobs(app)
    assert status(analyst, job_id).get_json()["status"] == "finished"
    assert batches(engine) == [(shown, 2, 1, 2)]
    assert stored_uploads() == []
    assert Path("/etc/passwd").stat().st_mtime == outside


def test_without_a_job_service_the_form_says_so_and_stores_nothing(
    app, analyst, engine, monkeypatch
):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for url in (None, f"redis://127.0.0.1:{port}/0"):
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        token = csrf_from(analyst.get(PAGE).get_data(as_text=True))
        resp = analyst.post(PAGE, data={"csrf_token": token, "profile": "default",
                                        "file": (io.BytesIO(CSV), "export.csv")},
                            content_type="multipart/form-data")  # fmt: skip
        html = resp.get_data(as_text=True)
        assert resp.status_code == 503
        assert "Служба імпорту зараз недоступна; нічого не імпортовано" in html
        assert stored_uploads() == []
        assert analyst.get(f"{PAGE}jobs/{'a' * 32}").status_code == 503
    assert batches(engine) == []


def test_jobs_are_json_not_pickles(app, analyst, job_queue):
    job_id = upload(analyst, name="ф.csv")
    raw = jobs.connection(app.config).hget(f"rq:job:{job_id}", "data")
    payload = JSONSerializer.loads(__import__("zlib").decompress(raw))
    assert payload[0] == jobs.IMPORT_FUNC and payload[3]["name"] == "ф.csv"


def _workers(app) -> list:
    from rq import Worker

    return Worker.all(queue=jobs.queue(app.config))


def _wait(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_serve_runs_a_worker_restarts_it_and_stops_it_on_ctrl_c(app, database_url, job_queue):
    import os
    import signal

    from tests.helpers import free_port, wait_until_healthy

    port = free_port()
    geoapp = Path(sys.executable).with_name("geoapp")
    serve = subprocess.Popen(
        [str(geoapp), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=worker_environment(database_url),
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", 60)
        _wait(lambda: len(_workers(app)) == 1)
        first = _workers(app)[0].pid
        os.kill(first, signal.SIGKILL)  # the worker crashes: serve starts another
        _wait(lambda: [w.pid for w in _workers(app) if w.pid != first])
        second = next(w.pid for w in _workers(app) if w.pid != first)
        serve.send_signal(signal.SIGINT)  # Ctrl-C: both stop
        assert serve.wait(60) == 0
        _wait(lambda: not _process_alive(second), 30)
    finally:
        if serve.poll() is None:
            serve.kill()
        for worker in _workers(app):  # a killed worker's registration stays in Redis
            worker.register_death()


def _process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
