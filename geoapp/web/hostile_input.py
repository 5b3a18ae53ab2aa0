"""The one gate every request passes first: input no field could ever accept is refused.

PostgreSQL refuses a NUL byte in text, a lone UTF-16 surrogate cannot be encoded, an
integer past PostgreSQL's integer overflows a query, and a JSON array 50,000 deep exhausts
Python's recursion limit: each of these used to surface as a 500 on whichever view met
it first.  Rather than teach twenty views the same distrust, this hook (registered
before every other `before_request`) looks at the path, the query string, the
Authorization header, form fields and JSON bodies once, and answers 400 with a reason:
an RFC 9457 problem naming the parameter for the API, the OGC API and tiles, the
Ukrainian error page for people.

What is refused, and what is not:

- control characters (C0 and DEL) in the path, the query string and the Authorization
  header; in form fields and JSON strings the same, except tab, line feed and carriage
  return, which a textarea sends (browsers post new lines as CR LF);
- lone surrogates in JSON strings (a JSON escape can write one; nothing can store it);
- query values of only digits past PostgreSQL's `integer` (every id and page is one),
  and JSON integers past 2**53 (float() of 10**401 overflows);
- an over-long path, query value or form value, a JSON body over `MAX_JSON_BYTES`, and
  JSON nested deeper than `MAX_JSON_DEPTH` (measured on the raw bytes, before parsing).

`next` is left to the sign-in view, which ignores an unsafe one rather than refusing the
sign-in (see `auth._safe_next`).  Field-level rules (lengths of the schema's columns,
formats) stay with the forms and services; this is the floor under them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Flask, Response, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, ValidationError

from geoapp.web.problems import problem, wants_problem

MAX_INT = 2**31 - 1  # PostgreSQL `integer`: ids, pages, sizes, indexes
MAX_PATH = 2048
MAX_QUERY_VALUE = 4000
MAX_FORM_VALUE = 100_000
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_JSON_INT = 2**53  # the integers every JSON reader agrees on (RFC 8259, section 6)
EXEMPT_QUERY = {"next"}  # the sign-in view ignores an unsafe target (auth._safe_next)
_STRICT = re.compile(r"[\x00-\x1f\x7f]")
_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # \t \n \r belong in a textarea
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_DIGITS = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: where (`part`, `name`) and what (`code`)."""

    part: str  # path | query | header | form | json
    name: str | None
    code: str  # control | too_long | too_large | too_deep | not_text


