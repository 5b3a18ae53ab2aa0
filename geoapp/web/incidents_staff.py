"""Incident statistics for a community's analysts: upload a file, read the report, see the map.

Analysts (and coordinators, admins) import; viewers may not.  The upload is imported by
the job worker (geoapp.jobs); the analyst waits on the job's page, at a progress bar.
The map here asks the layer API with the analyst's cookie, so it shows exact counts and
individual incidents; the public map shows the same cells suppressed.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError

from geoapp import db, jobs
from geoapp.i18n import current_language
from geoapp.models.incident import ImportBatch
from geoapp.models.user import Role
from geoapp.services import audit, incidents, releases
from geoapp.services.communities import summary_by_slug
from geoapp.services.incident_files import MAX_BYTES, profile_names
from geoapp.services.incidents import ImportReport
from geoapp.web.access import community_role
from geoapp.web.hostile_input import bounded_int
from geoapp.web.incident_filter import filter_options
from geoapp.web.incident_messages import translate_reason
from geoapp.web.maps import community_map
from geoapp.web.public import map_basics

bp = Blueprint("incidents", __name__, url_prefix="/staff/c/<slug>/incidents")
SHOWN_REJECTIONS = 50


def _page(status: int = 200, **context: object) -> tuple[str, int]:
    sess = db.session()
    summary = summary_by_slug(sess, g.community.slug)
    assert summary is not None
    spec, feature, labels = map_basics(summary)
    rendered = community_map(summary, feature, spec, current_language(), labels)
    layers = current_app.extensions["geoapp.layers"]
    batches = incidents.recent_batches(sess, g.community.id)
    html = render_template(
        "staff/incidents.html", community=g.community, map=rendered, batches=batches,
        incidents=filter_options(g.community.id, g.community.slug, "analyst"),
        incident_spec=layers["incident_cells"],
        points_spec=layers["incidents"], profiles=profile_names(), max_mb=MAX_BYTES // 2**20,
        form=context.pop("form", {"profile": "default", "strict": False}),
        translate=translate_reason, released=releases.all_of(sess, g.community.id),
        unreleased=releases.unpublished_years(sess, g.community.id),
        can_publish=g.role.rank >= Role.COORDINATOR.rank, **context,
    )  # fmt: skip
    return html, status


@bp.post("/releases")
@community_role(Role.COORDINATOR)
def publish(slug: str) -> Response | tuple[str, int]:
    """Publish a closed year for the public and partners, once (it is never revised)."""
    year = bounded_int(request.form.get("year"), 1900, 2100)
    if year is None:
        return _page(400, publish_error=_("Choose a year to publish."))
    config = current_app.config
    sess = db.session()
    try:
        made = releases.publish(sess, g.community.id, year, config["GEOAPP_SUPPRESSION_K"],
                                tuple(config["GEOAPP_PUBLIC_CELL_SIZES"]),
                                actor=current_user.user.email)  # fmt: skip
    except releases.ReleaseError:
        sess.rollback()
        return _page(400, publish_error=_("%(year)s cannot be published: only a closed year "
                                          "with offences, and only once.", year=year))  # fmt: skip
    audit.record(sess, "release.publish", current_user.user.email, actor_id=current_user.user.id,
                 community_id=g.community.id, object_type="incident_release",
                 object_id=made.id, client_addr=request.remote_addr,
                 details={"year": year, "size_m": made.size_m})  # fmt: skip
    sess.commit()
    return redirect(url_for("incidents.page", slug=slug) + "#releases", 303)


@bp.get("/")
@community_role(Role.ANALYST)
def page(slug: str) -> tuple[str, int]:
    """The analyst's incident page: the import form, past imports and the exact map.

    `?batch=<id>` shows that import's report (where the upload form lands after success).
    """
    batch_id = request.args.get("batch", type=int)
    batch = _batch(batch_id) if batch_id else None
    if batch is None:
        return _page()
    url = url_for("incidents.rejections", slug=slug, batch_id=batch.id)
    return _page(report=_report(batch), download=url if batch.rejected else None)


def _batch(batch_id: int) -> ImportBatch | None:
    batch = db.session().get(ImportBatch, batch_id)
    return batch if batch is not None and batch.community_id == g.community.id else None


def _report(batch: ImportBatch) -> ImportReport:
    """A past import's report, from what its batch row kept (up to 1,000 rejections)."""
    return ImportReport(batch.file_name, batch.accepted,
                        [(int(n), str(why)) for n, why in batch.errors], batch.id)  # fmt: skip


