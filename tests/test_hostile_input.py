"""Hostile input gets a 4xx with a reason, never a 500: every route, every method, every role.

The property test walks the app's whole URL map and fills each rule's converters, query
string, form fields and JSON bodies with what an attacker sends (NUL bytes, CR/LF,
numbers past bigint, very long strings, lone surrogates, deep JSON), as the public and
as a signed-in coordinator and administrator of the community (forms carry a valid CSRF
token, so the request reaches the view).  The focused tests below pin each finding of
the attack on the running app (issue 17).
"""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from werkzeug.routing import AnyConverter, IntegerConverter, PathConverter

from tests.conftest import OWN, app_config, csrf_from, sign_in

HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "%00",
    "\r\nSet-Cookie: x=1",
    "\x1b[31m",
    "9" * 401,
    "-" + "9" * 30,
    "2147483648",
    "9223372036854775808",
    "x" * 5000,
    "²",
    "١٢٣",
    "9999",
    "0",
    "-1",
    "nan",
    "1e400",
    "../../etc/passwd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "",
    " ",
]
QUERY_NAMES = ["period", "from", "to", "size", "group", "page", "limit", "offset", "bbox",
               "next", "q", "community", "lon", "lat", "i", "j", "show", "code", "datetime",
               "f", "lang", "status", "category", "batch", "error", "cells", "session",
               "priority", "title"]  # fmt: skip
FORM_NAMES = ["title", "name", "description", "address", "agency", "owner", "partners", "kind",
              "start_on", "due_on", "held_on", "note", "answer", "reason", "to", "into",
              "category", "lon", "lat", "located_by", "client_token", "contact_name",
              "contact_phone", "contact_email", "consent", "cells", "size", "session",
              "priority", "concern_ids", "target_geojson", "result_text", "email", "password",
              "totp", "current", "new", "confirm", "code", "period", "from", "group",
              "indicator_0_name", "indicator_0_baseline", "indicator_0_unit",
              "profile"]  # fmt: skip
BEARERS = [None, None, None, "Bearer \x00", "Bearer " + "9" * 401, "Bearer gp_x", "Basic \x01"]
EXAMPLES = 20  # per rule: about a minute for the whole map
SKIP = {"auth.logout", "static"}  # signing out ends the identity under test; files: no input


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _values(real: list[str]) -> st.SearchStrategy[str]:
    """Mostly a real value (so the request gets past the lookup), else a hostile one."""
    return st.one_of(st.sampled_from(real), st.sampled_from(real), st.sampled_from(real),
                     st.sampled_from(HOSTILE_TEXT), st.text(max_size=20))  # fmt: skip


query_strategy = st.dictionaries(st.sampled_from(QUERY_NAMES), st.sampled_from(HOSTILE_TEXT),
                                 max_size=3)  # fmt: skip
form_strategy = st.dictionaries(st.sampled_from(FORM_NAMES), st.sampled_from(HOSTILE_TEXT),
                                max_size=8)  # fmt: skip
json_strategy = st.one_of(
    st.just(deep_json(50_000)),
    st.just('{"description": "\\u0000", "category": "poor_lighting"}'),
    st.just('{"client_token": "\\ud800\\udc00\\ud800"}'),
    st.just('{"center": [1e400, 2], "zoom": ' + "9" * 401 + "}"),
    st.just('{"category": "poor_lighting", "lon": ' + "9" * 401 + ', "lat": 50.5, '
            '"client_token": "abcdefgh1234"}'),
    st.recursive(
        st.one_of(st.sampled_from(HOSTILE_TEXT), st.integers(min_value=-(10**401),
                  max_value=10**401), st.floats(), st.none(), st.booleans()),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
            st.sampled_from([*FORM_NAMES, "lon", "lat", "contact", "zoom", "center"]), inner,
            max_size=4),
        max_leaves=8,
    ).map(json.dumps),
)  # fmt: skip


