"""Sign-in, sign-out, password change and second-factor set-up for staff."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from geoapp import db
from geoapp.services import accounts
from geoapp.web.access import signed_in
from geoapp.web.forms import PasswordForm, SignInForm, TotpForm
from geoapp.web.security import StaffUser, limiter

bp = Blueprint("auth", __name__, url_prefix="/staff")


def _safe_next(target: str | None) -> str:
    """Follow `next` only within this site (no open redirect, no header injection)."""
    plain = bool(target) and target.isprintable() and "\\" not in target  # "/\x" reads as "//x"
    if plain and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("staff.home")


def _signin_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return f"{request.remote_addr}|{email}"


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["GEOAPP_SIGNIN_LIMIT"],
    key_func=_signin_key,
    methods=["POST"],
    deduct_when=_failed,
)
def login():
    """Sign in with email, password and, where set up, the authenticator code."""
    form = SignInForm()
    if form.validate_on_submit():
        result = accounts.sign_in(
            db.session(), form.email.data, form.password.data, form.totp.data or "",
            request.remote_addr,
        )  # fmt: skip
        if result.session_id:
            session.clear()  # a new session at every sign-in (no fixation)
            login = accounts.active_session(db.session(), result.session_id)
            assert login is not None
            login_user(StaffUser(login))
            return redirect(_safe_next(request.args.get("next")))
        message = (
            _("Enter the code from your authenticator app.")
            if result.reason == "totp"
            else _("The email or password is wrong, or the account is disabled.")
        )
        form.password.data = ""
        return render_template("staff/login.html", form=form, error=message), 401
    status = 400 if request.method == "POST" else 200
    return render_template("staff/login.html", form=form, error=None), status


@bp.post("/logout")
@signed_in
def logout():
    """End this login session on the server; the cookie is worthless afterwards."""
    accounts.sign_out(db.session(), current_user.get_id(), request.remote_addr)
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password():
    """Change the password; other sessions of this account end."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session(), current_user.user, form.current.data, form.new.data,
                keep_session=current_user.get_id(),
            )  # fmt: skip
        except accounts.AccountError:
            form.current.errors.append(_("The current password is wrong."))
            return render_template("staff/password.html", form=form), 400
        flash(_("The password is changed."))
        return redirect(url_for("staff.home"))
    return render_template("staff/password.html", form=form), 400 if form.errors else 200


@bp.route("/totp", methods=["GET", "POST"])
@signed_in
def totp():
    """Set up the second factor: show a secret, confirm it with a first code."""
    user = current_user.user
    if user.totp_secret:
        return render_template("staff/totp.html", enrolled=True, form=None)
    secret = session.get("totp_pending") or accounts.new_totp_secret()
    session["totp_pending"] = secret
    form = TotpForm()
    if form.validate_on_submit():
        try:
            accounts.enrol_totp(db.session(), user, secret, form.code.data)
        except accounts.AccountError:
            form.code.errors.append(_("The code does not match. Check the phone's clock."))
        else:
            session.pop("totp_pending", None)
            flash(_("Two-step sign-in is on."))
            return redirect(url_for("staff.home"))
    return render_template(
        "staff/totp.html", enrolled=False, form=form, secret=secret,
        uri=accounts.totp_uri(user, secret),
    ), 400 if form.errors else 200  # fmt: skip
