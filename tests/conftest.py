"""Fixtures: a PostGIS database per test run, a transaction per test, a live server.

The database is real (PostGIS on the server in DATABASE_URL, in a database of
its own named geoapp_test_<pid>), the pilot communities are loaded once and
committed; tests that write use `db_session`, whose work is rolled back.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from geoapp import create_app
from geoapp.config import DEFAULT_DATABASE_URL, default_data_dir, normalise_database_url
from geoapp.db import check_postgis, make_engine
from geoapp.geo.katotth import load_codifier
from geoapp.migrate import upgrade
from geoapp.models.user import Agency, Role
from geoapp.services import accounts
from geoapp.services.categories import sync_defaults
from geoapp.services.communities import get_by_slug
from geoapp.services.contact_keys import generate_key_file
from geoapp.services.incident_groups import sync_groups
from geoapp.services.pilot import load_pilot

DATA_DIR = default_data_dir()
OSM_DIR = DATA_DIR / "boundaries" / "ukraine-osm"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this run, migrated to head; dropped afterwards."""
    base = make_url(normalise_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)))
    name = f"geoapp_test_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    _CODES["url"] = url
    engine = make_engine(url)
    check_postgis(engine)
    upgrade(url)
    with Session(engine) as sess:
        load_pilot(sess, str(OSM_DIR), Path("/nonexistent"))
        sync_defaults(sess)
        sync_groups(sess)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_SECRET = secrets.token_urlsafe(48)
_CODES: dict[str, object] = {}


def _forget_used_code(email: str) -> None:
    """Let a test sign the same person in again within one 30-second TOTP step.

    The app accepts each time step once (a replayed code is refused); a person waits
    for the next code, a test that signs in twice a second cannot, so the marker of the
    last used step is cleared first.  tests/test_auth.py checks the refusal itself.
    """
    if "engine" not in _CODES:
        _CODES["engine"] = make_engine(str(_CODES["url"]))
    with _CODES["engine"].begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            text("UPDATE app_user SET totp_last_step = NULL WHERE email = :e"), {"e": email}
        )


LIMIT_PREFIX = f"geoapp-test-{os.getpid()}"
# Background jobs of this run: their own queue (parallel runs share the Redis) and uploads.
JOB_QUEUE = f"geoapp-test-{os.getpid()}"
UPLOAD_DIR = Path(tempfile.gettempdir()) / f"geoapp-test-uploads-{os.getpid()}"


@functools.cache
def contact_key_file() -> Path:
    """This run's contact key file (mode 600, in a private temporary folder, removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="geoapp-contact-keys-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "contact-keys"
    generate_key_file(path)
    return path


def app_config(database_url: str, **extra: object) -> dict[str, object]:
    """Settings for an app under test: its own database, Redis limits under a run prefix."""
    return {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "GEOAPP_LIMIT_PREFIX": LIMIT_PREFIX,
        "SESSION_COOKIE_SECURE": False,
        "GEOAPP_REPORT_LIMIT": "100000 per hour",  # tests submit from one address
        "GEOAPP_SUPPORT_LIMIT": "100000 per hour",
        "GEOAPP_SIGNIN_ADDRESS_LIMIT": "100000 per hour",  # every test signs in from 127.0.0.1
        "GEOAPP_SIGNIN_TOTAL_LIMIT": "100000 per hour",
        "GEOAPP_JOB_QUEUE": JOB_QUEUE,
        "GEOAPP_UPLOAD_DIR": str(UPLOAD_DIR),
        "GEOAPP_CONTACT_KEY_FILE": str(contact_key_file()),
        "GEOAPP_CONTACT_KEYS": None,
        "GEOAPP_CONTACT_DEV_KEY_FILE": None,
        **extra,
    }


def worker_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `geoapp worker` process serving this run's app (same secret)."""
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
            "SECRET_KEY": TEST_SECRET, "GEOAPP_JOB_QUEUE": JOB_QUEUE,
            "GEOAPP_UPLOAD_DIR": str(UPLOAD_DIR), "PYTHONPATH": str(Path(__file__).parent.parent),
            **extra}  # fmt: skip


