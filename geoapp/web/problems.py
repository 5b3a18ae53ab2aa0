"""RFC 9457 problem details: how the API says no, never with a stack trace."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request


def problem(status: int, title: str, detail: str, **extra: Any) -> tuple[Response, int]:
    """A JSON problem response (`application/problem+json`)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.path, **extra}  # fmt: skip
    response = jsonify(body)
    response.mimetype = "application/problem+json"
    return response, status


def wants_problem() -> bool:
    """Whether this request is answered with problems: the API, OGC API, tiles, JSON senders."""
    return request.path.startswith(("/api/", "/ogc", "/tiles/")) or request.is_json
