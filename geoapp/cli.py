"""The `geoapp` command: database, boundaries, serving, the job worker.

Thin wrappers: each command parses options, calls a service, prints its report
and exits non-zero when something was refused, so scripts can rely on it.
"""

from __future__ import annotations

import os
import secrets
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
from geoapp.models.user import Agency, Role
from geoapp.services.boundaries import expand_paths, load_file, refresh_statistics
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
    from geoapp.services.categories import sync_defaults
    from geoapp.services.incident_groups import sync_groups

    with db.cli_session() as sess:
        count = sync_defaults(sess)
        groups = sync_groups(sess)
    click.echo(f"schema up to date (PostGIS {version}); {count} concern categories, "
               f"{groups} incident groups")  # fmt: skip
    _purge_contacts(dry_run=False, days=None)  # erasure is due whenever it can run
    _forget_addresses(days=None)


def _forget_addresses(days: int | None) -> None:
    from geoapp.services.audit import forget_addresses

    retention = days if days is not None else current_app.config["GEOAPP_AUDIT_ADDRESS_DAYS"]
    with db.cli_session() as sess:
        count = forget_addresses(sess, retention)
    click.echo(f"{count} audit event(s) older than {retention} days lost their client address")


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("forget-addresses")
@click.option("--days", type=click.IntRange(1), default=None,
              help="Retention in days (default: GEOAPP_AUDIT_ADDRESS_DAYS).")  # fmt: skip
@with_appcontext
def audit_forget_addresses(days: int | None) -> None:
    """Erase client addresses of audit events older than the retention; the events stay.

    Run it daily beside `geoapp contacts purge`; `geoapp db upgrade` runs it too.
    """
    _forget_addresses(days)


@main.group("contacts")
def contacts_group() -> None:
    """Residents' contact details: the encryption key and their erasure (privacy rule 1)."""


def _contact_keys():
    from geoapp.services.contact_keys import NOT_CONFIGURED

    keys = current_app.extensions.get("geoapp.contact_keys")
    if keys is None:
        raise click.ClickException(NOT_CONFIGURED)
    return keys


@contacts_group.command("rotate-key")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def contacts_rotate_key(batch: int) -> None:
    """Seal every stored contact with a new key and retire the old ones.

    Key file: a new key is put first (running workers re-read the file), every contact is
    re-encrypted, then the old keys are removed from the file.  Environment keys: the first
    run prints a new key to put first in GEOAPP_CONTACT_KEYS; after the restart, the second
    run re-encrypts and says which keys to remove.  Safe to run again after an interruption.
    """
    from geoapp.services.contact_keys import ContactKeyError
    from geoapp.services.contacts import rotate_key

    keys = _contact_keys()
    with db.cli_session() as sess:
        try:
            done = rotate_key(sess, keys, actor="cli", batch=batch)
        except ContactKeyError as exc:
            raise click.ClickException(str(exc)) from exc
    if done.pending_env:
        click.echo("a new contact key (shown only now); put it FIRST in GEOAPP_CONTACT_KEYS, "
                   "keep the current key after it, restart every process, then run "
                   "`geoapp contacts rotate-key` again to re-encrypt:")  # fmt: skip
        click.echo(done.new_key)
        return
    click.echo(f"{done.re_encrypted} contact(s) re-encrypted with key {done.new_key_id}")
    if keys.path is not None:
        click.echo(f"{keys.path}: now holds only key {done.new_key_id}; "
                   f"retired: {', '.join(done.dropped) or 'none'}")  # fmt: skip
    elif done.dropped:
        click.echo(f"keep only the first key in GEOAPP_CONTACT_KEYS ({done.new_key_id}) and "
                   f"restart; remove the key(s) {', '.join(done.dropped)}")  # fmt: skip
    else:
        click.echo("GEOAPP_CONTACT_KEYS holds only this key: nothing to remove")
    if done.unreadable:
        click.echo(f"warning: {done.unreadable} contact(s) cannot be opened by any configured "
                   "key and were left as they are", err=True)  # fmt: skip


