"""Settings from the environment.

Everything that differs between a laptop, CI and a deployment is read here and
nowhere else, so that a reader can see every knob in one file.  Values can be
overridden by the mapping given to :func:`geoapp.create_app` (tests do).
"""

from __future__ import annotations

import os
import secrets
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
        "SECRET_KEY": env.get("SECRET_KEY") or read_secret_file(env.get("GEOAPP_SECRET_KEY_FILE")),
        # Local development (`make run`): plain-http cookies, a generated secret is acceptable.
        "GEOAPP_LOCAL_DEV": env.get("GEOAPP_LOCAL_DEV") == "1",
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
        # A login session ends after this long without a request, and after the absolute
        # lifetime whatever happens (a planning session is a working day, not a week).
        "GEOAPP_SESSION_IDLE_MINUTES": int(env.get("GEOAPP_SESSION_IDLE_MINUTES", "60")),
        "GEOAPP_SESSION_MAX_HOURS": int(env.get("GEOAPP_SESSION_MAX_HOURS", "12")),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # Failed sign-ins allowed per account (whatever the address), per client address
        # (whatever the account: one office shares one address) and in total; wrong current
        # passwords and second-factor codes per account.  Shared across workers in Redis.
        "GEOAPP_SIGNIN_LIMIT": env.get("GEOAPP_SIGNIN_LIMIT", "5 per 15 minutes"),
        "GEOAPP_SIGNIN_ADDRESS_LIMIT": env.get("GEOAPP_SIGNIN_ADDRESS_LIMIT", "20 per 15 minutes"),
        "GEOAPP_SIGNIN_TOTAL_LIMIT": env.get("GEOAPP_SIGNIN_TOTAL_LIMIT", "300 per 15 minutes"),
        "GEOAPP_ACCOUNT_CHECK_LIMIT": env.get("GEOAPP_ACCOUNT_CHECK_LIMIT", "5 per 15 minutes"),
        "GEOAPP_LIMIT_PREFIX": env.get("GEOAPP_LIMIT_PREFIX", "geoapp"),
        # Public outputs show a concern snapped to a grid of this many metres (privacy rule 2).
        "GEOAPP_CHROMIUM": env.get("GEOAPP_CHROMIUM", "/usr/bin/chromium"),  # minutes' PDF
        "GEOAPP_PUBLIC_GRID_M": float(env.get("GEOAPP_PUBLIC_GRID_M", "100")),
        # Submissions allowed per client address (residents share addresses behind mobile NAT,
        # so this is generous; it stops floods, not people).
        "GEOAPP_REPORT_LIMIT": env.get("GEOAPP_REPORT_LIMIT", "30 per hour"),
        # "Me too" for one concern per client address: a fresh client token is not a new
        # person.  The counter lives in Redis and expires; nothing is stored per visitor.
        "GEOAPP_SUPPORT_LIMIT": env.get("GEOAPP_SUPPORT_LIMIT", "3 per day"),
        # Optional online geocoder (Nominatim-compatible), asked only when the gazetteer has
        # nothing. Off by default: the app must work without any outside service.
        "GEOAPP_GEOCODER_URL": env.get("GEOAPP_GEOCODER_URL") or None,
        "GEOAPP_GEOCODER_TIMEOUT": float(env.get("GEOAPP_GEOCODER_TIMEOUT", "3")),
        # Incident counts 0 < n < k are withheld from public and partner outputs (privacy rule 3).
        "GEOAPP_SUPPRESSION_K": int(env.get("GEOAPP_SUPPRESSION_K", "10")),
        # Sensitive categories' counts are released per closed quarter, this many days after
        # it closed (moderation catches up first), then frozen (services.sensitive_counts).
        "GEOAPP_SENSITIVE_RELEASE_LAG_DAYS": int(
            env.get("GEOAPP_SENSITIVE_RELEASE_LAG_DAYS", "30")
        ),
        # Above this many incidents the staff map draws them from vector tiles, not GeoJSON
        # (bench/RESULTS.md, "tiles": what a browser receives either way).
        "GEOAPP_TILE_THRESHOLD": int(env.get("GEOAPP_TILE_THRESHOLD", "20000")),
        # Hexagon sizes (metres, edge) the public may see; 250 m cells stay with staff.
        "GEOAPP_PUBLIC_CELL_SIZES": cell_sizes(env.get("GEOAPP_PUBLIC_CELL_SIZES", "500,1000")),
        # Background jobs (geoapp.jobs): the RQ queue on REDIS_URL, where uploads wait for the
        # worker (a folder only this user may open), and how long one import may run.
        "GEOAPP_JOB_QUEUE": env.get("GEOAPP_JOB_QUEUE", "geoapp"),
        "GEOAPP_UPLOAD_DIR": env.get("GEOAPP_UPLOAD_DIR", str(PROJECT_ROOT / "var" / "uploads")),
        "GEOAPP_IMPORT_TIMEOUT": int(env.get("GEOAPP_IMPORT_TIMEOUT", str(30 * 60))),
        # Residents' contact details (privacy rule 1) are sealed with Fernet keys kept apart
        # from the database, newest first: a file of mode 600 (one key a line) or, for
        # containers, the environment (comma-separated); not both.  In local development with
        # neither, a key file is generated once under var/ and kept.  Outside it, with neither,
        # reports are accepted without their contact (and the resident is told).
        "GEOAPP_CONTACT_KEY_FILE": env.get("GEOAPP_CONTACT_KEY_FILE") or None,
        "GEOAPP_CONTACT_KEYS": env.get("GEOAPP_CONTACT_KEYS") or None,
        "GEOAPP_CONTACT_DEV_KEY_FILE": (
            str(PROJECT_ROOT / "var" / "contact-keys")
            if env.get("GEOAPP_LOCAL_DEV") == "1"
            else None
        ),
        # Contacts are erased this many days after their concern is closed (resolved or
        # rejected): `geoapp contacts purge`, run daily (README) and by `geoapp db upgrade`.
        # Staff and partner audit events keep the client address this many days, then it is
        # erased (`geoapp audit forget-addresses`, also run by `geoapp db upgrade`); anonymous
        # callers' addresses are never stored.
        "GEOAPP_AUDIT_ADDRESS_DAYS": int(env.get("GEOAPP_AUDIT_ADDRESS_DAYS", "180")),
        "GEOAPP_CONTACT_RETENTION_DAYS": int(env.get("GEOAPP_CONTACT_RETENTION_DAYS", "90")),
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
    }


