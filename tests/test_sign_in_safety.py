"""Safe by default: secrets, session lifetimes, the second factor, and limits that hold.

Each test is an attack from the "safe by default" review, run against the real app,
PostgreSQL and Redis: it failed before the fix and passes after.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid

import pyotp
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp import create_app
from geoapp.config import PROJECT_ROOT, ConfigError, check_secret, local_secret_key
from geoapp.models.user import Agency, Role
from geoapp.services import accounts
from geoapp.services.communities import get_by_slug
from tests.conftest import TEST_SECRET, Person, app_config, csrf_from, sign_in


def _person(engine, role: Role = Role.VIEWER, totp: bool = False, slug: str = "bucha") -> Person:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@{slug}.test"
    person = Person(email, f"a long password for {email}", pyotp.random_base32() if totp else None)
    with Session(engine) as sess:
        user = accounts.create_user(sess, email, "Тест", Agency.POLICE, person.password, "test")
        user.totp_secret = person.totp_secret
        accounts.grant(sess, user, get_by_slug(sess, slug), role, "test")
    return person


def _post_login(client, email: str, password: str, code: str = "", addr: str = "127.0.0.1"):
    env = {"REMOTE_ADDR": addr}
    token = csrf_from(client.get("/staff/login", environ_base=env).get_data(as_text=True))
    return client.post(
        "/staff/login",
        environ_base=env,
        data={"email": email, "password": password, "totp": code, "csrf_token": token},
    )


@pytest.fixture()
def limited(database_url):
    """An app with small limits under a prefix of its own (the counters live in Redis)."""
    return create_app(
        app_config(
            database_url,
            GEOAPP_LIMIT_PREFIX=f"safety-{uuid.uuid4().hex}",
            GEOAPP_SIGNIN_LIMIT="3 per 10 minutes",
            GEOAPP_SIGNIN_ADDRESS_LIMIT="5 per 10 minutes",
            GEOAPP_SIGNIN_TOTAL_LIMIT="8 per 10 minutes",
            GEOAPP_ACCOUNT_CHECK_LIMIT="3 per 10 minutes",
            GEOAPP_SUPPORT_LIMIT="2 per day",
        )
    )


# --- the secret ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "dev-only-not-secret", "short-key", "a" * 64])
def test_the_app_refuses_to_start_with_a_guessable_secret(database_url, secret):
    config = app_config(database_url, SECRET_KEY=secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(config)


def test_without_configuration_there_is_no_default_secret(database_url):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "GEOAPP_LOCAL_DEV")}
    run = subprocess.run(
        [sys.executable, "-c", "from geoapp import create_app; create_app()"],
        cwd=PROJECT_ROOT,
        env={**env, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "SECRET_KEY is not set" in run.stderr


def test_local_development_makes_a_secret_once_and_keeps_it(tmp_path):
    first = local_secret_key(tmp_path)
    assert local_secret_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    settings = {"GEOAPP_LOCAL_DEV": True, "SECRET_KEY": None}
    check_secret(settings, tmp_path)
    assert settings["SECRET_KEY"] == first


def test_a_secret_file_others_can_read_is_refused(tmp_path, database_url):
    file = tmp_path / "key"
    file.write_text(TEST_SECRET)
    file.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "GEOAPP_LOCAL_DEV")}
    code = "from geoapp import create_app; create_app(); print('started')"
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        timeout=60,
        env={**env, "DATABASE_URL": database_url, "GEOAPP_SECRET_KEY_FILE": str(file)},
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "chmod 600" in run.stderr
    file.chmod(0o600)
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        timeout=60,
        env={**env, "DATABASE_URL": database_url, "GEOAPP_SECRET_KEY_FILE": str(file)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "started" in run.stdout


# --- session lifetimes -------------------------------------------------------------------


def _age(engine, email: str, column: str, hours: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                f"UPDATE login_session SET {column} = {column} - make_interval(secs => :s) "
                "WHERE user_id = (SELECT id FROM app_user WHERE email = :e)"
            ),
            {"s": hours * 3600, "e": email},
        )


@pytest.mark.parametrize(("column", "hours"), [("last_seen_at", 1.5), ("created_at", 13)])
def test_a_quiet_or_old_session_ends_on_the_server(app, engine, column, hours):
    person = _person(engine)
    client = app.test_client()
    assert sign_in(client, person).status_code == 302
    assert client.get("/staff/").status_code == 200
    _age(engine, person.email, "created_at", min(hours, 1.5))  # any session is this old
    _age(engine, person.email, column, hours - min(hours, 1.5))
    if column == "last_seen_at":
        _age(engine, person.email, "last_seen_at", hours)
    resp = client.get("/staff/")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    with engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT ended_at IS NOT NULL FROM login_session WHERE user_id = "
                "(SELECT id FROM app_user WHERE email = :e)"
            ),
            {"e": person.email},
        ).scalar()
    assert ended


def test_an_active_session_is_kept_alive(app, engine):
    person = _person(engine)
    client = app.test_client()
    sign_in(client, person)
    _age(engine, person.email, "created_at", 0.9)
    _age(engine, person.email, "last_seen_at", 0.9)
    assert client.get("/staff/").status_code == 200  # touched: the idle clock starts again
    _age(engine, person.email, "last_seen_at", 0.5)
    assert client.get("/staff/").status_code == 200


# --- the second factor -------------------------------------------------------------------


def test_coordinators_must_enrol_a_second_factor_analysts_need_not(app, engine):
    coordinator, analyst = _person(engine, Role.COORDINATOR), _person(engine, Role.ANALYST)
    client = app.test_client()
    sign_in(client, coordinator)
    resp = client.get("/staff/c/bucha/concerns/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/totp")
    other = app.test_client()
    sign_in(other, analyst)
    assert other.get("/staff/c/bucha/").status_code == 200


def test_the_pending_secret_stays_on_the_server_and_enrolment_asks_the_password(app, engine):
    person = _person(engine, Role.COORDINATOR)
    client = app.test_client()
    sign_in(client, person)
    page = client.get("/staff/totp").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    cookie = client.get_cookie("session").value
    decoded = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert secret not in repr(decoded) and secret not in cookie
    assert client.get("/staff/totp").get_data(as_text=True).count(secret) >= 1  # same secret
    token = csrf_from(page)
    code = pyotp.TOTP(secret).now()
    wrong = client.post(
        "/staff/totp", data={"code": code, "password": "not my password", "csrf_token": token}
    )
    assert wrong.status_code == 400 and "Неправильний пароль" in wrong.get_data(as_text=True)
    with engine.connect() as conn:
        enrolled = conn.execute(
            text("SELECT totp_secret FROM app_user WHERE email = :e"), {"e": person.email}
        ).scalar()
    assert enrolled is None
    right = client.post(
        "/staff/totp", data={"code": code, "password": person.password, "csrf_token": token}
    )
    assert right.status_code == 302
    assert client.get("/staff/c/bucha/concerns/").status_code == 200


def test_a_code_is_accepted_once(app, engine):
    person = _person(engine, Role.ANALYST, totp=True)
    code = pyotp.TOTP(person.totp_secret).now()
    first = app.test_client()
    assert _post_login(first, person.email, person.password, code).status_code == 302
    replay = app.test_client()
    assert _post_login(replay, person.email, person.password, code).status_code == 401


def test_reset_2fa_from_the_command_line(app, engine, database_url):
    person = _person(engine, Role.COORDINATOR, totp=True)
    client = app.test_client()
    assert sign_in(client, person).status_code == 302
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    env.pop("GEOAPP_LOCAL_DEV", None)
    run = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "geoapp"), "users", "reset-2fa", person.email],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert client.get("/staff/").status_code == 302  # the session ended
    again = app.test_client()
    assert _post_login(again, person.email, person.password).status_code == 302  # no code now
    resp = again.get("/staff/c/bucha/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/totp")


# --- limits ------------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_account_across_addresses(limited, engine):
    person = _person(engine)
    client = limited.test_client()
    statuses = [
        _post_login(client, person.email, f"guess {i}", addr=f"127.0.1.{i}").status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 401]
    assert _post_login(client, person.email, person.password, addr="127.0.1.9").status_code == 429


def test_failed_sign_ins_are_limited_per_address_across_accounts(limited, engine):
    client = limited.test_client()
    addr = "127.0.2.7"
    statuses = [
        _post_login(client, f"spray{i}@bucha.test", "Password1!", addr=addr).status_code
        for i in range(5)
    ]
    assert statuses == [401] * 5
    assert _post_login(client, "spray9@bucha.test", "Password1!", addr=addr).status_code == 429
    person = _person(engine)  # someone else, elsewhere, is not locked out
    assert _post_login(client, person.email, person.password, addr="127.0.2.8").status_code == 302


def test_failed_sign_ins_are_limited_in_total(limited):
    client = limited.test_client()
    statuses = [
        _post_login(client, f"bot{i}@bucha.test", "x" * 12, addr=f"127.0.3.{i}").status_code
        for i in range(9)
    ]
    assert statuses[:8] == [401] * 8 and statuses[8] == 429


def test_the_current_password_check_is_limited(limited, engine):
    person = _person(engine)
    client = limited.test_client()
    assert sign_in(client, person).status_code == 302
    page = client.get("/staff/password").get_data(as_text=True)
    data = {
        "current": "wrong guess",
        "new": "a new long password",
        "confirm": "a new long password",
        "csrf_token": csrf_from(page),
    }
    statuses = [client.post("/staff/password", data=data).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    data["current"] = person.password
    assert client.post("/staff/password", data=data).status_code == 429


def test_enrolment_codes_are_limited(limited, engine):
    person = _person(engine, Role.COORDINATOR)
    client = limited.test_client()
    sign_in(client, person)
    token = csrf_from(client.get("/staff/totp").get_data(as_text=True))
    data = {"code": "000000", "password": person.password, "csrf_token": token}
    statuses = [client.post("/staff/totp", data=data).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_repeated_failures_are_one_audit_event_and_a_count(app, engine):
    email = f"typo-{uuid.uuid4().hex[:6]}@bucha.test"
    client = app.test_client()
    for _ in range(5):  # the account's limit
        assert _post_login(client, email, "wrong wrong", addr="127.0.4.1").status_code == 401
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE actor = :e"), {"e": email}
        ).scalar()
        count = conn.execute(
            text("SELECT sum(count) FROM sign_in_failure_tally WHERE email = :e"), {"e": email}
        ).scalar()
    assert events == 1 and count == 5


def test_an_admin_sees_only_the_sign_ins_of_her_own_people(app, engine, staff):
    stranger = _person(engine, Role.VIEWER, slug="bolhrad")
    typo = f"mistyped-{uuid.uuid4().hex[:6]}@bucha.test"
    visitor = app.test_client()
    assert sign_in(visitor, stranger).status_code == 302
    _post_login(visitor, typo, "wrong wrong")
    mine = _person(engine, Role.VIEWER)
    assert sign_in(app.test_client(), mine).status_code == 302
    admin = app.test_client()
    sign_in(admin, staff["admin"])
    page = admin.get("/staff/audit?action=sign_in").get_data(as_text=True)
    assert mine.email in page
    assert stranger.email not in page and typo not in page


def test_me_too_cannot_be_inflated_with_fresh_tokens(limited, staff):
    client = limited.test_client()
    body = {
        "category": "poor_lighting",
        "lon": 30.2152,
        "lat": 50.5481,
        "client_token": uuid.uuid4().hex,
        "description": "Темно біля зупинки",
    }
    public_id = client.post("/api/v1/communities/bucha/concerns", json=body).get_json()["public_id"]
    coordinator = limited.test_client()
    sign_in(coordinator, staff["coordinator"])
    page = coordinator.get(f"/staff/c/bucha/concerns/{public_id}").get_data(as_text=True)
    coordinator.post(
        f"/staff/c/bucha/concerns/{public_id}/status",
        data={"csrf_token": csrf_from(page), "to": "accepted", "answer": ""},
    )
    url = f"/api/v1/communities/bucha/concerns/{public_id}/support"
    answers = [
        client.post(
            url, json={"client_token": uuid.uuid4().hex}, environ_base={"REMOTE_ADDR": "127.0.5.1"}
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]
    assert answers[1].get_json()["support_count"] == 2
    other = client.post(
        url, json={"client_token": uuid.uuid4().hex}, environ_base={"REMOTE_ADDR": "127.0.5.2"}
    )
    assert other.get_json()["support_count"] == 3


def test_serve_refuses_several_workers_without_a_shared_limit_store(database_url):
    env = {k: v for k, v in os.environ.items() if k not in ("GEOAPP_LOCAL_DEV", "REDIS_URL")}
    env.update(DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET)
    run = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "geoapp"), "serve", "--workers", "3", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "REDIS_URL" in run.stderr
