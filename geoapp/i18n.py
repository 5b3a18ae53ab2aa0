"""Interface language: Ukrainian by default, English on request.

The choice is explicit (a `?lang=` link, remembered in a cookie), not taken
from the browser's Accept-Language: the pilot's shared screens must speak
Ukrainian unless someone asks otherwise.
"""

from __future__ import annotations

from datetime import date

from flask import Flask, Response, current_app, request
from flask_babel import Babel, format_date, format_decimal, get_locale, gettext

COOKIE = "lang"


def select_locale() -> str:
    """`?lang=` first, then the remembered choice, then Ukrainian."""
    languages = current_app.config["GEOAPP_LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if candidate in languages:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _remember_choice(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in current_app.config["GEOAPP_LANGUAGES"]:
        response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def current_language() -> str:
    """The language of this request as a two-letter code."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def localized(uk: str | None, en: str | None) -> str:
    """Pick the Ukrainian or English variant of a data field for this request."""
    if current_language() == "en":
        return en or uk or ""
    return uk or en or ""


ROMAN = ("I", "II", "III", "IV")


def period_name(kind: str, start: date) -> str:
    """A year, quarter or month the way people say it.

    «2025 рік», «II квартал 2025», «березень 2025»: the stand-alone month name, as
    Ukrainian writes it in a heading, not the genitive of a date.
    """
    if kind == "year":
        return gettext("%(year)d year", year=start.year)
    if kind == "quarter":
        return gettext("Q%(quarter)s %(year)d", quarter=ROMAN[(start.month - 1) // 3],
                       year=start.year)  # fmt: skip
    return format_date(start, "LLLL y")


def init_app(app: Flask) -> None:
    """Install Flask-Babel with our selector and the template helpers."""
    Babel(app, locale_selector=select_locale)
    app.after_request(_remember_choice)
    # Numbers the Ukrainian way: 12 345 (a non-breaking space groups thousands).
    app.jinja_env.filters["format_number"] = format_decimal
    # Dates kept as ISO text in JSON (a priority's evidence) back to dates for `dateformat`.
    app.jinja_env.filters["from_iso"] = date.fromisoformat
    app.jinja_env.globals.update(
        current_language=current_language, localized=localized, period_name=period_name
    )
