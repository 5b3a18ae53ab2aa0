"""The optional online fallback: off by default, asked only when the gazetteer has nothing,
cached, bounded by a timeout, and never trusted outside the community.

A small HTTP server on loopback plays the outside (Nominatim-compatible) service.
"""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

from geoapp import create_app
from tests.conftest import app_config


class _Nominatim(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared by design: the test reads it
    delay = 0.0

    def do_GET(self):
        type(self).requests.append(self.path)
        time.sleep(type(self).delay)
        answers = [
            {"lat": "50.5440", "lon": "30.2120", "display_name": "вулиця Яблунська, 1, Буча"},
            {"lat": "49.8400", "lon": "24.0300", "display_name": "вулиця Яблунська, 1, Львів"},
        ]
        body = json.dumps(answers).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def outside_service():
    _Nominatim.requests, _Nominatim.delay = [], 0.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Nominatim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", _Nominatim
    server.shutdown()


def test_off_by_default(client, outside_service):
    body = client.get("/api/v1/geocode?q=Жзщюфцх%2012&community=bucha").get_json()
    assert body["candidates"] == [] and outside_service[1].requests == []


def test_asked_only_when_the_gazetteer_has_nothing(database_url, outside_service):
    url, service = outside_service
    app = create_app(app_config(database_url, GEOAPP_GEOCODER_URL=url))
    client = app.test_client()
    body = client.get("/api/v1/geocode?q=Жзщюфцх%2012&community=bucha").get_json()
    (only,) = body["candidates"]  # the Lviv answer lies outside Bucha and is dropped
    assert only["kind"] == "external" and only["label"].endswith("Буча")
    assert only["score"] < 0.6
    client.get("/api/v1/geocode?q=Жзщюфцх%2012&community=bucha")
    assert len(service.requests) == 1  # the second, identical query came from the cache
    assert "countrycodes=ua" in service.requests[0] and "bounded=1" in service.requests[0]


def test_a_slow_service_is_cut_off(database_url, outside_service):
    url, service = outside_service
    service.delay = 2.0
    app = create_app(app_config(database_url, GEOAPP_GEOCODER_URL=url, GEOAPP_GEOCODER_TIMEOUT=0.3))
    started = time.monotonic()
    resp = app.test_client().get("/api/v1/geocode?q=Щюфцхжз%203&community=bucha")
    assert resp.status_code == 200 and resp.get_json()["candidates"] == []
    assert time.monotonic() - started < 1.5
