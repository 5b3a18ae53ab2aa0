"""The one error a layer request can end in, carrying the HTTP status it is answered with.

Views keep no lists of exception types: the grammar, the sources and the access check
raise `LayerError`, and one handler (registered by `geoapp.web`) renders it as an RFC 9457
problem.  A layer the caller may not see is a 404 exactly like one that does not exist, so
an error never confirms that something is there.
"""

from __future__ import annotations

from typing import Any, ClassVar


class LayerError(ValueError):
    """A layer request that cannot be answered: `status` 400, 401 or 404, and why."""

    TITLES: ClassVar[dict[int, str]] = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}

    def __init__(self, status: int, detail: str, code: str = "invalid", **values: Any) -> None:
        """`detail` is shown to the caller in their language; `values` join the problem body."""
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.values = values

    @property
    def title(self) -> str:
        """The problem's title, the status's reason phrase."""
        return self.TITLES.get(self.status, "Bad Request")


def bad(detail: str, code: str = "invalid", **values: Any) -> LayerError:
    """A 400: a parameter is wrong or not open to this caller."""
    return LayerError(400, detail, code, **values)


def not_found(detail: str) -> LayerError:
    """A 404: no such layer or feature for this caller (existence is not confirmed)."""
    return LayerError(404, detail, "not_found")
