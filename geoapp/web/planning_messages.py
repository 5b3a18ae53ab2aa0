"""Words for joint planning in the interface language, verdicts of evaluations included.

The services speak in codes (`InvalidMeasureError.errors`, `Evaluation.verdict`); this
module is the one place that turns them into sentences, so the form, the session page
and the minutes say the same thing the same way.
"""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _

from geoapp.analysis.evaluation import Evaluation


def kind_names() -> dict[str, str]:
    """Measure kinds, in the issue's order."""
    return {"lighting": _("Street lighting"), "cctv": _("CCTV"), "patrols": _("Patrols"),
            "environmental_design": _("Environmental design"), "outreach": _("Outreach"),
            "social_services": _("Social services"), "enforcement": _("Enforcement"),
            "other": _("Other")}  # fmt: skip


def status_names() -> dict[str, str]:
    """A measure's steps."""
    return {"proposed": _("proposed"), "agreed": _("agreed"), "in_progress": _("in progress"),
            "done": _("done"), "dropped": _("dropped")}  # fmt: skip


def step_names() -> dict[str, str]:
    """The buttons that move a measure to a step."""
    return {
        "proposed": _("Propose again"),
        "agreed": _("Agree"),
        "in_progress": _("Start work"),
        "done": _("Mark as done"),
        "dropped": _("Drop"),
    }


def agency_names() -> dict[str, str]:
    """The agencies around the table."""
    return {"prosecutor": _("Prosecutor's office"), "police": _("Police"),
            "council": _("Council"), "ngo": _("NGO"), "other": _("Other")}  # fmt: skip


def problem(code: str) -> str:
    """A field's problem, from its code."""
    return {
        "required": _("Fill this in."),
        "too_long": _("This is too long."),
        "too_many": _("There is no room for more: at most three priorities."),
        "unknown_kind": _("Choose a kind of measure."),
        "invalid_date": _("Enter a date as YYYY-MM-DD."),
        "before_start": _("The due date is before the start."),
        "unknown_concern": _("A linked concern is not an accepted concern of this community."),
        "invalid_area": _("The drawn area is not a polygon."),
        "outside_community": _("The area lies outside the community."),
        "invalid_number": _("Enter numbers for the baseline and the goal."),
        "name_and_baseline_required": _("An indicator needs a name and a baseline."),
        "indicator_name_too_long": _("The indicator's name is too long (at most 200 characters)."),
        "indicator_unit_too_long": _("The indicator's unit is too long (at most 40 characters)."),
        "unknown_agency": _("Choose an agency."),
        "unknown_participant": _("No such participant."),
        "no_cells": _("Choose hot spot cells on the map first."),
        "unknown_cell": _("A chosen cell is not in the analysis."),
    }.get(code, _("This value cannot be used."))


def not_evaluated(reason: str) -> str:
    """Why a measure has no evaluation yet."""
    return {
        "no_target": _("The measure has no target area, so its effect cannot be measured."),
        "no_start": _("Set a start date to compare before and after."),
        "not_started": _("The measure has not started yet, or there are no data since."),
    }.get(reason, reason)


def verdict(result: Evaluation) -> str:
    """Bowers & Johnson's reading of one evaluation as a sentence for the room.

    The sentences say "cases": the page puts "Offences" or "Concerns" before them, and a
    Ukrainian sentence cannot take either noun in every case it would need.
    """
    sentences = {
        "no_data": _("Too few cases to judge: none in the target area before the start, "
                     "or none in the rest of the community."),
        "no_improvement": _("The target area did not improve relative to the rest of the "
                            "community."),
        "no_displacement": _("The target area improved relative to the rest of the "
                             "community, and the streets around it did not change: no sign "
                             "of displacement next door."),
        "diffusion_greater": _("The target area improved, and the streets around it improved "
                               "even more: the benefit spread."),
        "diffusion": _("The target area improved, and some of the benefit spread to the "
                       "streets around it."),
        "displacement_less_than_gain": _("The target area improved; some cases probably moved "
                                         "to the streets around it, but fewer than were "
                                         "prevented: a net benefit."),
        "displacement_exceeds_gain": _("More cases moved to the streets around the target "
                                       "than were prevented in it: no net benefit."),
    }  # fmt: skip
    return sentences[result.verdict]


def chance(result: Evaluation) -> str | None:
    """Whether the target's change could be chance, from the odds ratio's interval."""
    if result.odds_ratio is None or result.odds_ratio_ci is None:
        return None
    low, high = result.odds_ratio_ci
    numbers = {
        "ratio": format_decimal(round(result.odds_ratio, 2)),
        "low": format_decimal(round(low, 2)),
        "high": format_decimal(round(high, 2)),
    }
    if low > 1 or high < 1:
        return _("The change in the target area is unlikely to be chance (odds ratio "
                 "%(ratio)s, 95 %% interval %(low)s–%(high)s).", **numbers)  # fmt: skip
    return _("The change in the target area could be chance (odds ratio %(ratio)s, "
             "95 %% interval %(low)s–%(high)s).", **numbers)  # fmt: skip