@pytest.fixture(scope="module")
def targets(app, staff):
    """Real ids in Bucha (a concern, a planning session, a measure) for the converters."""
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    body = {"category": "poor_lighting", "lon": 30.21, "lat": 50.545,
            "description": "Темно біля зупинки", "client_token": uuid.uuid4().hex}  # fmt: skip
    concern = client.post(f"/api/v1/communities/{OWN}/concerns", json=body).get_json()
    page = client.get(f"/staff/c/{OWN}/sessions/").get_data(as_text=True)
    made = client.post(
        f"/staff/c/{OWN}/sessions/",
        data={"title": "Сесія для атаки", "held_on": "2026-11-20", "csrf_token": csrf_from(page)},
    )
    session_id = made.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    page = client.get(f"/staff/c/{OWN}/measures/new").get_data(as_text=True)
    made = client.post(f"/staff/c/{OWN}/measures/new", data={
        "title": "Ліхтарі", "kind": "lighting", "agency": "Міськрада", "owner": "Петро",
        "csrf_token": csrf_from(page)})  # fmt: skip
    measure_id = made.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    return {"slug": [OWN, "bolhrad"], "public_id": [concern["public_id"]],
            "session_id": [session_id], "measure_id": [measure_id], "batch_id": ["1"],
            "layer": ["concerns", "incident_cells", "incidents", "hotspots", "boundaries"],
            "collection": [f"{OWN}.concerns", f"{OWN}.incident_cells", f"{OWN}.hotspots"],
            "z": ["0", "14"], "x": ["0"], "y": ["0"], "index": ["0"], "fid": ["1"],
            "token": ["x"]}  # fmt: skip


@pytest.fixture(scope="module")
def identities(app, staff):
    """A client per identity: the public, a coordinator and the administrator of Bucha."""
    clients = {"public": app.test_client()}
    for role in ("coordinator", "admin"):
        client = app.test_client()
        assert sign_in(client, staff[role]).status_code == 302
        clients[role] = client
    tokens = {}
    for name, client in clients.items():
        page = "/staff/password" if name != "public" else "/staff/login"
        tokens[name] = csrf_from(client.get(page).get_data(as_text=True))
    return clients, tokens


def _rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP),
                  key=lambda r: (r.rule, sorted(r.methods)))  # fmt: skip


def _rule_ids():
    from geoapp import create_app

    app = create_app(app_config("postgresql+psycopg://u@h/d"))
    return [f"{r.endpoint}:{'/'.join(sorted(r.methods - {'HEAD', 'OPTIONS'}))}"
            for r in _rules(app)]  # fmt: skip


RULES = _rule_ids()


def _converter_value(name: str, converter, real: dict[str, list[str]]) -> st.SearchStrategy:
    if isinstance(converter, AnyConverter):
        return st.sampled_from(sorted(converter.items))
    if isinstance(converter, IntegerConverter):
        return st.sampled_from([*real.get(name, ["1"]), "0", "9" * 401, "2147483648",
                                "9223372036854775808", "00000000000000000001"])  # fmt: skip
    if isinstance(converter, PathConverter):
        return st.sampled_from(["css/app.css", "..%2f..%2fetc/passwd", "%00"])
    return _values(real.get(name, ["x"]))