def _purge_contacts(dry_run: bool, days: int | None) -> None:
    from geoapp.services.contacts import purge

    retention = days if days is not None else current_app.config["GEOAPP_CONTACT_RETENTION_DAYS"]
    with db.cli_session() as sess:
        try:
            count = purge(sess, retention, actor="cli", dry_run=dry_run)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    verb = "would be erased" if dry_run else "erased"
    click.echo(f"{count} contact(s) of concerns closed more than {retention} days ago {verb}")


@contacts_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@click.option("--days", type=click.IntRange(1), default=None,
              help="Retention in days (default: GEOAPP_CONTACT_RETENTION_DAYS).")  # fmt: skip
@with_appcontext
def contacts_purge(dry_run: bool, days: int | None) -> None:
    """Erase the contacts of concerns closed (resolved, rejected) longer ago than the retention.

    Run it daily (a systemd timer or cron; see README); `geoapp db upgrade` runs it too.
    """
    _purge_contacts(dry_run, days)


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
        if loaded:
            refresh_statistics(sess)
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


def _community(sess, slug: str):
    from geoapp.services.communities import get_by_slug

    found = get_by_slug(sess, slug)
    if found is None:
        raise click.ClickException(f"no community '{slug}' (see /api/v1/communities)")
    return found


def _user(sess, email: str):
    from geoapp.services.accounts import user_by_email

    found = user_by_email(sess, email)
    if found is None:
        raise click.ClickException(f"no account for {email}")
    return found


ROLES = click.Choice([r.value for r in Role])


@main.group("gazetteer")
def gazetteer_group() -> None:
    """The address gazetteer used for geocoding."""


@gazetteer_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "slug", required=True)
@click.option("--skip-invalid", is_flag=True, help="Load the good rows; report the others.")
@with_appcontext
def gazetteer_load(file: Path, slug: str, skip_invalid: bool) -> None:
    """Load address points from CSV, GeoJSON or an OpenStreetMap extract (.osm.pbf).

    CSV and GeoJSON: lon, lat, and address or street + housenumber (old_name optional).
    OSM: addr:* nodes and buildings, named highways, place=* nodes.  Replaces what an
    earlier load of the same file name gave this community.  Without --skip-invalid,
    one bad row refuses the whole file.  Settlements take their official names from
    the KATOTTH codifier where it lists them.
    """
    from geoapp.geo.katotth import settlements_of
    from geoapp.services.gazetteer import GazetteerFileError, load

    with db.cli_session() as sess:
        community = _community(sess, slug)
        official = settlements_of(current_app.config["GEOAPP_DATA_DIR"], community.katotth)
        try:
            report = load(sess, file, community.id, skip_invalid=skip_invalid,
                          official_names=official)  # fmt: skip
        except GazetteerFileError as exc:
            click.echo(exc.report.summary())
            raise click.ClickException(str(exc)) from exc
    click.echo(report.summary())


@main.group("incidents")
def incidents_group() -> None:
    """Recorded offences (police and prosecutor exports)."""


@incidents_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "slug", required=True)
@click.option("--profile", default="default", show_default=True,
              help="Column mapping; 'default' reads date, article, lon, lat, ref.")  # fmt: skip
@click.option("--strict", is_flag=True, help="Import nothing unless every row is valid.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rejected rows (row, reason) to this CSV file.")  # fmt: skip
@with_appcontext
def incidents_import(
    file: Path, slug: str, profile: str, strict: bool, report_path: Path | None
) -> None:
    """Import a CSV of incidents into a community (one transaction, one batch)."""
    from geoapp.services.incidents import CellPolicy, IncidentFileError, import_file

    with db.cli_session() as sess:
        community = _community(sess, slug)
        try:
            report = import_file(sess, file, community.id, current_app.config["SECRET_KEY"],
                                 current_app.config["GEOAPP_DATA_DIR"], actor="cli",
                                 profile=profile, strict=strict,
                                 cells=CellPolicy.from_config(current_app.config))  # fmt: skip
        except IncidentFileError as exc:
            if report_path:
                report_path.write_text(exc.report.rejection_csv(), encoding="utf-8")
            click.echo(exc.report.summary())
            raise click.ClickException(str(exc)) from exc
    if report_path:
        report_path.write_text(report.rejection_csv(), encoding="utf-8")
    click.echo(report.summary())


@main.group("releases")
def releases_group() -> None:
    """Published years of incident counts: what the public and partners see (PRIVACY.md)."""


