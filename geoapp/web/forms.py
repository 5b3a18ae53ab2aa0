"""Forms (Flask-WTF): validation messages in the interface language, CSRF built in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from geoapp.services.accounts import MIN_PASSWORD


class SignInForm(FlaskForm):
    """/staff/login: the field names are a promised interface (email, password, totp)."""

    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email"))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password"))])
    totp = StringField(
        _l("Code from the authenticator app"), validators=[Optional(), Length(max=10)]
    )


class PasswordForm(FlaskForm):
    """Change of password."""

    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, message=_l("At least %(min)d characters", min=MIN_PASSWORD)),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The passwords differ"))],
    )


class TotpForm(FlaskForm):
    """Confirming the second factor with a first code."""

    password = PasswordField(
        _l("Your password"), validators=[DataRequired(_l("Enter your password"))]
    )
    code = StringField(_l("Code"), validators=[DataRequired(), Length(min=6, max=10)])


class AuditFilterForm(FlaskForm):
    """Filters of the audit list (GET, so no CSRF)."""

    class Meta:
        """Filters change nothing, so they need no CSRF token."""

        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=64)])
    actor = StringField(_l("Who"), validators=[Optional(), Length(max=254)])
