"""Sign-in throttling holds across processes: two servers, one limit, kept in Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import redis
import requests

from geoapp.config import PROJECT_ROOT
from tests.conftest import REDIS_URL, csrf_from
from tests.helpers import free_port, wait_until_healthy

LIMIT = 3
ADDRESS_LIMIT = 6


@pytest.fixture()
def two_servers(database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "GEOAPP_LIMIT_PREFIX": f"throttle-{uuid.uuid4().hex}",
        "GEOAPP_LOCAL_DEV": "1",
        "GEOAPP_SIGNIN_LIMIT": f"{LIMIT} per 10 minutes",
        "GEOAPP_SIGNIN_ADDRESS_LIMIT": f"{ADDRESS_LIMIT} per 10 minutes",
        "SECRET_KEY": "throttle-test",
    }
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.serve_app", str(p)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    for url in urls:
        wait_until_healthy(url)
    yield urls, env["GEOAPP_LIMIT_PREFIX"]
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def _attempt(base: str, email: str, password: str) -> int:
    with requests.Session() as http:
        token = csrf_from(http.get(f"{base}/staff/login", timeout=5).text)
        resp = http.post(
            f"{base}/staff/login",
            timeout=5,
            allow_redirects=False,
            data={"email": email, "password": password, "csrf_token": token},
        )
        return resp.status_code


def test_failed_sign_ins_are_limited_across_two_processes(two_servers, staff):
    (a, b), _prefix = two_servers
    victim = staff["viewer"].email
    statuses = [_attempt([a, b][i % 2], victim, f"guess {i}") for i in range(LIMIT)]
    assert statuses == [401] * LIMIT
    assert _attempt(b if LIMIT % 2 else a, victim, "one more guess") == 429
    assert _attempt(a, victim, staff["viewer"].password) == 429  # refused even when right
    assert _attempt(a, staff["analyst"].email, "wrong") == 401  # another account is not locked


def test_spraying_many_accounts_from_one_address_is_limited_across_two_processes(two_servers):
    (a, b), prefix = two_servers
    statuses = [_attempt([a, b][i % 2], f"sprayed{i}@bucha.test", "Summer2026!")
                for i in range(ADDRESS_LIMIT)]  # fmt: skip
    assert statuses == [401] * ADDRESS_LIMIT  # each account failed once: no account limit hit
    assert _attempt(a, "sprayed-next@bucha.test", "Summer2026!") == 429
    assert _attempt(b, "sprayed-other@bucha.test", "Summer2026!") == 429

    # The counters count the address without keeping it (a Redis snapshot holds the keys).
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"*{prefix}*")]
    assert any("|address|" in k for k in keys), keys
    assert not any("127.0.0.1" in k for k in keys), keys