@releases_group.command("publish")
@click.option("--community", "slug", required=True)
@click.option("--year", required=True, type=click.IntRange(1900, 2100))
@with_appcontext
def releases_publish(slug: str, year: int) -> None:
    """Publish a closed year's cell counts, once: a release is never revised."""
    from geoapp.services import audit, releases

    config = current_app.config
    with db.cli_session() as sess:
        community = _community(sess, slug)
        try:
            made = releases.publish(sess, community.id, year, config["GEOAPP_SUPPRESSION_K"],
                                    tuple(config["GEOAPP_PUBLIC_CELL_SIZES"]),
                                    actor="cli")  # fmt: skip
        except releases.ReleaseError as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record(sess, "release.publish", "cli", community_id=community.id,
                     object_type="incident_release", object_id=str(made.id),
                     details={"year": year, "size_m": made.size_m})  # fmt: skip
        sess.commit()
    total = "withheld" if made.total is None else made.total
    click.echo(f"{slug} {year}: published at {made.size_m} m cells, total {total}")


@releases_group.command("list")
@click.option("--community", "slug", required=True)
@with_appcontext
def releases_list(slug: str) -> None:
    """The community's published years, their cell size and when they were published."""
    from geoapp.services import releases

    with db.cli_session() as sess:
        community = _community(sess, slug)
        for made in releases.all_of(sess, community.id):
            total = "withheld" if made.total is None else made.total
            click.echo(f"{made.year}\t{made.size_m} m\ttotal {total}\t"
                       f"{made.released_at:%Y-%m-%d %H:%M}\t{made.released_by}")  # fmt: skip


@main.group("categories")
def categories_group() -> None:
    """Concern categories (the defaults live in data/concern_categories.toml)."""


@categories_group.command("add")
@click.option("--community", "slug", required=True)
@click.option("--code", required=True, help="e.g. flooded_underpass")
@click.option("--name-uk", required=True)
@click.option("--name-en", required=True)
@click.option("--sensitive", is_flag=True, help="Never a public point; counted only.")
@click.option("--radius", default=100, show_default=True, type=int, help="Nearby radius, m.")
@with_appcontext
def categories_add(
    slug: str, code: str, name_uk: str, name_en: str, sensitive: bool, radius: int
) -> None:
    """Add a community's own concern category, shown after the default list."""
    from geoapp.services.categories import add_for_community

    with db.cli_session() as sess:
        community = _community(sess, slug)
        try:
            add_for_community(sess, community.id, code, name_uk, name_en, sensitive, radius)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{slug}: category {code} added")


@main.group("users")
def users_group() -> None:
    """Staff accounts and their roles per community."""


@users_group.command("create")
@click.argument("email")
@click.option("--community", "slug", required=True, help="Community slug, e.g. bucha.")
@click.option("--role", required=True, type=ROLES)
@click.option("--name", default="", help="Full name (default: the email's local part).")
@click.option("--agency", type=click.Choice([a.value for a in Agency]), default="prosecutor")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(
    email: str, slug: str, role: str, name: str, agency: str, password_stdin: bool
) -> None:
    """Create a staff account with a role in one community.

    Without --password-stdin a random password is generated and printed once.
    """
    from geoapp.services import accounts

    generated = not password_stdin
    name = name or email.split("@")[0]
    if len(name) > 200 or len(email) > 254:  # user.name, user.email
        raise click.ClickException("the name may have at most 200 characters, the email 254")
    password = secrets.token_urlsafe(12) if generated else sys.stdin.readline().rstrip("\n")
    with db.cli_session() as sess:
        community = _community(sess, slug)
        try:
            user = accounts.create_user(
                sess, email, name, Agency(agency), password
            )
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        accounts.grant(sess, user, community, Role(role), actor="cli")
    click.echo(f"created {user.email}: {role} in {slug}")
    if generated:
        click.echo(f"password (shown once): {password}")
    if Role(role).rank >= Role.COORDINATOR.rank:
        click.echo(f"{role}s must set up two-step sign-in at their first sign-in (/staff/totp)")


