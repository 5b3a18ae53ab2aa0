"""Security plumbing: CSRF, sign-in throttling, login sessions, response headers.

The Content-Security-Policy allows scripts and styles only from the app and
from elements carrying this response's nonce, so no inline script can run
unless the app wrote it; pages loaded from elsewhere cannot frame ours.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect

from geoapp import db
from geoapp.models.user import LoginSession, Role, User
from geoapp.services import accounts

csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=lambda: limit_key("address", address_key(get_remote_address())))


def address_key(address: str | None) -> str:
    """A caller's address as a limiter counts it: a keyed hash, never the address itself.

    The counters live in Redis for their window and in its snapshots on disk; a keyed hash
    lets them count a caller without keeping who the caller was (PRIVACY.md, "Visitors").
    """
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, b"limit-address:" + (address or "").encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def limit_key(*parts: object) -> str:
    """A limiter key under this app's own prefix.

    Flask-Limiter keeps the key prefix of the first app it was set up with; several apps
    in one process (tests, a CLI that builds one) would otherwise share every counter.
    """
    return "|".join([current_app.config["GEOAPP_LIMIT_PREFIX"], *map(str, parts)])


class StaffUser(UserMixin):
    """The signed-in person as Flask-Login sees them: a user and one login session."""

    def __init__(self, login: LoginSession) -> None:
        self.login = login
        self.user: User = login.user

    def get_id(self) -> str:
        """The login session's id: all the cookie carries."""
        return self.login.id

    def role_in(self, community_id: int) -> Role | None:
        """The user's role in a community, or None for a stranger."""
        for m in self.user.memberships:
            if m.community_id == community_id:
                return m.role
        return None

    @property
    def community_ids(self) -> list[int]:
        """The communities this user belongs to."""
        return [m.community_id for m in self.user.memberships]

    @property
    def must_enrol_totp(self) -> bool:
        """Coordinators and admins (who open contacts) must first set up a second factor."""
        return accounts.needs_second_factor(self.user) and not self.user.totp_secret


def lifetimes() -> accounts.Lifetimes:
    """The configured idle and absolute lifetimes of a login session."""
    config = current_app.config
    return accounts.Lifetimes(
        idle=timedelta(minutes=config["GEOAPP_SESSION_IDLE_MINUTES"]),
        absolute=timedelta(hours=config["GEOAPP_SESSION_MAX_HOURS"]),
    )


@login_manager.user_loader
def _load(session_id: str) -> StaffUser | None:
    login = accounts.active_session(db.session(), session_id, lifetimes())
    return StaffUser(login) if login else None


def csp_nonce() -> str:
    """The response's nonce for the <script> and <style> elements the app writes."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


_TAG = re.compile(r"<(script|style)(?=[\s>])")


def add_nonce(html: str) -> str:
    """Give every <script> and <style> in generated markup (folium's) this response's nonce."""
    return _TAG.sub(lambda m: f'<{m.group(1)} nonce="{csp_nonce()}"', html)


def _tile_origin(url: str) -> str:
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def _headers(response: Response) -> Response:
    """Headers every response carries; what depends on who asked is kept from shared caches.

    A response to a signed-in member or to a bearer token (and every staff page) is
    `private, no-store` and `Cross-Origin-Resource-Policy: same-origin` unless the view
    chose a private policy itself; API, OGC and tile answers differ by audience, so they
    say `Vary: Authorization, Cookie` for any cache that keeps them.  HSTS goes out over
    https, and always when the public URL is https (behind a proxy without ProxyFix too).
    """
    from flask import session

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    # The report page's "my location" needs geolocation here; nothing needs the rest.
    response.headers.setdefault(
        "Permissions-Policy",
        "geolocation=(self), camera=(), microphone=(), payment=(), usb=(), serial=(), "
        "bluetooth=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), "
        "display-capture=(), browsing-topics=()",
    )
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        nonce = csp_nonce()
        tiles = _tile_origin(current_app.config["GEOAPP_TILE_URL"])
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            f"style-src 'self' 'nonce-{nonce}'; "
            f"img-src 'self' data: {tiles}; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
    if request.path.startswith(("/api/", "/ogc", "/tiles/")):  # answers differ by audience
        response.vary.update(("Authorization", "Cookie"))
    # Made for someone: a staff page, a bearer token, or a signed-in member's cookie.
    for_someone = request.endpoint != "static" and (
        request.path.startswith("/staff")
        or "Authorization" in request.headers
        or "_user_id" in session
    )
    if for_someone:
        chosen = response.headers.get("Cache-Control", "")
        if "private" not in chosen and "no-store" not in chosen:
            response.headers["Cache-Control"] = "private, no-store"
        elif "private" not in chosen:  # "no-store" alone: say private too
            response.headers["Cache-Control"] = "private, " + chosen
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    public_url = current_app.config.get("GEOAPP_PUBLIC_URL") or ""
    if request.is_secure or public_url.startswith("https://"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def init_app(app: Flask) -> None:
    """Install CSRF protection, the limiter (Redis when configured), login and headers."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=app.config["GEOAPP_SESSION_MAX_HOURS"]
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["GEOAPP_LIMIT_PREFIX"])
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
