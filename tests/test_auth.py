"""Sign-in, sessions, second factor, passwords, CSRF and the audit trail."""

from __future__ import annotations

import logging
import re

import pyotp
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geoapp.models.user import Agency, Role, User
from geoapp.services import accounts, tokens
from geoapp.services.communities import get_by_slug
from tests.conftest import Person, csrf_from, sign_in


def _new_person(engine, email: str, role: Role = Role.VIEWER, totp: bool = False) -> Person:
    person = Person(email, f"a long password for {email}", pyotp.random_base32() if totp else None)
    with Session(engine) as sess:
        user = accounts.create_user(sess, email, "Тест", Agency.POLICE, person.password, "test")
        user.totp_secret = person.totp_secret
        accounts.grant(sess, user, get_by_slug(sess, "bucha"), role, "test")
    return person


def _events(engine, action: str, actor: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT action, actor, client_addr, details FROM audit_event "
                "WHERE action = :a AND actor = :w ORDER BY id"
            ),
            {"a": action, "w": actor},
        ).all()


def test_sign_in_rotates_the_session_and_sign_out_kills_the_old_cookie(app, engine):
    person = _new_person(engine, "rotate@bucha.test")
    client = app.test_client()
    client.get("/staff/login")
    before = client.get_cookie("session").value
    assert sign_in(client, person).status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    assert client.get("/staff/").status_code == 200
    token = csrf_from(client.get("/staff/").get_data(as_text=True))
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", after)
    resp = thief.get("/staff/")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    assert _events(engine, "sign_in.success", person.email)[0].client_addr is not None
    assert len(_events(engine, "sign_out", person.email)) == 1


def test_wrong_password_is_refused_and_audited(app, engine):
    person = _new_person(engine, "wrong@bucha.test")
    client = app.test_client()
    resp = sign_in(client, person, password="not the password at all")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401
    assert "Неправильна електронна пошта або пароль" in html
    assert 'value="wrong@bucha.test"' in html  # the form keeps what was typed
    assert client.get("/staff/").status_code == 302
    (event,) = _events(engine, "sign_in.failure", person.email)
    assert event.details == {"reason": "credentials"}


def test_second_factor_is_required_where_set(app, engine):
    person = _new_person(engine, "totp@bucha.test", totp=True)
    client = app.test_client()
    no_code = Person(person.email, person.password, None)
    assert sign_in(client, no_code).status_code == 401
    assert sign_in(client, person).status_code == 302


def test_admins_must_enrol_totp_before_anything_else(app, engine):
    person = _new_person(engine, "newadmin@bucha.test", role=Role.ADMIN)
    client = app.test_client()
    assert sign_in(client, person).status_code == 302
    resp = client.get("/staff/c/bucha/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/totp")
    page = client.get("/staff/totp").get_data(as_text=True)
    leaving = app.test_client()  # may sign out without enrolling
    sign_in(leaving, person)
    token = csrf_from(leaving.get("/staff/totp").get_data(as_text=True))
    out = leaving.post("/staff/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.headers["Location"].endswith("/staff/login")
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    token = csrf_from(page)
    wrong = {"code": "000000", "password": person.password, "csrf_token": token}
    assert client.post("/staff/totp", data=wrong).status_code == 400
    code = pyotp.TOTP(secret).now()
    right = {"code": code, "password": person.password, "csrf_token": token}
    assert client.post("/staff/totp", data=right).status_code == 302
    assert client.get("/staff/c/bucha/").status_code == 200


def test_disabling_an_account_ends_its_sessions(app, engine):
    person = _new_person(engine, "disable@bucha.test")
    client = app.test_client()
    sign_in(client, person)
    assert client.get("/staff/").status_code == 200
    with Session(engine) as sess:
        accounts.disable(sess, accounts.user_by_email(sess, person.email), "test")
    assert client.get("/staff/").status_code == 302
    assert sign_in(app.test_client(), person).status_code == 401


def test_password_change_keeps_this_session_and_ends_others(app, engine):
    person = _new_person(engine, "pw@bucha.test")
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, person)
    sign_in(elsewhere, person)
    form = here.get("/staff/password").get_data(as_text=True)
    short = here.post(
        "/staff/password",
        data={
            "current": person.password,
            "new": "short",
            "confirm": "short",
            "csrf_token": csrf_from(form),
        },
    )
    assert short.status_code == 400 and "Щонайменше 12 символів" in short.get_data(as_text=True)
    new = "an even longer new password"
    resp = here.post(
        "/staff/password",
        data={
            "current": person.password,
            "new": new,
            "confirm": new,
            "csrf_token": csrf_from(form),
        },
    )
    assert resp.status_code == 302
    assert here.get("/staff/").status_code == 200
    assert elsewhere.get("/staff/").status_code == 302
    assert sign_in(app.test_client(), Person(person.email, new)).status_code == 302


def test_state_changing_routes_refuse_requests_without_csrf(app, staff):
    client = app.test_client()
    sign_in(client, staff["admin"])
    posts = [
        r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api")
    ]
    assert {r.endpoint for r in posts} >= {
        "auth.login",
        "auth.logout",
        "auth.password",
        "auth.totp",
    }
    for rule in posts:
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)  # an int converter needs a number to match
        resp = client.post(path, data={"email": "x@y.z", "password": "p", "current": "p"})
        assert resp.status_code == 400, rule.rule
        assert "Traceback" not in resp.get_data(as_text=True)
    assert client.get("/staff/").status_code == 200  # logout without a token did nothing


def test_audit_trail_is_append_only(db_session):
    db_session.execute(text("INSERT INTO audit_event (actor, action) VALUES ('t', 'test.append')"))
    for statement in (
        "UPDATE audit_event SET actor = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ):
        nested = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db_session.execute(text(statement))
        nested.rollback()


def test_no_password_or_token_in_logs_or_audit(app, engine, staff, caplog):
    caplog.set_level(logging.DEBUG)
    person = _new_person(engine, "secret@bucha.test")
    sign_in(app.test_client(), person)
    sign_in(app.test_client(), person, password="my-wrong-password-123")
    with Session(engine) as sess:
        token, _row = tokens.create(
            sess, "ГО «Безпечне місто»", [get_by_slug(sess, "bucha")], 30, actor="test"
        )
        assert tokens.verify(sess, token) is not None
        assert tokens.verify(sess, token + "x") is None
    secrets_ = [person.password, "my-wrong-password-123", token]
    with engine.connect() as conn:
        trail = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_event")))
        stored = " ".join(str(r) for r in conn.execute(text("SELECT * FROM api_token")))
        hashes = conn.scalars(select(User.password_hash).where(User.email == person.email)).all()
    for secret in secrets_:
        assert secret not in caplog.text and secret not in trail and secret not in stored
    assert hashes[0].startswith("$argon2id$")


def test_admin_filters_the_audit_trail(app, engine, staff):
    person = _new_person(engine, "audited@bucha.test")
    sign_in(app.test_client(), person, password="definitely wrong")
    admin = app.test_client()
    sign_in(admin, staff["admin"])
    html = admin.get("/staff/audit?action=sign_in.failure&actor=audited").get_data(as_text=True)
    assert "audited@bucha.test" in html and "sign_in.failure" in html
    assert "sign_in.success" not in html
    assert "1 подія" in html  # Ukrainian plural
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d", html)
