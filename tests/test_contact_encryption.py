"""Residents' contacts at rest (privacy rule 1): sealed with a key kept outside the database,
opened only for a coordinator (audited), re-sealed by key rotation, erased after closing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geoapp import create_app
from geoapp.db import check_postgis, make_engine
from geoapp.migrate import upgrade
from geoapp.services import contacts
from geoapp.services.contact_keys import ContactKeyError, from_settings, generate_key_file
from tests.conftest import TEST_SECRET, app_config, contact_key_file, sign_in

NAME, PHONE, EMAIL = "Ганна Приватна", "+380 50 765 43 21", "hanna.private@example.org"
PLAIN = (NAME, PHONE, EMAIL, "765 43 21", "hanna.private")


def _report(client, contact: dict | None = None) -> dict:
    body = {
        "category": "poor_lighting",
        "lon": 30.21,
        "lat": 50.545,
        "description": "Темно біля зупинки",
        "client_token": uuid.uuid4().hex,
        "contact": contact or {"name": NAME, "phone": PHONE, "email": EMAIL, "consent": True},
    }
    response = client.post("/api/v1/communities/bucha/concerns", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _concern_id(engine, public_id: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT id FROM concern WHERE public_id = :p"), {"p": public_id})


def _raw_contact(engine, public_id: str):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT cc.*, cc::text AS whole FROM concern_contact cc "
                "JOIN concern c ON c.id = cc.concern_id WHERE c.public_id = :p"
            ),
            {"p": public_id},
        ).one_or_none()


@pytest.fixture()
def coordinator(app, staff):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    return client


def test_the_stored_row_holds_no_plaintext_and_the_coordinator_still_reads_it(
    client, coordinator, engine, staff
):
    receipt = _report(client)
    assert receipt["contact_kept"] is True
    row = _raw_contact(engine, receipt["public_id"])
    assert row is not None
    for secret in PLAIN:
        assert secret not in row.whole
    assert all(t.startswith("gAAAAA") for t in (row.name_enc, row.phone_enc, row.email_enc))
    page = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}/contact")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert NAME in body and PHONE in body and EMAIL in body
    with engine.connect() as conn:
        event = conn.execute(
            text("SELECT actor, details FROM audit_event WHERE action = 'contact.view' "
                 "AND object_id = :p"), {"p": receipt["public_id"]},
        ).one()  # fmt: skip
    assert event.actor == staff["coordinator"].email and event.details == {"found": True}


def test_an_absent_field_is_sealed_too_so_the_row_does_not_tell_what_was_given(client, engine):
    receipt = _report(client, {"phone": PHONE, "consent": True})
    row = _raw_contact(engine, receipt["public_id"])
    assert row.name_enc.startswith("gAAAAA") and row.email_enc.startswith("gAAAAA")


def test_the_database_refuses_a_plaintext_contact(client, engine):
    concern_id = _concern_id(engine, _report(client, {"email": EMAIL, "consent": True})[
        "public_id"])  # fmt: skip
    with engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text("UPDATE concern_contact SET phone_enc = :p WHERE concern_id = :i"),
            {"p": PHONE, "i": concern_id},
        )


def _cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("GEOAPP_CONTACT") and k != "GEOAPP_LOCAL_DEV"}  # fmt: skip
    environ |= {"DATABASE_URL": database_url, "PYTHONPATH": str(Path(__file__).parent.parent),
                "SECRET_KEY": TEST_SECRET, **env}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", "from geoapp.cli import main; main()", *args],
        env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _file_keys(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and ln[0] != "#"]


def _all_tokens(engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name_enc, phone_enc, email_enc FROM concern_contact"))
        return [t for row in rows for t in row]


def _opens(key: str, token: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def test_rotate_key_reseals_every_contact_with_only_the_new_key(
    client, coordinator, engine, database_url
):
    """The real command, on this run's key file, while the app keeps serving from it."""
    receipts = [_report(client) for _ in range(3)]
    path = contact_key_file()
    old = _file_keys(path)
    done = _cli(database_url, "contacts", "rotate-key", "--batch", "2",
                GEOAPP_CONTACT_KEY_FILE=str(path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "re-encrypted" in done.stdout
    new = _file_keys(path)
    assert len(new) == 1 and new[0] not in old
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    tokens = _all_tokens(engine)
    assert tokens and all(_opens(new[0], t) for t in tokens)
    assert not any(_opens(k, t) for k in old for t in tokens)
    for secret in PLAIN:
        assert secret not in done.stdout + done.stderr
    # The running app re-reads the file: the coordinator still sees the contact.
    page = coordinator.get(f"/staff/c/bucha/concerns/{receipts[0]['public_id']}/contact")
    assert PHONE in page.get_data(as_text=True)
    # A second run is just another rotation: everything stays readable.
    again = _cli(database_url, "contacts", "rotate-key", GEOAPP_CONTACT_KEY_FILE=str(path))
    assert again.returncode == 0, again.stderr
    newer = _file_keys(path)
    assert len(newer) == 1 and newer != new
    assert all(_opens(newer[0], t) for t in _all_tokens(engine))
    page = coordinator.get(f"/staff/c/bucha/concerns/{receipts[2]['public_id']}/contact")
    assert EMAIL in page.get_data(as_text=True)
    with engine.connect() as conn:
        details = conn.scalars(
            text("SELECT details::text FROM audit_event WHERE action = 'contact.key_rotated' "
                 "ORDER BY id DESC LIMIT 2")
        ).all()  # fmt: skip
    assert len(details) == 2 and all(newer[0] not in d and new[0] not in d for d in details)


def test_environment_keys_rotate_in_two_runs_and_say_what_to_remove(engine, database_url):
    current = _file_keys(contact_key_file())[0]
    first = _cli(database_url, "contacts", "rotate-key", GEOAPP_CONTACT_KEYS=current)
    assert first.returncode == 0, first.stderr
    fresh = first.stdout.strip().splitlines()[-1]
    Fernet(fresh)  # the printed key is a key
    assert all(_opens(current, t) for t in _all_tokens(engine))  # nothing changed yet
    second = _cli(database_url, "contacts", "rotate-key",
                  GEOAPP_CONTACT_KEYS=f"{fresh},{current}")  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "remove the key(s)" in second.stdout
    tokens = _all_tokens(engine)
    assert all(_opens(fresh, t) for t in tokens) and not any(_opens(current, t) for t in tokens)
    # Back to the run's key file, so the other tests keep reading their contacts.
    back = _cli(database_url, "contacts", "rotate-key",
                GEOAPP_CONTACT_KEYS=f"{current},{fresh}")  # fmt: skip
    assert back.returncode == 0, back.stderr
    assert all(_opens(current, t) for t in _all_tokens(engine))


def test_a_key_file_readable_by_others_is_refused(tmp_path, database_url):
    path = tmp_path / "contact-keys"
    path.write_text(Fernet.generate_key().decode() + "\n")
    path.chmod(0o644)
    with pytest.raises(ContactKeyError, match="chmod 600"):
        create_app(app_config(database_url, GEOAPP_CONTACT_KEY_FILE=str(path)))
    done = _cli(database_url, "contacts", "purge", "--dry-run", GEOAPP_CONTACT_KEY_FILE=str(path))
    assert done.returncode != 0 and "chmod 600" in done.stderr


def test_a_key_file_opened_up_while_running_loses_the_contact_not_the_report(
    tmp_path, database_url, engine
):
    path = tmp_path / "contact-keys"
    generate_key_file(path)
    app = create_app(app_config(database_url, GEOAPP_CONTACT_KEY_FILE=str(path)))
    path.chmod(0o640)
    response = app.test_client().post("/api/v1/communities/bucha/concerns", json={
        "category": "poor_lighting", "lon": 30.21, "lat": 50.545,
        "client_token": uuid.uuid4().hex, "contact": {"phone": PHONE, "consent": True},
    })  # fmt: skip
    assert response.status_code == 201
    assert response.get_json()["contact_kept"] is False and response.get_json()["notice"]
    assert _raw_contact(engine, response.get_json()["public_id"]) is None


def test_with_no_key_configured_the_report_is_kept_and_the_resident_told(database_url, engine):
    app = create_app(app_config(database_url, GEOAPP_CONTACT_KEY_FILE=None))
    client = app.test_client()
    page = client.get("/c/bucha/report").get_data(as_text=True)
    token = page.split('name="client_token" value="', 1)[1].split('"', 1)[0]
    csrf = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    sent = client.post("/c/bucha/report?lang=en", data={
        "csrf_token": csrf, "client_token": token, "category": "poor_lighting",
        "lon": "30.21", "lat": "50.545", "contact_phone": PHONE, "consent": "yes",
    })  # fmt: skip
    assert sent.status_code == 302 and "contact=lost" in sent.headers["Location"]
    track = client.get(sent.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "could not be kept" in track
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM concern WHERE client_token = :t"),
                           {"t": token}) == 1  # fmt: skip
        assert conn.scalar(
            text("SELECT count(*) FROM concern_contact cc JOIN concern c ON c.id = cc.concern_id "
                 "WHERE c.client_token = :t"), {"t": token},
        ) == 0  # fmt: skip


def test_local_development_makes_a_key_file_once_and_keeps_it(tmp_path):
    path = tmp_path / "var" / "contact-keys"
    first = from_settings({"GEOAPP_CONTACT_DEV_KEY_FILE": str(path)})
    assert first is not None and oct(path.stat().st_mode & 0o777) == "0o600"
    second = from_settings({"GEOAPP_CONTACT_DEV_KEY_FILE": str(path)})
    assert second is not None and second.keys() == first.keys()
    assert from_settings({}) is None  # outside local development: nothing is invented


def test_a_wrong_key_shows_a_clear_message_not_a_500_nor_the_ciphertext(
    client, staff, engine, database_url, tmp_path, caplog
):
    receipt = _report(client)
    other = tmp_path / "other-keys"
    generate_key_file(other)
    wrong = create_app(app_config(database_url, GEOAPP_CONTACT_KEY_FILE=str(other)))
    coordinator = wrong.test_client()
    sign_in(coordinator, staff["coordinator"])
    with caplog.at_level(logging.DEBUG):
        page = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}/contact?lang=en")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "cannot be decrypted with the configured key" in body
    row = _raw_contact(engine, receipt["public_id"])
    for shown in (row.name_enc, row.phone_enc, row.email_enc, "gAAAAA", *PLAIN):
        assert shown not in body
        assert shown not in caplog.text
    with engine.connect() as conn:
        details = conn.scalar(
            text("SELECT details FROM audit_event WHERE action = 'contact.view' "
                 "AND object_id = :p ORDER BY id DESC LIMIT 1"), {"p": receipt["public_id"]},
        )  # fmt: skip
    assert details == {"found": True, "readable": False}
    ukrainian = coordinator.get(f"/staff/c/bucha/concerns/{receipt['public_id']}/contact?lang=uk")
    assert "неможливо розшифрувати" in ukrainian.get_data(as_text=True)


def _close(engine, public_id: str, status: str, days_ago: int) -> None:
    with engine.begin() as conn:
        concern_id = conn.scalar(
            text("UPDATE concern SET status = :s WHERE public_id = :p RETURNING id"),
            {"s": status, "p": public_id},
        )
        conn.execute(  # reported a day before it was closed
            text("UPDATE concern_event SET at = now() - make_interval(days => :d) "
                 "WHERE concern_id = :i"), {"i": concern_id, "d": days_ago + 1},
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO concern_event (concern_id, at, from_status, to_status) "
                 "VALUES (:i, now() - make_interval(days => :d), 'new', :s)"),
            {"i": concern_id, "d": days_ago, "s": status},
        )  # fmt: skip


