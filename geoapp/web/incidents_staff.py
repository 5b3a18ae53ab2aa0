"""Incident statistics for a community's analysts: upload a file, read the report, see the map.

Analysts (and coordinators, admins) import; viewers may not.  The map here asks the
layer API with the analyst's cookie, so it shows exact counts and individual incidents;
the public map shows the same cells suppressed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from geoapp import db
from geoapp.i18n import current_language
from geoapp.models.incident import ImportBatch
from geoapp.models.user import Role
from geoapp.services.communities import summary_by_slug
from geoapp.services.incident_files import MAX_BYTES, profile_names
from geoapp.services.incidents import CellPolicy, ImportReport, IncidentFileError, import_file
from geoapp.web.access import community_role
from geoapp.web.incident_layers import filter_options
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
    batches = sess.scalars(
        select(ImportBatch).where(ImportBatch.community_id == g.community.id)
        .order_by(ImportBatch.created_at.desc()).limit(20)
    ).all()  # fmt: skip
    html = render_template(
        "staff/incidents.html", community=g.community, map=rendered, batches=batches,
        incidents=filter_options(g.community.id, g.community.slug, "analyst"),
        incident_spec=layers["incident_cells"],
        points_spec=layers["incidents"], profiles=profile_names(), max_mb=MAX_BYTES // 2**20,
        form=context.pop("form", {"profile": "default", "strict": False}),
        translate=translate_reason, **context,
    )  # fmt: skip
    return html, status


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
def upload(slug: str) -> tuple[str, int]:
    """Import an uploaded file; the page comes back with the report (or the refusal).

    The file is written to a temporary file first because the readers (XLSX, GeoPackage)
    need a seekable path; it is deleted when the import ends.
    """
    form = {"profile": request.form.get("profile", "default"),
            "strict": request.form.get("strict") == "on"}  # fmt: skip
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        return _page(400, form=form, error=_("Choose a file to import."))
    if form["profile"] not in profile_names():
        return _page(400, form=form, error=_("Choose an import profile from the list."))
    suffix = Path(upload_file.filename).suffix.lower()[:10]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        upload_file.save(path)
        named = path.with_name(Path(upload_file.filename).name[:200] or path.name)
        path.rename(named)
        try:
            report = import_file(
                db.session(), named, g.community.id, current_app.config["SECRET_KEY"],
                current_app.config["GEOAPP_DATA_DIR"], actor=current_user.user.email,
                profile=form["profile"], strict=bool(form["strict"]),
                cells=CellPolicy.from_config(current_app.config),
            )  # fmt: skip
        except IncidentFileError as exc:
            return _page(400, form=form, error=translate_reason(str(exc)),
                         report=exc.report, download=_download(exc.report))  # fmt: skip
    return _page(form=form, report=report, download=_download(report))


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
