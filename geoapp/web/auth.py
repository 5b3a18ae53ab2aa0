"""Sign-in, sign-out, password change and second-factor set-up for staff."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
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
from geoapp.web.security import StaffUser, address_key, limit_key, limiter

bp = Blueprint("auth", __name__, url_prefix="/staff")


def _safe_next(target: str | None) -> str:
    """Follow `next` only within this site (no open redirect, no header injection)."""
    plain = bool(target) and target.isprintable() and "\\" not in target  # "/\x" reads as "//x"
    if plain and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("staff.home")


def _account_key() -> str:
    """Failed sign-ins of one account, from whatever address (a spread-out guesser)."""
    return limit_key("account", accounts.normalise_email(request.form.get("email") or "")[:254])


def _address_key() -> str:
    """Failed sign-ins from one address, whatever the account (a password sprayer)."""
    return limit_key("address", address_key(request.remote_addr))


def _everyone_key() -> str:
    """All failed sign-ins together (a botnet: many addresses, many accounts)."""
    return limit_key("everyone")


def _user_key() -> str:
    """Checks of the signed-in person's password or code, per account."""
    return limit_key("user", current_user.user.id)


def _failed(response) -> bool:
    return response.status_code == 401


def _check_failed(response) -> bool:
    return bool(g.get("check_failed"))


def _signin_limit(setting: str):
    return limiter.limit(lambda: current_app.config[setting], key_func={
        "GEOAPP_SIGNIN_LIMIT": _account_key, "GEOAPP_SIGNIN_ADDRESS_LIMIT": _address_key,
        "GEOAPP_SIGNIN_TOTAL_LIMIT": _everyone_key}[setting],
        methods=["POST"], deduct_when=_failed)  # fmt: skip


_check_limit = limiter.limit(
    lambda: current_app.config["GEOAPP_ACCOUNT_CHECK_LIMIT"], key_func=_user_key,
    methods=["POST"], deduct_when=_check_failed,
)  # fmt: skip


@bp.route("/login", methods=["GET", "POST"])
@_signin_limit("GEOAPP_SIGNIN_LIMIT")
@_signin_limit("GEOAPP_SIGNIN_ADDRESS_LIMIT")
@_signin_limit("GEOAPP_SIGNIN_TOTAL_LIMIT")
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
@_check_limit
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
            g.check_failed = True
            form.current.errors.append(_("The current password is wrong."))
            return render_template("staff/password.html", form=form), 400
        flash(_("The password is changed."))
        return redirect(url_for("staff.home"))
    return render_template("staff/password.html", form=form), 400 if form.errors else 200


@bp.route("/totp", methods=["GET", "POST"])
@signed_in
@_check_limit
def totp():
    """Set up the second factor: a secret kept on the server, confirmed by password and code."""
    user = current_user.user
    if user.totp_secret:
        return render_template("staff/totp.html", enrolled=True, form=None)
    secret = accounts.pending_totp_secret(db.session(), user)
    form = TotpForm()
    if form.validate_on_submit():
        try:
            accounts.enrol_totp(db.session(), user, form.password.data, form.code.data)
        except accounts.WrongPasswordError:
            g.check_failed = True
            form.password.errors.append(_("The password is wrong."))
        except accounts.AccountError:
            g.check_failed = True
            form.code.errors.append(_("The code does not match. Check the phone's clock."))
        else:
            flash(_("Two-step sign-in is on."))
            return redirect(url_for("staff.home"))
    return render_template(
        "staff/totp.html", enrolled=False, form=form, secret=secret,
        uri=accounts.totp_uri(user, secret),
    ), 400 if form.errors else 200  # fmt: skip
