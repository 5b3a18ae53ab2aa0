"""Blueprints: public pages, the JSON API; errors shaped for each audience."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from geoapp.web import api, public
from geoapp.web.problems import problem


def _wants_problem() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Register the blueprints and the error pages (HTML for people, RFC 9457 for the API)."""
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if _wants_problem():
            return problem(exc.code or 500, exc.name, exc.description or exc.name)
        return render_template("error.html", code=exc.code, name=exc.name), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        if _wants_problem():
            return problem(500, "Internal Server Error", "The server could not answer.")
        return render_template("error.html", code=500, name="Internal Server Error"), 500
