"""Engine, sessions and the PostGIS checks.

One engine per app; one session per request, closed at teardown.  Services get
a `Session` passed in and own their transactions; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

POSTGIS_PACKAGE = "postgresql-15-postgis-3"


class DatabaseSetupError(RuntimeError):
    """The database cannot serve geoapp; the message says what to do."""


def make_engine(url: str) -> Engine:
    """Create the engine with settings that suit short web requests and CLI loads."""
    return create_engine(url, pool_pre_ping=True, future=True)


def init_app(app: Flask) -> None:
    """Attach an engine and a session factory to the app and close sessions per request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["geoapp.engine"] = engine
    app.extensions["geoapp.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["geoapp.engine"]


def session() -> Session:
    """The request's session, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["geoapp.sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    sess = g.pop("db_session", None)
    if sess is not None:
        sess.close()


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session for a CLI command; the service inside decides when to commit."""
    sess = current_app.extensions["geoapp.sessionmaker"]()
    try:
        yield sess
    finally:
        sess.close()


def ensure_database_exists(url: str) -> bool:
    """Create the database named in `url` when the server answers but it is missing.

    Returns True when it was created.  `make run` relies on this so that a
    fresh machine needs no manual `createdb`.
    """
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            )
            if exists:
                return False
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
            return True
    except OperationalError as exc:
        raise DatabaseSetupError(
            f"Cannot reach PostgreSQL at {parsed.host}:{parsed.port or 5432} "
            f"({exc.orig}). Set DATABASE_URL or start the server."
        ) from exc
    finally:
        admin.dispose()


def check_postgis(eng: Engine) -> str:
    """Make sure PostGIS is available and enabled; return its version.

    A server without the extension gets a message that names the Debian
    package to install, instead of a traceback from the first migration.
    """
    try:
        with eng.connect() as conn:
            available = conn.scalar(
                text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")
            )
    except OperationalError as exc:
        url = eng.url
        raise DatabaseSetupError(
            f"Cannot reach PostgreSQL at {url.host}:{url.port or 5432}/{url.database} "
            f"({exc.orig}). Set DATABASE_URL or start the server."
        ) from exc
    if available is None:
        raise DatabaseSetupError(
            "PostGIS is not installed on this PostgreSQL server. On Debian run: "
            f"apt-get install {POSTGIS_PACKAGE}   (then run `geoapp db upgrade` again)"
        )
    with eng.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return str(conn.scalar(text("SELECT postgis_lib_version()")))


def is_reachable(eng: Engine) -> bool:
    """True when a trivial query succeeds: what /healthz reports."""
    try:
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not healthy"; the reason is not the caller's business
        return False