@pytest.mark.parametrize("rule_id", RULES)
def test_no_route_answers_5xx_to_hostile_input(app, identities, targets, rule_id):
    endpoint, methods = rule_id.split(":")
    rule = next(r for r in _rules(app) if r.endpoint == endpoint
                and "/".join(sorted(r.methods - {"HEAD", "OPTIONS"})) == methods)  # fmt: skip
    clients, tokens = identities
    arguments = st.fixed_dictionaries(
        {n: _converter_value(n, c, targets) for n, c in rule._converters.items()}
    )
    methods_list = sorted(rule.methods - {"HEAD", "OPTIONS"})

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],  # the first failure, unshrunk: fast
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(values=arguments, who=st.sampled_from(["admin", "coordinator", "coordinator", "public"]),
           method=st.sampled_from(methods_list), query=query_strategy, form=form_strategy,
           body=json_strategy, as_json=st.booleans(), bearer=st.sampled_from(BEARERS))  # fmt: skip
    def attack(values, who, method, query, form, body, as_json, bearer):
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<{name}>", value)
            for conv in ("int", "path", "any(csv, gpkg)"):
                path = path.replace(f"<{conv}:{name}>", value)
        client = clients[who]
        headers = {"Authorization": bearer} if bearer else {}
        if method == "GET":
            resp = client.get(path, query_string=query, headers=headers)
        elif as_json:
            resp = client.post(path, query_string=query, data=body, headers=headers,
                               content_type="application/json")  # fmt: skip
        else:
            resp = client.post(path, query_string=query, headers=headers,
                               data={**form, "csrf_token": tokens[who]})  # fmt: skip
        assert resp.status_code < 500, (who, method, path, query, form, body,
                                        resp.get_data(as_text=True)[:500])  # fmt: skip

    attack()


# --- the findings, one by one -----------------------------------------------------------


def test_a_nul_byte_in_a_query_is_a_400_problem_naming_it(client):
    query = {"lon": "30.2", "lat": "50.5", "category": "a\x00b"}
    resp = client.get("/api/v1/communities/bucha/concerns/nearby", query_string=query)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["parameter"] == "category" and "control characters" in body["detail"]


def test_a_nul_byte_in_a_path_is_a_400_not_a_database_error(client):
    resp = client.get("/c/bu%00cha")
    assert resp.status_code == 400
    assert "керівні символи" in resp.get_data(as_text=True)  # the page says why, in Ukrainian


def test_a_nul_byte_in_a_staff_form_is_a_400_page_and_changes_nothing(app, staff, engine):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    page = client.get("/staff/c/bucha/sessions/").get_data(as_text=True)
    resp = client.post(
        "/staff/c/bucha/sessions/",
        data={"title": "Нуль\x00байт", "held_on": "2026-11-21", "csrf_token": csrf_from(page)},
    )
    assert resp.status_code == 400 and "керівні символи" in resp.get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM planning_session "
                                "WHERE title LIKE 'Нуль%'")) == 0  # fmt: skip


def test_new_lines_and_tabs_in_form_text_are_accepted(app, staff, engine):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    page = client.get("/staff/c/bucha/measures/new").get_data(as_text=True)
    resp = client.post(
        "/staff/c/bucha/measures/new",
        data={
            "title": "Огляд\tдворів",
            "kind": "outreach",
            "agency": "Поліція",
            "owner": "Ігор",
            "description": "Перший рядок\r\nДругий рядок",
            "csrf_token": csrf_from(page),
        },
    )
    assert resp.status_code == 302
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT description FROM measure WHERE title = :t"),
                           {"t": "Огляд\tдворів"}) == "Перший рядок\r\nДругий рядок"  # fmt: skip


def test_a_50000_deep_json_array_is_a_400_problem(client):
    resp = client.post("/api/v1/communities/bucha/concerns", data=deep_json(50_000),
                       content_type="application/json")  # fmt: skip
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert "nested deeper" in resp.get_json()["detail"]


def test_a_lone_surrogate_in_json_is_a_400_problem(client):
    resp = client.post(
        "/api/v1/communities/bucha/concerns",
        content_type="application/json",
        data='{"category": "poor_lighting", "description": "\\ud800", '
        '"lon": 30.21, "lat": 50.545, "client_token": "abcdefgh12"}',
    )
    assert resp.status_code == 400 and resp.get_json()["parameter"] == "description"


