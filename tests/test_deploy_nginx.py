"""The office deployment as a browser meets it: deploy/'s nginx site, rendered for a
temporary port with a certificate made here by openssl, in front of gunicorn with
GEOAPP_PROXY_FIX=1.  Over https the pages answer, HSTS is sent, the app knows the client
used https (links, Secure cookie), plain http is sent to https, static files come from
nginx, and a body over the app's upload limit is refused before it reaches the app.
The systemd units are checked for the hardening the README promises."""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from geoapp.config import PROJECT_ROOT
from tests.conftest import LIMIT_PREFIX, REDIS_URL
from tests.helpers import free_port, wait_until_healthy

NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
DEPLOY = PROJECT_ROOT / "deploy"
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (`make setup` installs it as root)"
)


def _certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    return cert, key


def _render(**options: object) -> str:
    sys.path.insert(0, str(DEPLOY))
    try:
        from render_nginx import render
    finally:
        sys.path.remove(str(DEPLOY))
    return render(**options)  # type: ignore[arg-type]


def _main_conf(folder: Path, site: Path) -> Path:
    """The test's own nginx.conf: pid, logs and temp files in `folder`; the site included."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the temp folders
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {site};
}}
""")
    return conf


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory) -> Iterator[dict]:
    """nginx on free https/http ports in front of gunicorn on a free loopback port."""
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = _certificate(folder)
    https_port, http_port, app_port = free_port(), free_port(), free_port()
    site_conf = folder / "geoapp.conf"
    site_conf.write_text(_render(server_name="127.0.0.1", cert=str(cert), key=str(key),
                                 upstream=f"127.0.0.1:{app_port}", https_port=https_port,
                                 http_port=http_port, listen="127.0.0.1"))  # fmt: skip
    conf = _main_conf(folder, site_conf)
    env = {**os.environ, "DATABASE_URL": database_url, "GEOAPP_PROXY_FIX": "1",
           "SECRET_KEY": secrets.token_urlsafe(48), "REDIS_URL": REDIS_URL,
           "GEOAPP_LIMIT_PREFIX": LIMIT_PREFIX, "PYTHONPATH": str(PROJECT_ROOT)}  # fmt: skip
    for name in ("GEOAPP_LOCAL_DEV", "GEOAPP_PUBLIC_URL", "GEOAPP_TRUSTED_HOSTS"):
        env.pop(name, None)  # the app learns scheme and host from nginx alone
    app = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "gunicorn"), "--workers", "2", "--bind",
         f"127.0.0.1:{app_port}", "geoapp.wsgi:app"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    web = None
    try:
        wait_until_healthy(f"http://127.0.0.1:{app_port}", seconds=60)
        nginx = [NGINX, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")]
        test = subprocess.run([*nginx, "-t"], capture_output=True, text=True, timeout=30)
        web = subprocess.Popen([*nginx, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        base = f"https://127.0.0.1:{https_port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", verify=str(cert), timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or web.poll() is not None:
                    log = (
                        (folder / "error.log").read_text()
                        if (folder / "error.log").exists()
                        else ""
                    )
                    pytest.fail(f"nginx did not answer: {test.stderr}\n{log}")
                time.sleep(0.2)
        yield {"base": base, "cert": str(cert), "http": f"http://127.0.0.1:{http_port}",
               "port": https_port, "check": test, "conf": site_conf.read_text(),
               "folder": folder}  # fmt: skip
    finally:
        if web is not None:
            _stop(web, signal.SIGQUIT)  # graceful
        _stop(app)


@needs_nginx
def test_nginx_accepts_the_configuration(site):
    assert site["check"].returncode == 0, site["check"].stderr
    assert "test is successful" in site["check"].stderr


@needs_nginx
def test_a_page_over_https_with_hsts_and_the_app_sees_https(site):
    page = requests.get(f"{site['base']}/", verify=site["cert"], timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    # nginx adds no HSTS of its own: this one is the app's, sent because it saw https.
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert page.headers["Server"] == "nginx"  # no version given away
    links = requests.get(f"{site['base']}/ogc/", verify=site["cert"], timeout=30).json()["links"]
    assert all(link["href"].startswith(f"{site['base']}/ogc") for link in links), links
    login = requests.get(f"{site['base']}/staff/login", verify=site["cert"], timeout=30)
    cookie = login.headers["Set-Cookie"]
    assert "session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


@needs_nginx
def test_nginx_keeps_no_visitor_address_nor_tracking_link(site):
    """The main nginx.conf logs every request (as Debian's does); the site turns it off."""
    requests.get(f"{site['base']}/t/a-private-tracking-token", verify=site["cert"], timeout=30)
    requests.get(f"{site['base']}/c/bucha", verify=site["cert"], timeout=30)
    log = site["folder"] / "access.log"
    written = log.read_text() if log.exists() else ""
    assert "127.0.0.1" not in written and "tracking-token" not in written, written[-500:]


def test_the_web_unit_keeps_no_access_log():
    unit = (DEPLOY / "systemd" / "geoapp-web.service").read_text()
    command = [line for line in unit.splitlines() if not line.lstrip().startswith("#")]
    assert "gunicorn" in "\n".join(command) and "--access-logfile" not in "\n".join(command)


@needs_nginx
def test_plain_http_is_sent_to_https(site):
    resp = requests.get(f"{site['http']}/staff/login?x=1", allow_redirects=False, timeout=10)
    assert resp.status_code == 301
    assert resp.headers["Location"] == f"{site['base']}/staff/login?x=1"


@needs_nginx
def test_static_files_come_from_nginx(site):
    path = "vendor/leaflet/leaflet.js"
    if not (PROJECT_ROOT / "geoapp" / "static" / path).exists():
        path = "favicon.svg"
    resp = requests.get(f"{site['base']}/static/{path}", verify=site["cert"], timeout=30)
    assert resp.status_code == 200
    assert resp.content == (PROJECT_ROOT / "geoapp" / "static" / path).read_bytes()
    assert "Permissions-Policy" not in resp.headers  # the app never saw this request
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@needs_nginx
def test_a_body_over_the_upload_limit_is_refused_by_nginx(site):
    from geoapp.config import from_environment

    limit = from_environment()["MAX_CONTENT_LENGTH"]
    assert f"client_max_body_size {limit // (1024 * 1024)}m;" in site["conf"]
    context = ssl.create_default_context(cafile=site["cert"])
    conn = http.client.HTTPSConnection("127.0.0.1", site["port"], context=context, timeout=30)
    try:
        conn.putrequest("POST", "/staff/c/bucha/incidents/")
        conn.putheader("Content-Type", "text/csv")
        conn.putheader("Content-Length", str(limit + 1024 * 1024))
        conn.endheaders()  # nothing sent: nginx judges the declared length
        assert conn.getresponse().status == 413
    finally:
        conn.close()


def _unit(name: str) -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _eq, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.mark.parametrize("name", ["geoapp-web.service", "geoapp-worker.service"])
def test_the_units_run_as_geoapp_confined(name):
    unit = _unit(name)
    assert unit["User"] == "geoapp" and unit["Group"] == "geoapp"
    assert unit["ProtectSystem"] == "strict" and unit["NoNewPrivileges"] == "yes"
    assert unit["EnvironmentFile"] == "/etc/geoapp/geoapp.env"
    assert unit["CapabilityBoundingSet"] == ""
    assert unit["ExecStartPre"].endswith("geoapp check-deploy")
    command = "gunicorn" if name == "geoapp-web.service" else "geoapp worker"
    assert command in unit["ExecStart"]
    if shutil.which("systemd-analyze"):
        result = subprocess.run(["systemd-analyze", "verify", str(DEPLOY / "systemd" / name)],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        # Only the paths of an installed office may be missing here, never a bad directive.
        bad = [line for line in result.stderr.splitlines()
               if "Unknown" in line or "Failed to parse" in line]  # fmt: skip
        assert not bad, result.stderr
