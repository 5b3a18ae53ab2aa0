"""Every staff and API route, tried as every role, in its own and another community.

The routes come from the app's URL map, so a new route is covered without
touching this file; a staff route that declares no access rule fails here.
Expected: signed out -> 302 to sign-in; a stranger to the community -> 404
(existence not confirmed); a member below the route's role -> 403; else 200.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from geoapp.models.user import Role
from geoapp.web.access import ADMIN_ANYWHERE, SIGNED_IN
from tests.conftest import OTHER, OWN, sign_in

PERSONAS = ["anonymous", *(r.value for r in Role)]
SAMPLE_ARGS = {
    "slug": None,
    "layer": "boundaries",
    "public_id": None,
    "token": None,
    "int:batch_id": None,
    "measure_id": None,
    "int:session_id": None,
    "any(csv, gpkg):fmt": "csv",
    "collection": "bucha.boundaries",
    "int:z": "12",
    "int:x": "2391",  # the tile with Bucha station
    "int:y": "1379",
    "fid": None,
    "job_id": None,
}
SAMPLE_QUERY = {
    "api.locate_point": "?lon=30.22&lat=50.55",
    "api.geocode_address": "?q=Вокзальна%2046&community=bucha",
    "api.geocode_reverse": "?lon=30.22&lat=50.55",
    "api.concerns_nearby": "?category=vandalism&lon=30.21&lat=50.545",
    "analysis.series": "?i=403&j=6469",  # the 500 m cell at Bucha station
}
PUBLIC_ENDPOINTS = {"auth.login"}  # staff-side, but reachable by anyone on purpose


@pytest.fixture(scope="module")
def samples(app, engine, request):
    """A concern, an import batch and a queued import job in Bucha, for routes that open them."""
    resp = app.test_client().post(
        "/api/v1/communities/bucha/concerns",
        json={
            "category": "vandalism",
            "lon": 30.21,
            "lat": 50.545,
            "client_token": "access-matrix-sample-0001",
        },
    )
    body = resp.get_json()
    from sqlalchemy.orm import Session

    from geoapp.models.concern import Concern, ConcernPhoto
    from tests.test_photos import jpeg_with_gps

    with Session(engine) as sess:  # give it a photo, so the photo route has one to serve
        concern = sess.query(Concern).filter_by(public_id=body["public_id"]).one()
        if sess.get(ConcernPhoto, concern.id) is None:
            from geoapp.services.photos import clean_photo

            photo = clean_photo(jpeg_with_gps((64, 48)))
            sess.add(
                ConcernPhoto(
                    concern_id=concern.id, jpeg=photo.jpeg, width=photo.width, height=photo.height
                )
            )
            sess.commit()
        from geoapp.models.incident import ImportBatch

        batch = ImportBatch(community_id=concern.community_id, file_name="sample.csv",
                            sha256="-", profile="default", accepted=0, rejected=1,
                            errors=[[2, "outside the community"]], actor="test")  # fmt: skip
        sess.add(batch)
        sess.commit()
        batch_id = str(batch.id)
        from geoapp.models.measure import Measure
        from geoapp.models.planning import PlanningSession

        meeting = PlanningSession(community_id=concern.community_id, held_on=date(2026, 3, 2),
                                  title="Access matrix sample", participants=[],
                                  map_state={})  # fmt: skip
        measure = Measure(public_id=str(uuid.uuid4()), community_id=concern.community_id,
                          title="Access matrix sample", kind="lighting", agency="Рада",
                          owner="Owner", status="proposed")  # fmt: skip
        sess.add_all([meeting, measure])
        sess.commit()
        extra = {"measure_id": measure.public_id, "int:session_id": str(meeting.id)}
    katotth = app.test_client().get("/api/v1/communities/bucha/layers/boundaries.geojson")
    import io

    from geoapp import jobs

    job_id = jobs.enqueue_import(app.config, io.BytesIO(b"date\n"), "sample.csv",
                                 measure.community_id, "test", "default", False)  # fmt: skip
    request.addfinalizer(lambda: jobs.queue(app.config).empty())
    for stored in jobs.upload_dir(app.config).glob(f"{job_id}.*"):
        request.addfinalizer(stored.unlink)
    extra["job_id"] = job_id
    return {"public_id": body["public_id"], "token": body["tracking_url"].rsplit("/", 1)[-1],
            "int:batch_id": batch_id, **extra,
            "fid": katotth.get_json()["features"][0]["id"]}  # fmt: skip


def _routes(app) -> list[tuple[str, object, str]]:
    """(endpoint, access rule, URL template) for every GET route of staff, API, OGC, tiles."""
    out = []
    for rule in app.url_map.iter_rules():
        if (
            not rule.rule.startswith(("/staff", "/api", "/ogc", "/tiles"))
            or "GET" not in rule.methods
        ):
            continue
        view = app.view_functions[rule.endpoint]
        access = getattr(view, "access", None)
        if rule.rule.startswith("/staff") and rule.endpoint not in PUBLIC_ENDPOINTS:
            assert access is not None, f"{rule.rule} declares no access rule"
        out.append((rule.endpoint, access, rule.rule))
    return out


def _url(template: str, slug: str, samples: dict[str, str]) -> str:
    url = template
    for name, sample in SAMPLE_ARGS.items():
        url = url.replace(f"<{name}>", sample or samples.get(name) or slug)
    assert "<" not in url, f"no sample value for {url}"
    return url


def _expected(access: object, persona: str, own: bool) -> int:
    if access is None:
        return 200
    if persona == "anonymous":
        return 302
    if access == SIGNED_IN:
        return 200
    if access == ADMIN_ANYWHERE:
        return 200 if persona == "admin" else 403
    assert isinstance(access, Role)
    if not own:
        return 404
    return 200 if Role(persona).rank >= access.rank else 403


@pytest.fixture(scope="module")
def clients(app, staff):
    out = {"anonymous": app.test_client()}
    for role in Role:
        client = app.test_client()
        assert sign_in(client, staff[role.value]).status_code == 302
        out[role.value] = client
    return out


def test_access_matrix_has_no_mismatch(app, clients, samples):
    mismatches, tried = [], 0
    for endpoint, access, template in _routes(app):
        communities = [(OWN, True), (OTHER, False)] if "<slug>" in template else [(OWN, True)]
        for slug, own in communities:
            url = _url(template, slug, samples) + SAMPLE_QUERY.get(endpoint, "")
            for persona in PERSONAS:
                resp = clients[persona].get(url)
                tried += 1
                want = _expected(access, persona, own)
                if resp.status_code != want:
                    mismatches.append(f"{persona:12} {url}: {resp.status_code}, expected {want}")
                if resp.status_code == 302:
                    assert "/staff/login" in resp.headers["Location"]
                if resp.mimetype == "text/html":
                    _assert_security_headers(resp, url)
    print(f"\naccess matrix: {tried} requests, {len(mismatches)} mismatches")
    assert not mismatches, "\n".join(mismatches)
    assert tried >= 40


def test_unknown_community_is_404_for_members_too(clients):
    for persona in ("viewer", "admin"):
        assert clients[persona].get("/staff/c/atlantis/").status_code == 404


def _assert_security_headers(resp, url: str) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp, url
    assert "script-src 'self' 'nonce-" in csp, url
    assert resp.headers["X-Content-Type-Options"] == "nosniff", url
    assert resp.headers["Referrer-Policy"], url
    assert "Strict-Transport-Security" not in resp.headers  # plain http here


def test_security_headers_on_every_html_response(app, clients):
    urls = [
        "/",
        "/c/bucha",
        "/c/atlantis",
        "/staff/login",
        "/staff/",
        "/staff/c/bucha/",
        "/staff/audit",
        "/staff/password",
    ]
    for persona in ("anonymous", "admin"):
        for url in urls:
            resp = clients[persona].get(url)
            if resp.mimetype == "text/html":
                _assert_security_headers(resp, url)


def test_hsts_over_https(clients):
    resp = clients["anonymous"].get("/", base_url="https://localhost")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