class TooDeepError(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH (a ValueError, so `get_json` treats it as bad)."""


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without parsing it.

    Brackets inside strings do not count: strings (with their escapes) are cut out
    first.  Linear in the size of the body and free of recursion, so a 50,000-deep
    array costs a millisecond, not a RecursionError.
    """
    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"?', b"", raw, flags=re.DOTALL)
    brackets = np.frombuffer(stripped.translate(None, bytes(_NOT_BRACKETS)), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


_NOT_BRACKETS = bytearray(b for b in range(256) if b not in b"[]{}")


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing too-deep input before the parser recurses into it."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse `s`; raise TooDeepError (a ValueError) when it nests past the limit."""
        raw = s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise TooDeepError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return super().loads(s, **kwargs)


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` that matches only PostgreSQL integers: a 401-digit id is a 404, not a 500."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        """Werkzeug's converter with `max` defaulting to PostgreSQL's largest integer."""
        kwargs.setdefault("max", MAX_INT)
        super().__init__(url_map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        """No match past ten digits: int() of 4,301 digits raises ValueError, not a no-match."""
        if len(value) > 10:
            raise ValidationError()
        return super().to_python(value)  # type: ignore[no-any-return]


def bounded_int(raw: str | None, low: int = 0, high: int = MAX_INT) -> int | None:
    """An ASCII integer from `low` to `high`, else None (str.isdigit accepts "²", int() not)."""
    if raw is None or not _DIGITS.fullmatch(raw.strip()) or len(raw.strip()) > 12:
        return None
    value = int(raw.strip())
    return value if low <= value <= high else None


def _scalars(value: Any) -> Iterator[tuple[str, str | int]]:
    """Every key, string and integer in parsed JSON, with the top-level member it sits under."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, top = stack.pop()
        if isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool)):
            yield top, item
        elif isinstance(item, dict):
            for key, member in item.items():
                yield top or str(key), str(key)
                stack.append((member, top or str(key)))
        elif isinstance(item, list):
            stack.extend((member, top) for member in item)


def _text_refusal(part: str, name: str, value: str, limit: int) -> Refusal | None:
    if _TEXT.search(value) or _SURROGATE.search(value):
        return Refusal(part, name, "control")
    if len(value) > limit:
        return Refusal(part, name, "too_long")
    return None


def refusal() -> Refusal | None:
    """The first thing in this request no field may accept, or None."""
    if _STRICT.search(request.path):
        return Refusal("path", None, "control")
    if len(request.path) > MAX_PATH:
        return Refusal("path", None, "too_long")
    for name, value in request.args.items(multi=True):
        if name in EXEMPT_QUERY:
            continue
        if _STRICT.search(name) or _STRICT.search(value):
            return Refusal("query", name, "control")
        if len(value) > MAX_QUERY_VALUE:
            return Refusal("query", name, "too_long")
        if _DIGITS.fullmatch(value) and (len(value) > 12 or abs(int(value)) > MAX_INT):
            return Refusal("query", name, "too_large")
    auth = request.headers.get("Authorization", "")
    if _STRICT.search(auth):
        return Refusal("header", "Authorization", "control")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        return _body_refusal()
    return None


def _body_refusal() -> Refusal | None:
    if request.is_json:
        if (request.content_length or 0) > MAX_JSON_BYTES:
            return Refusal("json", None, "too_long")  # before reading it
        raw = request.get_data(cache=True)
        if len(raw) > MAX_JSON_BYTES:
            return Refusal("json", None, "too_long")
        if json_depth(raw) > MAX_JSON_DEPTH:
            return Refusal("json", None, "too_deep")
        for top, item in _scalars(request.get_json(silent=True)):
            if isinstance(item, int):  # 10**401 overflows float(), bigint and PostGIS alike
                if abs(item) > MAX_JSON_INT:
                    return Refusal("json", top or None, "too_large")
                continue
            found = _text_refusal("json", top, item, MAX_FORM_VALUE)
            if found:
                return found
        return None
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if _STRICT.search(name):
                return Refusal("form", name, "control")
            found = _text_refusal("form", name, value, MAX_FORM_VALUE)
            if found:
                return found
    return None


def _detail(found: Refusal) -> str:
    """In English, for the API (as its other problems are); `parameter` names the place."""
    where = (
        f"'{found.name}'"
        if found.name
        else {"path": "the path", "json": "the JSON body"}.get(found.part, "the request")
    )
    return {
        "control": f"{where} contains control characters (such as a NUL byte)",
        "too_long": f"{where} is too long",
        "too_large": f"{where} holds a number too large",
        "too_deep": f"{where} is nested deeper than {MAX_JSON_DEPTH} levels",
    }.get(found.code, f"{where} cannot be accepted")


def _message(found: Refusal) -> str:
    """In the interface language, for the error page people see."""
    messages = {
        "control": _("The request contains control characters (such as a NUL byte), which "
                     "no field accepts. Remove them and try again."),
        "too_long": _("Part of the request is far longer than any field accepts."),
        "too_large": _("A number in the request is too large."),
        "too_deep": _("The data sent is nested too deeply."),
    }  # fmt: skip
    return messages.get(found.code, messages["control"])


def answer(found: Refusal) -> tuple[Response, int] | tuple[str, int]:
    """400: a problem for machines (API, OGC, tiles, JSON bodies), the error page for people."""
    if wants_problem():
        extra = {"parameter": found.name} if found.name else {}
        return problem(400, "Bad Request", _detail(found), code=found.code, **extra)
    return render_template("error.html", code=400, name="Bad Request",
                           detail=_message(found)), 400  # fmt: skip


def _guard() -> tuple[Response, int] | tuple[str, int] | None:
    found = refusal()
    return answer(found) if found else None


def install_converters(app: Flask) -> None:
    """Bounded `<int:>` and the guarded JSON parser; before any blueprint adds its rules."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    sort_keys = app.json.sort_keys  # type: ignore[attr-defined]
    app.json_provider_class = GuardedJSONProvider
    app.json = GuardedJSONProvider(app)
    app.json.sort_keys = sort_keys  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    """Run the gate before every other request hook (CSRF, limits, sign-in)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _guard)
