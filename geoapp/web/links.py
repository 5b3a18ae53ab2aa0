"""Absolute links the app gives out (tracking URLs, OGC links), built on GEOAPP_PUBLIC_URL.

`url_for(..., _external=True)` takes the scheme and host from the request, and the
`Host` header is whatever the client sent: a forged one would put an attacker's
address into a resident's tracking link or a partner's OGC paging links.  With
`GEOAPP_PUBLIC_URL` set (every deployment), the request's host plays no part.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of `endpoint`: on GEOAPP_PUBLIC_URL when set, else the request's host.

    The public URL names the app's root as people reach it (a path prefix included), so
    the prefix the WSGI server mounts the app under is not added a second time.
    """
    base = current_app.config.get("GEOAPP_PUBLIC_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    return base.rstrip("/") + path
