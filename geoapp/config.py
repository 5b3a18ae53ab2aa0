"""Settings from the environment.

Everything that differs between a laptop, CI and a deployment is read here and
nowhere else, so that a reader can see every knob in one file.  Values can be
overridden by the mapping given to :func:`geoapp.create_app` (tests do).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/geoapp"
# Hexagon sizes (edge, metres) the incident counts are kept at; the public sees a subset.
CELL_SIZES = (250, 500, 1000)
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


def default_data_dir() -> Path:
    """Where the reference data lives: `GEOAPP_DATA_DIR`, else `../shared/data`.

    The data is not copied into the project (it is large and has its own
    licences); the sibling folder is where the workplace and CI put it.
    """
    configured = os.environ.get("GEOAPP_DATA_DIR")
    if configured:
        return Path(configured)
    return PROJECT_ROOT.parent / "shared" / "data"


def normalise_database_url(url: str) -> str:
    """Make a libpq-style URL use the psycopg 3 driver.

    People paste `postgresql://...` from psql; SQLAlchemy would then look for
    psycopg2, which we do not install.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment() -> dict[str, Any]:
    """Read every setting from the environment, with the documented defaults."""
    env = os.environ
    return {
        "DATABASE_URL": normalise_database_url(env.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
        "SECRET_KEY": env.get("SECRET_KEY", "dev-only-not-secret"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "GEOAPP_DATA_DIR": str(default_data_dir()),
        "GEOAPP_TILE_URL": env.get("GEOAPP_TILE_URL", DEFAULT_TILE_URL),
        "GEOAPP_TILE_ATTRIBUTION": env.get("GEOAPP_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION),
        "GEOAPP_LAYERS_DIR": env.get("GEOAPP_LAYERS_DIR", str(PROJECT_ROOT / "layers")),
        "BABEL_DEFAULT_LOCALE": "uk",
        "BABEL_DEFAULT_TIMEZONE": env.get("GEOAPP_TIMEZONE", "Europe/Kyiv"),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "GEOAPP_LANGUAGES": ("uk", "en"),
        "MAX_CONTENT_LENGTH": 60 * 1024 * 1024,
        # Cookies: Secure everywhere but local development over plain http (`make run`).
        "SESSION_COOKIE_SECURE": env.get("GEOAPP_LOCAL_DEV") != "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Failed sign-ins allowed per address and email; shared across workers through Redis.
        "GEOAPP_SIGNIN_LIMIT": env.get("GEOAPP_SIGNIN_LIMIT", "5 per 15 minutes"),
        "GEOAPP_LIMIT_PREFIX": env.get("GEOAPP_LIMIT_PREFIX", "geoapp"),
        # Public outputs show a concern snapped to a grid of this many metres (privacy rule 2).
        "GEOAPP_CHROMIUM": env.get("GEOAPP_CHROMIUM", "/usr/bin/chromium"),  # minutes' PDF
        "GEOAPP_PUBLIC_GRID_M": float(env.get("GEOAPP_PUBLIC_GRID_M", "100")),
        # Submissions allowed per client address (residents share addresses behind mobile NAT,
        # so this is generous; it stops floods, not people).
        "GEOAPP_REPORT_LIMIT": env.get("GEOAPP_REPORT_LIMIT", "30 per hour"),
        # Optional online geocoder (Nominatim-compatible), asked only when the gazetteer has
        # nothing. Off by default: the app must work without any outside service.
        "GEOAPP_GEOCODER_URL": env.get("GEOAPP_GEOCODER_URL") or None,
        "GEOAPP_GEOCODER_TIMEOUT": float(env.get("GEOAPP_GEOCODER_TIMEOUT", "3")),
        # Incident counts 0 < n < k are withheld from public and partner outputs (privacy rule 3).
        "GEOAPP_SUPPRESSION_K": int(env.get("GEOAPP_SUPPRESSION_K", "10")),
        # Above this many incidents the staff map draws them from vector tiles, not GeoJSON
        # (bench/RESULTS.md, "tiles": what a browser receives either way).
        "GEOAPP_TILE_THRESHOLD": int(env.get("GEOAPP_TILE_THRESHOLD", "20000")),
        # Hexagon sizes (metres, edge) the public may see; 250 m cells stay with staff.
        "GEOAPP_PUBLIC_CELL_SIZES": cell_sizes(env.get("GEOAPP_PUBLIC_CELL_SIZES", "500,1000")),
        # --- Running it for an office (README "Running it for an office"; `geoapp check-deploy`).
        # The app's address as people reach it (https://map.example.ua, or with a path prefix):
        # every absolute link (tracking URLs, OGC links) is built on it, never on the request's
        # Host header, which anyone can forge.
        "GEOAPP_PUBLIC_URL": public_url(env.get("GEOAPP_PUBLIC_URL", "")),
        # Host names the app answers; a request with another Host gets 400 (Flask's check).
        "TRUSTED_HOSTS": host_list(env.get("GEOAPP_TRUSTED_HOSTS", "")),
        # How many proxies (nginx: 1) stand in front and set X-Forwarded-For/-Proto/-Host;
        # 0 = none, and then those headers are ignored (a client could send them itself).
        "GEOAPP_PROXY_FIX": int(env.get("GEOAPP_PROXY_FIX", "0")),
        # Where backups go (checked by `geoapp check-deploy`; the backup job is a later issue).
        "GEOAPP_BACKUP_DIR": env.get("GEOAPP_BACKUP_DIR") or None,
        # The key that encrypts residents' contact details (mode 600, kept away from the
        # database's files and the backups). The contacts change reads it; keep one entry.
        "GEOAPP_CONTACT_KEY_FILE": env.get("GEOAPP_CONTACT_KEY_FILE") or None,
    }


def cell_sizes(value: str) -> tuple[int, ...]:
    """Parse a comma-separated list of cell sizes; only the sizes that are counted are allowed.

    A wrong value stops the start with a message, rather than publishing nothing.
    """
    try:
        sizes = tuple(sorted({int(part) for part in value.split(",") if part.strip()}))
    except ValueError as exc:
        raise ValueError(f"GEOAPP_PUBLIC_CELL_SIZES: '{value}' is not a list of numbers") from exc
    if not sizes or not set(sizes) <= set(CELL_SIZES):
        raise ValueError(f"GEOAPP_PUBLIC_CELL_SIZES: choose among {CELL_SIZES}, got '{value}'")
    return sizes


def public_url(value: str) -> str | None:
    """`GEOAPP_PUBLIC_URL` without its trailing slash; None when unset.

    A value that is not an http(s) URL with a host stops the start, since every
    link the app gives out would otherwise be broken.
    """
    value = value.strip().rstrip("/")
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"GEOAPP_PUBLIC_URL: '{value}' is not an http(s) URL like https://host")
    return value


def host_list(value: str) -> list[str] | None:
    """A comma-separated list of host names (`GEOAPP_TRUSTED_HOSTS`); None when unset."""
    hosts = [part.strip() for part in value.split(",") if part.strip()]
    return hosts or None