@pytest.mark.parametrize("url", [
    "/api/v1/communities/bucha/layers/incident_cells.geojson?period=9999",
    "/api/v1/communities/bucha/layers/concerns.geojson?period=9999",
    "/api/v1/communities/bucha/layers/hotspots.geojson?period=9999",
    "/tiles/incidents/0/0/0.mvt?period=9999",
    "/ogc/collections/bucha.concerns/items?period=9999",
    "/ogc/collections/bucha.concerns/items?datetime=9999-12-31",
    "/api/v1/communities/bucha/layers/hotspots.geojson?from=0001-01-01",
    "/api/v1/communities/bucha/layers/hotspots.geojson?to=9999-12-31",
])  # fmt: skip
def test_period_9999_is_a_400_problem_naming_period(app, staff, url):
    client = app.test_client()
    sign_in(client, staff["analyst"])  # hot spots are for staff; the rest answers anyone
    resp = client.get(url)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    name = next(n for n in ("period", "datetime", "from", "to") if f"{n}=" in url)
    detail = resp.get_json()["detail"]
    assert any(q in detail for q in (f"'{name}'", f"{name} '", f"«{name}»")), detail


@pytest.mark.parametrize("url", [
    "/staff/c/bucha/concerns/?page=" + "9" * 401,
    "/api/v1/geocode?q=Вокзальна&community=bucha&limit=" + "9" * 401,
    "/staff/audit?page=9223372036854775808",
])  # fmt: skip
def test_a_401_digit_number_in_a_query_is_a_400(app, staff, url):
    client = app.test_client()
    sign_in(client, staff["admin"])
    resp = client.get(url)
    assert resp.status_code == 400


def test_a_401_digit_id_in_the_path_is_a_404(app, staff):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    assert client.get("/staff/c/bucha/sessions/" + "9" * 401).status_code == 404
    assert client.get("/staff/c/bucha/sessions/" + "9" * 1500).status_code == 404
    assert client.get("/tiles/incidents/" + "9" * 401 + "/0/0.mvt").status_code == 404


@pytest.mark.parametrize(
    "target", ["/staff/audit\r\nSet-Cookie: x=1", "/staff/\n", "/\x00", "/\\evil.example"]
)
def test_control_characters_in_next_are_ignored(app, staff, target):
    client = app.test_client()
    page = client.get("/staff/login", query_string={"next": target}).get_data(as_text=True)
    resp = client.post("/staff/login", query_string={"next": target}, data={
        "email": staff["coordinator"].email, "password": staff["coordinator"].password,
        "totp": staff["coordinator"].code(), "csrf_token": csrf_from(page)})  # fmt: skip
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/"
    assert "Set-Cookie: x=1" not in str(resp.headers)