@pytest.fixture(scope="module")
def job_worker(database_url: str) -> Iterator[subprocess.Popen]:
    """A real `geoapp worker` process on this run's queue, for the live server's imports.

    Per module: elsewhere tests run the queue themselves and want no second worker.
    """
    geoapp = Path(sys.executable).with_name("geoapp")
    proc = subprocess.Popen([str(geoapp), "worker"], env=worker_environment(database_url))
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def app(database_url: str):
    built = create_app(app_config(database_url))
    yield built
    _drop_job_queue(built.config)
    shutil.rmtree(UPLOAD_DIR, ignore_errors=True)


def _drop_job_queue(config) -> None:
    """Leave nothing of this run's queue in the shared Redis: its jobs, results, registries."""
    from geoapp import jobs

    queue = jobs.queue(config)
    conn = queue.connection
    registries = (queue.finished_job_registry, queue.failed_job_registry,
                  queue.started_job_registry, queue.canceled_job_registry)  # fmt: skip
    for registry in registries:
        for job_id in registry.get_job_ids():
            conn.delete(f"rq:job:{job_id}", f"rq:results:{job_id}")
    queue.delete(delete_jobs=True)
    leftover = conn.keys(f"rq:*{JOB_QUEUE}*")
    if leftover:
        conn.delete(*leftover)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def db_session(engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    Services call commit(); here that only releases a savepoint.
    """
    conn = engine.connect()
    outer = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        conn.close()


@pytest.fixture(scope="session")
def codifier() -> dict[str, tuple[str, str]]:
    return load_codifier(str(DATA_DIR))


@dataclass(frozen=True)
class Person:
    """A staff member the tests sign in as."""

    email: str
    password: str
    totp_secret: str | None = None

    def code(self) -> str:
        if not self.totp_secret:
            return ""
        _forget_used_code(self.email)
        return pyotp.TOTP(self.totp_secret).now()


OWN, OTHER = "bucha", "bolhrad"


@pytest.fixture(scope="session")
def staff(engine) -> dict[str, Person]:
    """One member of Bucha per role (coordinator and admin with TOTP, as they must have),
    and a coordinator of two others."""
    people: dict[str, Person] = {}
    with Session(engine) as sess:
        bucha = get_by_slug(sess, OWN)
        for role in Role:
            person = Person(
                f"{role.value}@bucha.test",
                f"correct horse {role.value} battery",
                pyotp.random_base32() if role.rank >= Role.COORDINATOR.rank else None,
            )
            user = accounts.create_user(
                sess,
                person.email,
                f"Test {role.value}",
                Agency.PROSECUTOR,
                person.password,
                actor="test",
            )
            user.totp_secret = person.totp_secret
            accounts.grant(sess, user, bucha, role, actor="test")
            people[role.value] = person
        olena = Person("olena@lviv.test", "Olena's long passphrase", pyotp.random_base32())
        user = accounts.create_user(
            sess, olena.email, "Олена Коваль", Agency.PROSECUTOR, olena.password, actor="test"
        )
        user.totp_secret = olena.totp_secret
        for slug in ("lviv-halytskyi", OTHER):
            accounts.grant(sess, user, get_by_slug(sess, slug), Role.COORDINATOR, actor="test")
        people["olena"] = olena
    return people


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1) or found.group(2)


def sign_in(client, person: Person, password: str | None = None):
    """Sign in through the real form (CSRF token and all); return the response."""
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    return client.post(
        "/staff/login",
        data={
            "email": person.email,
            "password": password or person.password,
            "totp": person.code(),
            "csrf_token": token,
        },
    )


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The app served over HTTP on a free loopback port, for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium with the flags this machine's closed network needs."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }
