"""What the resident reads when a report cannot be accepted, per error code."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MESSAGES = {
    "required": _l("Choose what the concern is about."),
    "unknown_category": _l("There is no such category in this community."),
    "not_recorded": _l("Reports of this kind are not collected on the map."),
    "too_long": _l("The description is too long (at most 1000 characters)."),
    "address_too_long": _l("The address is too long (at most 300 characters)."),
    "name_too_long": _l("The name is too long (at most 200 characters)."),
    "invalid_phone": _l("Check the phone number."),
    "invalid_email": _l("Check the email address."),
    "consent_required": _l("Tick the box to let us contact you, or leave the contact empty."),
    "invalid_point": _l("The place on the map is not valid."),
    "outside_community": _l("This place is outside the community."),
    "address_not_found": _l("We could not find this address. Put a pin on the map instead."),
    "no_place": _l("Show the place: a pin on the map, your location, or an address."),
    "invalid_token": _l("The form is incomplete. Reload the page and try again."),
    "photo_too_large": _l("The photo is larger than 5 MB."),
    "photo_not_image": _l("The photo must be a JPEG or PNG picture."),
    "contact_lost": _l(
        "Your contact details could not be kept, so we cannot call you back about this "
        "concern. Follow it by this page's link."
    ),
    "photo_too_many_pixels": _l(
        "The photo has too many pixels (at most 24 megapixels); send a smaller copy."
    ),
}


def message(code: str) -> str:
    """The resident-facing message for an error code."""
    return str(MESSAGES.get(code, code))


def public_status_names() -> dict[str, str]:
    """The steps of a concern the public map shows."""
    return {"accepted": _("accepted"), "in_progress": _("in progress"),
            "resolved": _("resolved")}  # fmt: skip