def test_a_201_character_indicator_name_re_renders_the_form_marked_and_kept(app, staff):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    page = client.get("/staff/c/bucha/measures/new").get_data(as_text=True)
    name = "Кількість викликів поліції на зупинку " + "я" * 163  # 201 characters
    assert len(name) == 201
    resp = client.post(
        "/staff/c/bucha/measures/new",
        data={
            "title": "Показник задовгий",
            "kind": "patrols",
            "agency": "Поліція",
            "owner": "Ігор",
            "indicator_0_name": name,
            "indicator_0_baseline": "12",
            "csrf_token": csrf_from(page),
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert f'value="{name}"' in html  # what was typed is kept
    assert '<div class="indicator has-error">' in html  # the field is marked
    assert "Назва показника задовга (щонайбільше 200 символів)." in html


def test_another_communitys_category_is_refused_in_moderation(db_session):
    from geoapp.services import moderation
    from geoapp.services.categories import add_for_community
    from geoapp.services.communities import get_by_slug
    from geoapp.services.concerns import Report, report_concern

    bucha, lviv = get_by_slug(db_session, "bucha"), get_by_slug(db_session, "lviv-halytskyi")
    theirs = add_for_community(db_session, lviv.id, "lviv_only_tram_stop", "Трамвайна зупинка",
                               "Tram stop")  # fmt: skip
    receipt = report_concern(db_session, bucha, Report(
        category="poor_lighting", description="Темно", lon=30.21, lat=50.545,
        client_token=uuid.uuid4().hex))  # fmt: skip
    concern = moderation.get(db_session, bucha.id, receipt.public_id)
    with pytest.raises(moderation.ModerationError):
        moderation.edit(db_session, concern, 1, 100.0, category_code=theirs.code)
    db_session.refresh(concern)
    assert concern.category_id != theirs.id


def test_a_moderators_over_long_text_is_refused_not_cut(app, staff, engine):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    body = {"category": "poor_lighting", "lon": 30.21, "lat": 50.545, "description": "Темно",
            "client_token": uuid.uuid4().hex}  # fmt: skip
    public_id = client.post("/api/v1/communities/bucha/concerns", json=body).get_json()["public_id"]
    page = client.get(f"/staff/c/bucha/concerns/{public_id}").get_data(as_text=True)
    resp = client.post(
        f"/staff/c/bucha/concerns/{public_id}/edit",
        data={"description": "т" * 1001, "csrf_token": csrf_from(page)},
        follow_redirects=True,
    )
    assert "щонайбільше 1000 символів" in resp.get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT description FROM concern WHERE public_id = :p"),
                           {"p": public_id}) == "Темно"  # fmt: skip


def test_a_client_cannot_claim_geocoded_for_its_own_pin(client, engine):
    body = {"category": "poor_lighting", "lon": 30.21, "lat": 50.545, "description": "Темно",
            "located_by": "geocoded", "client_token": uuid.uuid4().hex}  # fmt: skip
    public_id = client.post("/api/v1/communities/bucha/concerns", json=body).get_json()["public_id"]
    page = client.get("/c/bucha/report").get_data(as_text=True)
    form_token = uuid.uuid4().hex
    resp = client.post("/c/bucha/report", data={
        "category": "poor_lighting", "lon": "30.21", "lat": "50.545", "located_by": "geocoded",
        "client_token": form_token, "csrf_token": csrf_from(page)})  # fmt: skip
    assert resp.status_code == 302
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT located_by, geocode_score FROM concern WHERE public_id = :p "
            "OR client_token = :t"), {"p": public_id, "t": form_token}).all()  # fmt: skip
    assert rows == [("pin", None), ("pin", None)]


def test_an_over_long_address_or_name_is_a_422_naming_the_field(client):
    body = {"category": "poor_lighting", "lon": 30.21, "lat": 50.545, "address": "в" * 301,
            "contact": {"name": "І" * 201, "consent": True},
            "client_token": uuid.uuid4().hex}  # fmt: skip
    resp = client.post("/api/v1/communities/bucha/concerns", json=body)
    assert resp.status_code == 422
    fields = {e["field"]: e["message"] for e in resp.get_json()["errors"]}
    assert fields["address"] == "Адреса задовга (щонайбільше 300 символів)."
    assert fields["contact_name"] == "Ім'я задовге (щонайбільше 200 символів)."


def test_a_401_digit_number_in_json_is_a_400_problem(client):
    body = ('{"category": "poor_lighting", "lon": ' + "9" * 401 + ', "lat": 50.545, '
            '"client_token": "' + uuid.uuid4().hex + '"}')  # fmt: skip
    resp = client.post("/api/v1/communities/bucha/concerns", data=body,
                       content_type="application/json")  # fmt: skip
    assert resp.status_code == 400 and resp.get_json()["parameter"] == "lon"


def test_huge_cell_indexes_and_infinite_baselines_are_not_a_500(app, staff):
    client = app.test_client()
    sign_in(client, staff["coordinator"])
    token = csrf_from(client.get("/staff/c/bucha/measures/new").get_data(as_text=True))
    base = {"title": "Огляд", "kind": "lighting", "agency": "Рада", "owner": "Ігор",
            "csrf_token": token}  # fmt: skip
    cells = client.post("/staff/c/bucha/measures/new", data={**base, "cells": "9" * 401 + ":1"})
    assert cells.status_code < 500  # a tampered hidden field: no cells, not an overflow
    for baseline in ("1e400", "inf", "nan"):
        resp = client.post("/staff/c/bucha/measures/new", data={
            **base, "indicator_0_name": "Виклики", "indicator_0_baseline": baseline})  # fmt: skip
        assert resp.status_code == 400
        assert '<div class="indicator has-error">' in resp.get_data(as_text=True)
