"""The `geoapp` command as an admin types it, against the test database."""

from __future__ import annotations

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from geoapp.cli import main
from geoapp.services import tokens
from tests.conftest import OSM_DIR, TEST_SECRET, Person, csrf_from, sign_in
from tests.helpers import SQUARE, feature, write_geojson

IRPIN = "UA32080150000035443"


@pytest.fixture()
def run(database_url):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(
            main, list(args), env={"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
        )

    invoke.database_url = database_url
    return invoke


def test_db_upgrade_is_idempotent(run):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "schema up to date (PostGIS 3" in result.output


def test_pilot_reports_unchanged_on_a_second_load(run):
    result = run("boundaries", "pilot", "--source", str(OSM_DIR))
    assert result.exit_code == 0, result.output
    assert "unchanged 5" in result.output and "sevastopol" in result.output


def test_load_reports_and_filters(run, engine):
    try:
        raion = OSM_DIR / "kyyivska_oblast.buchanskyy_rayon.geojson"
        result = run("boundaries", "load", str(raion), "--katotth", IRPIN)
        assert result.exit_code == 0, result.output
        assert "loaded 1 (new 1" in result.output
        with engine.connect() as conn:
            name = conn.scalar(
                text("SELECT name_uk FROM community WHERE katotth = :k"), {"k": IRPIN}
            )
        assert name == "Ірпінська міська громада"
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM community WHERE katotth = :k"), {"k": IRPIN})


def test_a_refused_file_exits_non_zero_with_the_reason(run, tmp_path):
    bad = write_geojson(tmp_path / "dupes.geojson", feature([SQUARE]), feature([SQUARE]))
    result = run("boundaries", "load", str(bad))
    assert result.exit_code == 1
    assert "NOT LOADED" in result.output and "more than once" in result.output
    assert "Traceback" not in result.output


def test_users_create_grant_revoke_disable(run, engine):
    email = "cli.user@bolhrad.test"
    result = CliRunner().invoke(
        main,
        [
            "users",
            "create",
            email,
            "--community",
            "bolhrad",
            "--role",
            "analyst",
            "--password-stdin",
            "--name",
            "Іван Петренко",
            "--agency",
            "police",
        ],
        input="a sufficiently long password\n",
        env={"DATABASE_URL": run.database_url, "SECRET_KEY": TEST_SECRET},
    )
    assert result.exit_code == 0, result.output
    assert "a sufficiently long password" not in result.output
    again = run("users", "create", email, "--community", "bolhrad", "--role", "viewer")
    assert again.exit_code == 1 and "exists already" in again.output
    assert run("users", "grant", email, "--community", "bucha", "--role", "viewer").exit_code == 0
    assert run("users", "revoke", email, "--community", "bucha").exit_code == 0
    assert run("users", "revoke", email, "--community", "bucha").exit_code == 1
    assert run("users", "disable", email).exit_code == 0
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT u.active, array_agg(m.role::text) AS roles FROM app_user u "
                "JOIN membership m ON m.user_id = u.id WHERE u.email = :e GROUP BY u.active"
            ),
            {"e": email},
        ).one()
        actions = conn.scalars(
            text("SELECT action FROM audit_event WHERE actor = 'cli' ORDER BY id")
        ).all()
    assert row.active is False and row.roles == ["analyst"]
    assert {"user.create", "role.grant", "role.revoke", "user.disable"} <= set(actions)


def test_generated_password_is_printed_once(run):
    result = run("users", "create", "gen@bucha.test", "--community", "bucha", "--role", "admin")
    assert result.exit_code == 0
    assert "password (shown once):" in result.output and "two-step sign-in" in result.output


