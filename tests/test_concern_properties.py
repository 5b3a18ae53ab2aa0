"""Hypothesis: a valid report with any one field made invalid is refused (4xx) and stores
nothing; a valid one is stored.  The API never answers 5xx."""

from __future__ import annotations

import math
import re
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

VALID = {"category": "vandalism", "lon": 30.21, "lat": 50.545, "description": "Розбита зупинка"}

not_a_number = st.one_of(
    st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)
)
bad_point = st.one_of(
    st.tuples(st.just("lon"), st.floats(min_value=180.0001, max_value=1e9)),
    st.tuples(st.just("lat"), st.floats(max_value=-90.0001, min_value=-1e9)),
    st.tuples(st.sampled_from(["lon", "lat"]), st.just(math.inf)),
    st.tuples(st.just("lon"), st.floats(min_value=35.0, max_value=40.0)),  # in Ukraine, not Bucha
)
corruptions = st.one_of(
    st.tuples(
        st.just("category"),
        st.one_of(
            st.text(max_size=30).filter(lambda s: s.strip() not in {"vandalism", "poor_lighting"}),
            st.integers(),
            st.none(),
        ),
    ),
    st.tuples(
        st.just("description"),  # printable: control characters are stripped first
        st.text(
            st.characters(blacklist_categories=("Cc", "Cs")), min_size=1001, max_size=1200
        ).filter(lambda s: len(s.strip()) > 1000),  # the API strips surrounding whitespace
    ),
    st.tuples(
        st.just("client_token"),
        st.one_of(
            st.text(max_size=7),
            st.text(min_size=65, max_size=80),
            st.from_regex(r"[^A-Za-z0-9_-]{8,20}", fullmatch=True),
            st.integers(),
        ),
    ),
    st.tuples(
        st.just("contact"),
        st.fixed_dictionaries({"phone": st.text(alphabet="abcxyz!?", min_size=3, max_size=12)}),
    ),
    st.tuples(
        st.just("contact"),
        st.fixed_dictionaries(
            {
                "name": st.text(min_size=1, max_size=20).filter(
                    lambda s: re.sub(r"[\x00-\x1f\x7f]", "", s).strip()
                )
            }
        ),
    ),
    bad_point,
    st.tuples(st.just("lon"), not_a_number),
)


def _stored(engine, token: object) -> int:
    if "\x00" in str(token):
        return 0  # PostgreSQL cannot hold it, so it cannot have been stored
    with engine.connect() as conn:
        return conn.scalar(
            text("SELECT count(*) FROM concern WHERE client_token = :t"), {"t": str(token)}
        )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(corruption=corruptions)
def test_any_invalid_field_is_refused_and_nothing_stored(client, engine, corruption):
    field, value = corruption
    body = {**VALID, "client_token": uuid.uuid4().hex, field: value}
    resp = client.post("/api/v1/communities/bucha/concerns", json=body)
    assert 400 <= resp.status_code < 500, (body, resp.get_json())
    assert resp.mimetype == "application/problem+json"
    assert _stored(engine, body["client_token"]) == 0


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.none(), st.integers(), st.lists(st.integers(), max_size=3), st.text(max_size=20)
    )
)
def test_anything_but_a_json_object_is_a_400(client, body):
    resp = client.post("/api/v1/communities/bucha/concerns", json=body)
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(  # text as typed: tabs and new lines yes, other control characters are refused (400)
    description=st.text(
        st.characters(exclude_categories=["Cc", "Cs"], include_characters="\t\n\r"),
        max_size=1000,
    ),
    lon=st.floats(30.205, 30.215),
    lat=st.floats(50.541, 50.549),
)
def test_valid_reports_are_stored_once(client, engine, description, lon, lat):
    token = uuid.uuid4().hex
    body = {
        "category": "poor_lighting",
        "lon": lon,
        "lat": lat,
        "description": description,
        "client_token": token,
    }
    assert client.post("/api/v1/communities/bucha/concerns", json=body).status_code == 201
    assert _stored(engine, token) == 1