def test_purge_erases_contacts_closed_longer_ago_and_keeps_the_rest(client, engine, database_url):
    old_resolved, old_rejected, recent, still_open = (_report(client) for _ in range(4))
    _close(engine, old_resolved["public_id"], "resolved", 120)
    _close(engine, old_rejected["public_id"], "rejected", 91)
    _close(engine, recent["public_id"], "resolved", 10)
    with engine.begin() as conn:  # open, but reported long ago: kept
        conn.execute(text("UPDATE concern_event SET at = now() - interval '400 days' "
                          "WHERE concern_id = :i"),
                     {"i": _concern_id(engine, still_open["public_id"])})  # fmt: skip
    dry = _cli(database_url, "contacts", "purge", "--dry-run", "--days", "90",
               GEOAPP_CONTACT_KEY_FILE=str(contact_key_file()))  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    due = int(dry.stdout.split()[0])
    assert due >= 2 and "would be erased" in dry.stdout
    assert _raw_contact(engine, old_resolved["public_id"]) is not None  # dry run: nothing gone
    with Session(engine) as sess:
        erased = contacts.purge(sess, 90, actor="test")
    assert erased == due
    assert _raw_contact(engine, old_resolved["public_id"]) is None
    assert _raw_contact(engine, old_rejected["public_id"]) is None
    assert _raw_contact(engine, recent["public_id"]) is not None
    assert _raw_contact(engine, still_open["public_id"]) is not None
    with engine.connect() as conn:
        details = conn.scalar(text("SELECT details FROM audit_event WHERE action = "
                                   "'contact.purge' ORDER BY id DESC LIMIT 1"))  # fmt: skip
    assert details == {"deleted": erased, "retention_days": 90}