def test_unknown_community_and_short_password_are_refused(run):
    assert (
        "no community 'atlantis'"
        in run("users", "create", "x@y.test", "--community", "atlantis", "--role", "viewer").output
    )
    short = CliRunner().invoke(
        main,
        [
            "users",
            "create",
            "short@bucha.test",
            "--community",
            "bucha",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        input="short\n",
        env={"DATABASE_URL": run.database_url, "SECRET_KEY": TEST_SECRET},
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_tokens_are_shown_once_and_stored_hashed(run, engine):
    result = run(
        "tokens", "create", "--partner", "ZMINA", "--community", "bucha", "--expires", "30"
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("gp_") and len(token) > 40
    with Session(engine) as sess:
        row = tokens.verify(sess, token)
        assert row is not None and [c.slug for c in row.communities] == ["bucha"]
        stored = sess.execute(
            text("SELECT token_hash, prefix FROM api_token WHERE id = :i"), {"i": row.id}
        ).one()
    assert token not in stored.token_hash and stored.prefix == token[:9]
    assert run("tokens", "revoke", str(row.id)).exit_code == 0
    with Session(engine) as sess:
        assert tokens.verify(sess, token) is None
    assert (
        run(
            "tokens", "create", "--partner", "X", "--community", "bucha", "--expires", "0"
        ).exit_code
        == 1
    )


def test_demo_prints_a_working_login_and_rekeys_on_each_run(run, app):
    first = run("demo")
    assert first.exit_code == 0, first.output
    email, password = first.output.split()[-2:]
    second = run("demo")
    new_password = second.output.split()[-1]
    assert new_password != password
    client = app.test_client()
    assert sign_in(client, Person(email, password)).status_code == 401  # the old one is gone
    assert sign_in(client, Person(email, new_password)).status_code == 302
    page = client.get("/staff/", follow_redirects=True).get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]  # a coordinator enrols first
    enrol = {"password": new_password, "code": pyotp.TOTP(secret).now(),
             "csrf_token": csrf_from(page)}  # fmt: skip
    assert client.post("/staff/totp", data=enrol).status_code == 302
    html = client.get("/staff/").get_data(as_text=True)
    for name in ("Бучанська", "Болградська", "Галицький", "Автономна Республіка Крим"):
        assert name in html


def test_a_community_adds_its_own_category(run, client):
    result = run(
        "categories",
        "add",
        "--community",
        "bolhrad",
        "--code",
        "flooded_underpass",
        "--name-uk",
        "Затоплений підземний перехід",
        "--name-en",
        "Flooded underpass",
    )
    assert result.exit_code == 0, result.output
    bolhrad = client.get("/api/v1/communities/bolhrad/categories").get_json()["categories"]
    bucha = client.get("/api/v1/communities/bucha/categories").get_json()["categories"]
    assert bolhrad[-1]["code"] == "flooded_underpass"
    assert "flooded_underpass" not in [c["code"] for c in bucha]
    again = run(
        "categories",
        "add",
        "--community",
        "bucha",
        "--code",
        "flooded_underpass",
        "--name-uk",
        "x",
        "--name-en",
        "x",
    )
    assert again.exit_code == 1 and "taken" in again.output
    bad = run(
        "categories",
        "add",
        "--community",
        "bucha",
        "--code",
        "Bad Code!",
        "--name-uk",
        "x",
        "--name-en",
        "x",
    )
    assert bad.exit_code == 1


def test_incidents_import_reports_and_writes_the_rejections(run, tmp_path, engine):
    path = tmp_path / "export.csv"
    path.write_text(
        "date,article,lon,lat,ref\n"
        "2024-05-01,185,30.2101,50.5451,cli-1\n"
        "2024-05-02,777,30.2101,50.5451,cli-2\n",
        encoding="utf-8",
    )
    report = tmp_path / "rejected.csv"
    result = run("incidents", "import", str(path), "--community", "bucha", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "1 incidents imported, 1 rows rejected" in result.output
    assert report.read_text().splitlines() == [
        "row,reason",
        "3,'777' is no article of the Criminal Code",
    ]
    strict = run("incidents", "import", str(path), "--community", "bucha", "--strict")
    assert strict.exit_code == 1 and "nothing was imported" in strict.output
    with engine.begin() as conn:  # leave the shared database as it was
        conn.execute(
            text("DELETE FROM incident WHERE article = '185' AND occurred_on = '2024-05-01'")
        )


def test_over_long_names_are_refused_with_a_message_and_nothing_stored(run, engine):
    long_user = run("users", "create", "long@bucha.test", "--community", "bucha",
                    "--role", "viewer", "--name", "Я" * 201)  # fmt: skip
    assert long_user.exit_code != 0 and "at most 200 characters" in long_user.output
    long_category = run("categories", "add", "--community", "bucha", "--code", "long_name_cat",
                        "--name-uk", "Я" * 256, "--name-en", "Long")  # fmt: skip
    assert long_category.exit_code != 0 and "at most 255 characters" in long_category.output
    long_partner = run("tokens", "create", "--partner", "П" * 201, "--community", "bucha")
    assert long_partner.exit_code != 0 and "at most 200 characters" in long_partner.output
    with engine.connect() as conn:
        users = "SELECT count(*) FROM app_user WHERE email = 'long@bucha.test'"
        assert conn.scalar(text(users)) == 0
        assert conn.scalar(text("SELECT count(*) FROM category WHERE code = 'long_name_cat'")) == 0