@users_group.command("grant")
@click.argument("email")
@click.option("--community", "slug", required=True)
@click.option("--role", required=True, type=ROLES)
@with_appcontext
def users_grant(email: str, slug: str, role: str) -> None:
    """Give an account a role in a community (replacing its previous role there)."""
    from geoapp.services import accounts

    with db.cli_session() as sess:
        accounts.grant(sess, _user(sess, email), _community(sess, slug), Role(role), "cli")
    click.echo(f"{email}: {role} in {slug}")


@users_group.command("revoke")
@click.argument("email")
@click.option("--community", "slug", required=True)
@with_appcontext
def users_revoke(email: str, slug: str) -> None:
    """Take away an account's role in a community."""
    from geoapp.services import accounts

    with db.cli_session() as sess:
        if not accounts.revoke(sess, _user(sess, email), _community(sess, slug), "cli"):
            raise click.ClickException(f"{email} has no role in {slug}")
    click.echo(f"{email}: no role in {slug}")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Disable an account; its open sessions end at once."""
    from geoapp.services import accounts

    with db.cli_session() as sess:
        accounts.disable(sess, _user(sess, email), "cli")
    click.echo(f"{email}: disabled")


@users_group.command("reset-2fa")
@click.argument("email")
@with_appcontext
def users_reset_2fa(email: str) -> None:
    """Forget an account's second factor (a lost phone); its sessions end.

    Coordinators and admins then set up a new one at their next sign-in, before anything
    else; check who is asking before you run this.
    """
    from geoapp.services import accounts

    with db.cli_session() as sess:
        accounts.reset_second_factor(sess, _user(sess, email), "cli")
    click.echo(f"{email}: two-step sign-in reset; a new one is set up at the next sign-in")


@main.group("tokens")
def tokens_group() -> None:
    """Partner API tokens (read-only, per community, expiring)."""


@tokens_group.command("create")
@click.option("--partner", required=True, help="Who receives the token (NGO, media, agency).")
@click.option("--community", "slugs", required=True, multiple=True)
@click.option("--expires", "days", default=90, show_default=True, type=int, help="Days.")
@with_appcontext
def tokens_create(partner: str, slugs: tuple[str, ...], days: int) -> None:
    """Create a token; it is printed once and only its hash is kept."""
    from geoapp.services import tokens

    with db.cli_session() as sess:
        communities = [_community(sess, s) for s in slugs]
        try:
            token, row = tokens.create(sess, partner, communities, days, actor="cli")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"token {row.id} for {row.partner}, expires {row.expires_at:%Y-%m-%d}")
    click.echo("send it as 'Authorization: Bearer <token>'; it is shown only now:")
    click.echo(token)


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its number."""
    from geoapp.services import tokens

    with db.cli_session() as sess:
        if not tokens.revoke(sess, token_id, "cli"):
            raise click.ClickException(f"no live token {token_id}")
    click.echo(f"token {token_id} revoked")


@main.command("demo")
@click.option(
    "--scale",
    default=0,
    show_default=True,
    type=click.IntRange(0, 10_000_000),
    help="Synthetic incidents per pilot community with a boundary (0: none).",
)
@click.option("--seed", default=2026, show_default=True, type=int)
@with_appcontext
def demo(scale: int, seed: int) -> None:
    """Prepare the local demo: a coordinator of every pilot community, and synthetic incidents.

    The incidents are clustered, seasonal and follow the national article mix; a second
    run replaces them (real imports are never touched).
    """
    from sqlalchemy import select

    from geoapp.models.community import Community
    from geoapp.services import releases
    from geoapp.services.demo import ensure_demo_staff, load_synthetic_incidents
    from geoapp.services.incidents import CellPolicy

    with db.cli_session() as sess:
        if scale:
            pilots = sess.scalars(select(Community).where(Community.pilot)).all()
            for community in pilots:
                loaded = load_synthetic_incidents(
                    sess, community, scale, secret=current_app.config["SECRET_KEY"],
                    data_dir=current_app.config["GEOAPP_DATA_DIR"],
                    policy=CellPolicy.from_config(current_app.config), seed=seed,
                )  # fmt: skip
                made = releases.publish_closed_years(
                    sess, community.id, current_app.config["GEOAPP_SUPPRESSION_K"],
                    tuple(current_app.config["GEOAPP_PUBLIC_CELL_SIZES"]),
                    actor="demo")  # fmt: skip
                sess.commit()
                click.echo(f"{community.slug}: {loaded} synthetic incidents; published "
                           f"{', '.join(r.label for r in made) or 'no new year'}")  # fmt: skip
        email, password = ensure_demo_staff(sess)
    click.echo(
        "the demo coordinator sets up two-step sign-in at the first sign-in (an "
        "authenticator app such as FreeOTP, or `oathtool --totp -b KEY`)"
    )
    click.echo(f"demo staff sign-in: http://127.0.0.1:5000/staff/login  {email}  {password}")