KNOWN_WEAK_SECRETS = {"dev-only-not-secret", "test-secret", "secret", "changeme", "change-me"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """A setting that makes the app unsafe or unusable; the message says what to set."""


def read_secret_file(path: str | None) -> str | None:
    """The secret kept in a file (`GEOAPP_SECRET_KEY_FILE`), refused if others may read it.

    A file keeps the secret out of the process list and of shell history; a file that the
    group or the world can read is no secret, so it stops the start.
    """
    if not path:
        return None
    file = Path(path)
    if file.stat().st_mode & 0o077:
        raise ConfigError(f"GEOAPP_SECRET_KEY_FILE {path}: readable by others; chmod 600 it")
    return file.read_text(encoding="utf-8").strip() or None


def local_secret_key(folder: Path | None = None) -> str:
    """The local development secret: made once under var/ (mode 600, git-ignored), then kept.

    `make run` thereby signs cookies with a key of real entropy, as a deployment does,
    and sign-ins survive a restart.
    """
    folder = folder or PROJECT_ROOT / "var"
    file = folder / "secret_key"
    if not file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48))
    return file.read_text(encoding="utf-8").strip()


def secret_problem(secret: str | None) -> str | None:
    """Why a SECRET_KEY is unsafe, or None when it is fine.

    Anyone who knows the key can forge a signed cookie, so a known default, a short key
    or one of few distinct characters ("aaaa...") is refused.
    """
    if not secret:
        return "SECRET_KEY is not set"
    if secret in KNOWN_WEAK_SECRETS:
        return "SECRET_KEY is a published default value"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(secret)) < 12:
        return "SECRET_KEY has too few distinct characters to be random"
    return None


def check_secret(settings: dict[str, Any], local_folder: Path | None = None) -> None:
    """Refuse to run with a guessable secret, except in local development.

    In local development a missing key is replaced by the kept local one; elsewhere the
    start stops with what to do.
    """
    if settings.get("GEOAPP_LOCAL_DEV") and not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = local_secret_key(local_folder)
        return
    problem = secret_problem(settings.get("SECRET_KEY"))
    if problem and not settings.get("GEOAPP_LOCAL_DEV"):
        raise ConfigError(
            f"{problem}. Generate one with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))' and set SECRET_KEY, or GEOAPP_SECRET_KEY_FILE "
            "to a file of mode 600 holding it (GEOAPP_LOCAL_DEV=1 is for a developer's machine)."
        )


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
