"""Residents submit at once: 200 reports from parallel clients against the app served by
gunicorn on loopback, a tenth of them retried with the same client token.  Every
acknowledged report must be stored exactly once."""

from __future__ import annotations

import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from geoapp.config import PROJECT_ROOT
from tests.helpers import free_port, wait_until_healthy

pytestmark = pytest.mark.slow
SUBMISSIONS = 200


@pytest.fixture()
def gunicorn(database_url):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GEOAPP_LOCAL_DEV": "1",
        "GEOAPP_REPORT_LIMIT": "100000 per hour",
        "REDIS_URL": "",
        "SECRET_KEY": "load-test",
    }
    proc = subprocess.Popen(
        [
            str(PROJECT_ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            "3",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "geoapp.wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base)
    yield base
    proc.terminate()
    proc.wait(timeout=15)


def test_parallel_submissions_with_retries_are_stored_exactly_once(gunicorn, engine):
    run = uuid.uuid4().hex[:8]
    tokens = [f"load{run}{i:04d}" for i in range(SUBMISSIONS)]
    retried = tokens[::10]  # a tenth are sent twice, as a phone on a bad line would
    jobs = tokens + retried

    def submit(token: str) -> tuple[str, int]:
        body = {
            "category": "poor_lighting",
            "lon": 30.21,
            "lat": 50.545,
            "client_token": token,
            "description": f"навантаження {token}",
        }
        with requests.Session() as http:
            resp = http.post(f"{gunicorn}/api/v1/communities/bucha/concerns", json=body, timeout=30)
        return token, resp.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(submit, jobs))
    acknowledged = {t for t, status in results if status in (200, 201)}
    assert all(status in (200, 201) for _t, status in results), results
    assert acknowledged == set(tokens)
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT client_token, count(*) FROM concern WHERE client_token LIKE :p "
                "GROUP BY client_token"
            ),
            {"p": f"load{run}%"},
        ).all()
    counts = dict(stored)
    assert set(counts) == acknowledged and set(counts.values()) == {1}
    created = sum(1 for _t, status in results if status == 201)
    assert created == SUBMISSIONS  # every retry answered 200 with the first result