@main.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run background jobs (the web form's imports) from the queue in Redis until stopped."""
    from redis.exceptions import RedisError

    from geoapp import jobs

    try:
        jobs.work(current_app._get_current_object(), burst=burst)  # type: ignore[attr-defined]
    except (jobs.JobsUnavailableError, RedisError) as exc:
        raise click.ClickException(f"no job worker: {exc}") from exc


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2 * (os.cpu_count() or 1) + 1, show_default=True, type=int)
@click.option("--job-worker/--no-job-worker", default=True, show_default=True,
              help="Also run `geoapp worker` beside the web server, stopped with it "
              "(--no-job-worker where the worker is its own service).")  # fmt: skip
@with_appcontext
def serve(host: str, port: int, workers: int, job_worker: bool) -> None:
    """Serve the app with gunicorn (and, unless told not to, the job worker).

    Several workers each counting sign-in failures on their own would multiply every
    limit by their number, so outside local development that needs a shared store.
    """
    config = current_app.config
    shared = not str(config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory://")
    if workers > 1 and not shared and not config["GEOAPP_LOCAL_DEV"]:
        raise click.ClickException(
            f"{workers} workers would each keep their own sign-in and report limits; set "
            "REDIS_URL (the limits' shared store) or run with --workers 1"
        )
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    args = [gunicorn, "--workers", str(workers), "--bind", f"{host}:{port}", "geoapp.wsgi:app"]
    click.echo(f"serving on http://{host}:{port}")
    if not job_worker:
        os.execv(gunicorn, args)
    from geoapp.serving import serve_with_worker

    beside = Path(sys.executable).with_name("geoapp")  # this environment's, not PATH's first
    geoapp = str(beside) if beside.exists() else shutil.which("geoapp") or "geoapp"
    sys.exit(serve_with_worker(args, [geoapp, "worker"]))


def _database_dir(url: str) -> str | None:
    """PostgreSQL's data directory, when this role may read it (superuser); else None."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SHOW data_directory")).scalar()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


@main.command("check-deploy", with_appcontext=False)  # runs even when the app would refuse
@click.option("--workers", default=lambda: int(os.environ.get("WEB_CONCURRENCY", "1")),
              show_default="WEB_CONCURRENCY or 1", type=click.IntRange(1),
              help="How many gunicorn workers will serve (the systemd unit's).")  # fmt: skip
def check_deploy(workers: int) -> None:
    """Say what in this configuration is unsafe for an office; exit 1 if anything is.

    Reads the settings as the app would, without starting it (a setting the app refuses
    is reported here too).  Run it as the service runs: `sudo -u geoapp sh -c 'set -a;
    . /etc/geoapp/geoapp.env; geoapp check-deploy'`.
    """
    from geoapp import config
    from geoapp.deploy_check import ERROR, Facts, Finding, check, unsafe

    try:
        settings = dict(config.from_environment())
    except (ValueError, RuntimeError, OSError) as exc:  # the app would not start either
        click.echo(f"ERROR: [settings] {exc}")
        sys.exit(1)
    settings.setdefault("GEOAPP_LOCAL_DEV", os.environ.get("GEOAPP_LOCAL_DEV") == "1")
    settings.setdefault("DEBUG", os.environ.get("FLASK_DEBUG", "").lower() in ("1", "true"))
    facts = Facts(euid=os.geteuid(), workers=workers,
                  database_dir=_database_dir(settings["DATABASE_URL"]))  # fmt: skip
    findings: list[Finding] = check(settings, facts)
    for finding in findings:
        click.echo(f"{finding.level.upper()}: [{finding.code}] {finding.message}")
    errors = sum(f.level == ERROR for f in findings)
    if not findings:
        click.echo("no problems found: the settings are fit for an office")
    else:
        click.echo(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if unsafe(findings):
        sys.exit(1)
