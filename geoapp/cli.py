"""The `geoapp` command: database, boundaries, serving.

Thin wrappers: each command parses options, calls a service, prints its report
and exits non-zero when something was refused, so scripts can rely on it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from tqdm import tqdm

from geoapp import db
from geoapp.config import PROJECT_ROOT
from geoapp.geo.katotth import load_codifier
from geoapp.models.community import CommunityLevel
from geoapp.services.boundaries import expand_paths, load_file
from geoapp.services.pilot import PilotError, load_pilot


def _create_app() -> Flask:
    from geoapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """geoapp: the community safety map (Прокурор громади)."""


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create the database if missing, enable PostGIS, apply all migrations."""
    from geoapp.migrate import upgrade

    url = current_app.config["DATABASE_URL"]
    try:
        if db.ensure_database_exists(url):
            click.echo(f"created database {db.engine().url.database}")
        version = db.check_postgis(db.engine())
    except db.DatabaseSetupError as exc:
        raise click.ClickException(str(exc)) from exc
    upgrade(url)
    click.echo(f"schema up to date (PostGIS {version})")


@main.group("boundaries")
def boundaries_group() -> None:
    """Administrative boundaries (communities)."""


@boundaries_group.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--katotth", "codes", multiple=True, help="Load only these KATOTTH codes.")
@click.option(
    "--level",
    type=click.Choice([lvl.value for lvl in CommunityLevel]),
    help="Load only units of this level; units whose level the file does not tell are taken "
    "to be of it.",
)
@click.option("--encoding", help="Attribute text encoding (e.g. cp1251) when no .cpg says so.")
@with_appcontext
def boundaries_load(
    paths: tuple[Path, ...], codes: tuple[str, ...], level: str | None, encoding: str | None
) -> None:
    """Load boundary files or folders (GeoJSON, Shapefile, zipped Shapefile, GeoPackage).

    Each file is one transaction; a file that cannot be loaded changes nothing.
    """
    files = expand_paths(paths)
    codifier = load_codifier(current_app.config["GEOAPP_DATA_DIR"])
    lvl = CommunityLevel(level) if level else None
    failed = loaded = empty = 0
    with db.cli_session() as sess:
        bar = tqdm(files, unit="file", disable=len(files) < 5 or None, file=sys.stderr)
        for path in bar:
            report = load_file(sess, path, codifier, codes, lvl, encoding)
            loaded += report.loaded
            empty += report.no_polygons
            failed += bool(report.error) and not report.no_polygons
            if report.error or len(files) < 5 or report.rejected or report.repairs:
                tqdm.write(report.summary(), file=sys.stdout)
    click.echo(
        f"{len(files)} file(s): {loaded} communities loaded, {failed} file(s) refused, "
        f"{empty} file(s) without polygons"
    )
    if failed or not loaded:
        sys.exit(1)


@boundaries_group.command("pilot")
@click.option("--source", help="Folder or URL with the manifest's files (default: the data dir).")
@with_appcontext
def boundaries_pilot(source: str | None) -> None:
    """Load the pilot communities named in data/boundaries/communities.toml."""
    from geoapp.services.pilot import read_manifest

    manifest, _ = read_manifest()
    if source is None:
        local = Path(current_app.config["GEOAPP_DATA_DIR"]) / manifest["source"]["data_dir"]
        source = str(local) if local.is_dir() else manifest["source"]["base_url"]
    with db.cli_session() as sess:
        try:
            report = load_pilot(sess, source, PROJECT_ROOT / "var" / "cache" / "boundaries")
        except PilotError as exc:
            raise click.ClickException(f"nothing loaded: {exc}") from exc
    click.echo(report.summary())


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2 * (os.cpu_count() or 1) + 1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn."""
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    args = [gunicorn, "--workers", str(workers), "--bind", f"{host}:{port}", "geoapp.wsgi:app"]
    click.echo(f"serving on http://{host}:{port}")
    os.execv(gunicorn, args)
