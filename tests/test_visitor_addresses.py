"""Nothing is stored per public visitor; staff and partner addresses expire (privacy rule 6).

The attack: a resident opens the public map of a community (it fetches
`incident_cells.geojson`), reads an OGC page, and reports a concern a minute later.
Whoever reads the database or a backup must not be able to link the two by address.
"""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geoapp.services import audit, tokens
from geoapp.services.communities import get_by_slug

VISITOR = "127.0.77.41"  # a loopback address no other test uses
PARTNER = "127.0.77.42"


def _tables_holding(engine, needle: str) -> list[str]:
    """Every table with a row in which some text or inet column holds `needle`."""
    with engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('inet', 'text', 'jsonb', "
            "'character varying')")).all()  # fmt: skip
        found = set()
        for table, column in columns:
            hit = conn.execute(text(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE :n LIMIT 1'
            ), {"n": f"%{needle}%"}).first()  # fmt: skip
            if hit:
                found.add(table)
    return sorted(found)


def test_an_anonymous_export_and_ogc_page_leave_no_address(client, engine):
    env = {"REMOTE_ADDR": VISITOR}
    with engine.connect() as conn:
        before = conn.scalar(text("SELECT coalesce(sum(count), 0) FROM public_export_tally "
                                  "WHERE layer = 'boundaries'"))  # fmt: skip
    layer = client.get("/api/v1/communities/bucha/layers/boundaries.geojson", environ_base=env)
    assert layer.status_code == 200 and layer.get_json()["features"]  # read: the body streams
    page = client.get("/ogc/collections/bucha.boundaries/items", environ_base=env)
    assert page.status_code == 200
    assert _tables_holding(engine, VISITOR) == []
    with engine.connect() as conn:
        after = conn.scalar(text("SELECT coalesce(sum(count), 0) FROM public_export_tally "
                                 "WHERE layer = 'boundaries'"))  # fmt: skip
    assert after == before + 2  # the two calls are counted, not recorded


def test_a_partner_export_keeps_its_address_until_the_retention_ends(client, engine):
    with Session(engine) as sess:
        token, _row = tokens.create(sess, "Медіа-партнер", [get_by_slug(sess, "bucha")], 30,
                                    actor="test")  # fmt: skip
    resp = client.get("/api/v1/communities/bucha/layers/boundaries.csv",
                      headers={"Authorization": f"Bearer {token}"},
                      environ_base={"REMOTE_ADDR": PARTNER})  # fmt: skip
    assert resp.status_code == 200 and resp.get_data()  # read: the audit follows the body
    assert "audit_event" in _tables_holding(engine, PARTNER)
    with Session(engine) as sess:
        assert audit.forget_addresses(sess, 180) == 0  # young: kept
    assert "audit_event" in _tables_holding(engine, PARTNER)
    with engine.begin() as conn:  # as if 181 days had passed (the trigger lets no one do this)
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete"))
        conn.execute(text("UPDATE audit_event SET at = at - interval '181 days' "
                          "WHERE client_addr = CAST(:a AS inet)"), {"a": PARTNER})  # fmt: skip
        conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update_delete"))
    with Session(engine) as sess:
        assert audit.forget_addresses(sess, 180) >= 1
    assert _tables_holding(engine, PARTNER) == []
    with engine.connect() as conn:  # the event itself stays
        assert (
            conn.scalar(
                text(
                    "SELECT count(*) FROM audit_event WHERE action = 'layer.export' "
                    "AND actor LIKE 'token:%' AND client_addr IS NULL"
                )
            )
            >= 1
        )


@pytest.mark.parametrize("change", [
    "UPDATE audit_event SET actor = 'someone else'",
    "UPDATE audit_event SET client_addr = '127.0.0.9'",
    "UPDATE audit_event SET client_addr = NULL, details = '{}'::jsonb",
    "DELETE FROM audit_event",
])  # fmt: skip
def test_the_audit_stays_append_only_but_for_forgetting_an_address(engine, change):
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(f"{change} WHERE id = (SELECT max(id) FROM audit_event)"))


def test_the_cli_forgets_addresses(database_url):
    from geoapp.config import PROJECT_ROOT
    from tests.conftest import TEST_SECRET

    run = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "geoapp"), "audit",
                          "forget-addresses", "--days", "30"],
                         env={"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET,
                              "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "lost their client address" in run.stdout
