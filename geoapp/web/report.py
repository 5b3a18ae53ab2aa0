"""The resident's report page: works without JavaScript, better with it.

Without JavaScript: category, address, description and contact, posted as a
form.  With JavaScript (static/js/report.js): a pin on the map, "my location",
and reports kept on the phone while offline, sent later under the same client
token.  Both paths end in the same service, so a retry never makes a second
concern.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from geoapp import db
from geoapp.i18n import current_language
from geoapp.services.categories import for_community
from geoapp.services.communities import get_by_slug, summary_by_slug
from geoapp.services.concerns import ConcernInvalid, Report, report_concern
from geoapp.web.concern_messages import message
from geoapp.web.security import limiter

bp = Blueprint("report", __name__)
HONEYPOT = "website"  # hidden from people; bots fill it


def _float(name: str) -> float | None:
    try:
        value = float(request.form.get(name, ""))
    except ValueError:
        return None
    return value


def _page(community, form: dict, errors: dict[str, str], status: int = 200, **extra):
    summary = summary_by_slug(db.session(), community.slug)
    return render_template(
        "report.html", community=summary, categories=for_community(db.session(), community.id),
        form=form, errors={f: message(c) for f, c in errors.items()},
        tile_url=current_app.config["GEOAPP_TILE_URL"],
        tile_attribution=current_app.config["GEOAPP_TILE_ATTRIBUTION"], **extra,
    ), status  # fmt: skip


def _photo() -> bytes | None:
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    return upload.stream.read(6 * 1024 * 1024)  # enough to tell "over 5 MB" without more


@bp.route("/c/<slug>/report", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["GEOAPP_REPORT_LIMIT"], methods=["POST"])
def report(slug: str):
    """Show the form; on POST store the concern and send the resident to its tracking page."""
    community = get_by_slug(db.session(), slug)
    if community is None:
        abort(404)
    if request.method == "GET":
        return _page(community, {"client_token": uuid.uuid4().hex}, {})
    form = request.form.to_dict()
    if form.get(HONEYPOT):
        return redirect(url_for("public.community", slug=slug))  # a bot: quietly nothing
    report_ = Report(
        category=form.get("category", ""), description=form.get("description", "").strip(),
        lon=_float("lon"), lat=_float("lat"), address=form.get("address") or None,
        located_by=form.get("located_by") or "pin", client_token=form.get("client_token", ""),
        contact_name=form.get("contact_name", "").strip(),
        contact_phone=form.get("contact_phone", "").strip(),
        contact_email=form.get("contact_email", "").strip(),
        consent=form.get("consent") == "yes",
        photo=_photo(),
    )  # fmt: skip
    try:
        receipt = report_concern(db.session(), community, report_,
                                 current_app.config["GEOAPP_PUBLIC_GRID_M"],
                                 current_language(),
                                 current_app.extensions.get("geoapp.contact_keys"))  # fmt: skip
    except ConcernInvalid as exc:
        return _page(community, form, exc.errors, 422, notice=exc.notice,
                     suggestion=exc.suggestion)  # fmt: skip
    lost = {} if receipt.contact_kept else {"contact": "lost"}
    return redirect(url_for("public.track", token=receipt.tracking_token, new=1, **lost))
