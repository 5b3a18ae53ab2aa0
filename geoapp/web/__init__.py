"""Blueprints: public pages, the JSON API; errors shaped for each audience."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, SecurityError

from geoapp.layers import LayerError
from geoapp.web import (
    analysis_staff,
    api,
    auth,
    hostile_input,
    incidents_staff,
    measures_staff,
    moderation,
    ogc,
    public,
    report,
    security,
    sessions_staff,
    staff,
    tiles,
)
from geoapp.web.access import BadTokenError
from geoapp.web.problems import problem, wants_problem


def init_app(app: Flask) -> None:
    """Register security, blueprints and error pages (HTML for people, RFC 9457 for the API)."""
    hostile_input.install_converters(app)  # before any rule is added
    security.init_app(app)
    hostile_input.init_app(app)  # first of the request hooks, CSRF's included
    app.register_blueprint(public.bp)
    app.register_blueprint(report.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(incidents_staff.bp)
    app.register_blueprint(analysis_staff.bp)
    app.register_blueprint(measures_staff.bp)
    app.register_blueprint(sessions_staff.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(tiles.bp)
    security.csrf.exempt(api.bp)  # the API takes no cookies: bearer tokens or nothing
    security.csrf.exempt(ogc.bp)

    @app.context_processor
    def role_names() -> dict:
        names = {"viewer": _("viewer"), "analyst": _("analyst"),
                 "coordinator": _("coordinator"), "admin": _("administrator")}  # fmt: skip
        statuses = {"new": _("received"), "under_review": _("under review"),
                    "accepted": _("accepted"), "in_progress": _("in progress"),
                    "resolved": _("resolved"), "rejected": _("not accepted")}  # fmt: skip
        reasons = {"spam": _("spam"), "duplicate": _("duplicate"),
                   "out_of_scope": _("not in scope")}  # fmt: skip
        filters = {"open": _("waiting"), "active": _("accepted and in progress"),
                   "closed": _("closed")}  # fmt: skip
        return {"role_names": names, "status_names": statuses, "reason_names": reasons,
                "filter_names": filters, "now": datetime.now(UTC)}  # fmt: skip

    @app.errorhandler(LayerError)
    def layer_error(exc: LayerError):
        # The one place a layer request's refusal becomes an answer (400, 401 or 404).
        return problem(exc.status, exc.title, exc.detail, code=exc.code, **exc.values)

    @app.errorhandler(BadTokenError)
    def bad_token(exc: BadTokenError):
        return problem(401, "Unauthorized", "the bearer token is unknown, revoked or expired")

    @app.errorhandler(SecurityError)
    def unknown_host(exc: SecurityError):
        # A Host outside TRUSTED_HOSTS: no URL can be built for it, so no page either.
        return Response("Bad Request: unknown host\n", 400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_problem():
            response, code = problem(exc.code or 500, exc.name, exc.description or exc.name)
            for name, value in exc.get_headers():
                if name.lower() == "allow":  # a 405 says what is allowed (RFC 9110)
                    response.headers[name] = value
            return response, code
        return render_template("error.html", code=exc.code, name=exc.name), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        if wants_problem():
            return problem(500, "Internal Server Error", "The server could not answer.")
        return render_template("error.html", code=500, name="Internal Server Error"), 500