def test_a_reopened_concern_keeps_its_contact(client, engine):
    receipt = _report(client)
    _close(engine, receipt["public_id"], "rejected", 200)
    with engine.begin() as conn:  # rejected -> under review: open again, today
        conn.execute(
            text("UPDATE concern SET status = 'under_review' WHERE public_id = :p"),
            {"p": receipt["public_id"]},
        )
        conn.execute(
            text("INSERT INTO concern_event (concern_id, from_status, to_status) "
                 "VALUES (:i, 'rejected', 'under_review')"),
            {"i": _concern_id(engine, receipt["public_id"])},
        )  # fmt: skip
    with Session(engine) as sess:
        contacts.purge(sess, 90, actor="test")
    assert _raw_contact(engine, receipt["public_id"]) is not None


@pytest.fixture()
def database_at_0014(database_url):
    """A database of its own migrated to 0014, with one plaintext contact as it used to be."""
    base = make_url(database_url)
    name = f"{base.database}_contacts_migration"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    check_postgis(engine)
    upgrade(url, "0014")
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no concern needed
        conn.execute(
            text("INSERT INTO concern_contact (concern_id, name, phone, email, consent) "
                 "VALUES (1, :n, :p, NULL, true)"), {"n": NAME, "p": PHONE},
        )  # fmt: skip
    yield url, engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _no_contact_settings(monkeypatch) -> None:
    for name in ("GEOAPP_CONTACT_KEY_FILE", "GEOAPP_CONTACT_KEYS", "GEOAPP_LOCAL_DEV"):
        monkeypatch.delenv(name, raising=False)


def test_the_migration_seals_stored_plaintext_contacts(database_at_0014, monkeypatch):
    url, engine = database_at_0014
    _no_contact_settings(monkeypatch)
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("GEOAPP_CONTACT_KEYS", key)
    upgrade(url, "0016")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT cc.*, cc::text AS whole FROM concern_contact cc")).one()
    assert NAME not in row.whole and PHONE not in row.whole
    assert Fernet(key).decrypt(row.name_enc.encode()).decode() == NAME
    assert Fernet(key).decrypt(row.phone_enc.encode()).decode() == PHONE
    assert Fernet(key).decrypt(row.email_enc.encode()).decode() == ""


def test_the_migration_without_a_key_stops_and_changes_nothing(database_at_0014, monkeypatch):
    url, engine = database_at_0014
    _no_contact_settings(monkeypatch)
    with pytest.raises(RuntimeError, match="no contact key is configured"):
        upgrade(url, "0016")
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0014"
        assert conn.scalar(text("SELECT phone FROM concern_contact")) == PHONE