@bp.post("/")
@community_role(Role.ANALYST)
def upload(slug: str) -> Response | tuple[str, int]:
    """Queue an uploaded file's import and go to its status page (303).

    The import runs in the job worker (geoapp.jobs), so no file is bound by the web
    server's request timeout; when the job service cannot take it, the page says so
    (503) and nothing is stored.
    """
    form = {"profile": request.form.get("profile", "default"),
            "strict": request.form.get("strict") == "on"}  # fmt: skip
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        return _page(400, form=form, error=_("Choose a file to import."))
    if form["profile"] not in profile_names():
        return _page(400, form=form, error=_("Choose an import profile from the list."))
    try:
        job_id = jobs.enqueue_import(
            current_app.config, upload_file.stream, upload_file.filename, g.community.id,
            actor=current_user.user.email, profile=form["profile"], strict=bool(form["strict"]),
        )  # fmt: skip
    except jobs.JobsUnavailableError as exc:
        current_app.logger.error("import not queued: %s", exc)
        return _page(503, form=form, error=_unavailable())
    return redirect(url_for("incidents.job", slug=slug, job_id=job_id), 303)


def _unavailable() -> str:
    return _("The import service is unavailable right now; nothing was imported. "
             "Try again in a few minutes, or tell the administrator.")  # fmt: skip


def _stage_label(stage: str) -> str:
    labels = {
        "queued": _("Waiting for the import service…"),
        "reading": _("Reading the file…"),
        "waiting": _("Waiting for another import into this community to finish…"),
        "checking": _("Checking the rows…"),
        "writing": _("Writing the incidents…"),
        "counting": _("Counting the map cells…"),
    }
    return labels.get(stage, labels["queued"])


def _job(job_id: str, as_json: bool = False) -> jobs.ImportJob:
    """The community's import job, or 404 (unknown, expired, another community's).

    When the queue cannot be asked: 503, with the page and its message (or JSON).
    """
    try:
        found = jobs.import_job(current_app.config, job_id, g.community.id)
    except (jobs.JobsUnavailableError, RedisError) as exc:
        current_app.logger.error("import job not read: %s", exc)
        if as_json:
            abort(make_response(jsonify(status="unavailable", label=_unavailable()), 503))
        abort(make_response(*_page(503, error=_unavailable())))
    if found is None:
        abort(404)
    return found


@bp.get("/jobs/<job_id>")
@community_role(Role.ANALYST)
def job(slug: str, job_id: str) -> Response | tuple[str, int]:
    """An import job: its progress bar while it runs, then its report.

    A finished import goes to the page at its batch (`?batch=`), as the form did before;
    a refused file or a failed job shows the message and report here.  Without
    JavaScript the page refreshes itself until the job is done.
    """
    found = _job(job_id)
    if not found.done:
        html = render_template(
            "staff/import_job.html", community=g.community, job=found,
            label=_stage_label(found.stage),
            status_url=url_for("incidents.job_status", slug=slug, job_id=job_id),
        )  # fmt: skip
        return html, 200
    result = found.result or {}
    form = {"profile": found.profile, "strict": found.strict}
    if result.get("batch_id"):
        return redirect(url_for("incidents.page", slug=slug, batch=result["batch_id"]), 303)
    if "refused" in result:
        rejected = [(int(n), str(why)) for n, why in result.get("rejected", [])]
        report = ImportReport(str(result.get("file_name", found.name)),
                              int(result.get("accepted", 0)), rejected)  # fmt: skip
        return _page(form=form, error=translate_reason(str(result["refused"])), report=report,
                     download=_download(report))  # fmt: skip
    if found.timed_out:
        minutes = max(1, round(current_app.config["GEOAPP_IMPORT_TIMEOUT"] / 60))
        error = _(
            "The import of %(name)s took longer than its time limit (%(minutes)d min) "
            "and was stopped; nothing was imported.",
            name=found.name,
            minutes=minutes,
        )
    else:
        error = _(
            "The import of %(name)s did not finish; nothing was imported. Try again, "
            "or tell the administrator if it fails again.",
            name=found.name,
        )
    return _page(form=form, error=error)


@bp.get("/jobs/<job_id>/status")
@community_role(Role.ANALYST)
def job_status(slug: str, job_id: str) -> Response:
    """The job's progress as JSON, for the status page's script (polled every second)."""
    found = _job(job_id, as_json=True)
    response = jsonify(status=found.status, stage=found.stage, label=_stage_label(found.stage),
                       fraction=found.fraction, done=found.done)  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _download(report: ImportReport) -> str | None:
    """The rejected rows as a data: URL, so a refused file's report needs no storage."""
    if not report.rejected:
        return None
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + report.rejection_csv())


@bp.get("/batches/<int:batch_id>/rejections.csv")
@community_role(Role.ANALYST)
def rejections(slug: str, batch_id: int) -> Response:
    """A past import's rejected rows (row, reason) as CSV, to fix and import again."""
    batch = _batch(batch_id)
    if batch is None:
        abort(404)
    report = _report(batch)
    return Response(
        "\ufeff" + report.rejection_csv(), mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=rejections-{batch.id}.csv",
                 "Cache-Control": "private, no-store"},  # rows of a police export
    )  # fmt: skip
