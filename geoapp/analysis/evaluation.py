"""Whether a crime-prevention measure worked, and whether crime just moved next door.

A measure such as new street lighting has a target area and a start date.  Comparing the
target before and after alone cannot tell the measure from a community-wide trend, and it
hides the classic objection that crime was merely *displaced* to the surrounding streets
(or the opposite, that the benefit *diffused* to them).  Bowers & Johnson (2003,
"Measuring the geographical displacement and diffusion of benefit effects of crime
prevention activity", Journal of Quantitative Criminology 19(3), 275-301) answer both with
three areas counted in equal windows before and after the start:

* A, the target area; B, a buffer ring around it, where crime may be displaced to;
  C, the rest of the community as control, which carries the background trend.
* Success measure ``SM = A_after/C_after - A_before/C_before``: negative when the target
  improved relative to the control.
* Buffer displacement measure ``BDM = B_after/C_after - B_before/C_before``: positive when
  the buffer worsened relative to the control (displacement), negative when it improved
  (diffusion of benefits).
* Weighted displacement quotient ``WDQ = BDM / SM``: the buffer's change weighed against
  the target's.  It is only meaningful once the target did improve (``SM < 0``).

Read as in Bowers & Johnson and in the guidance of Guerette (2009, "Analyzing crime
displacement and diffusion", POP Center tool guide 10) and the UCL Jill Dando Institute:
WDQ > 1 diffusion greater than the direct effect; 0 < WDQ <= 1 diffusion; WDQ = 0 neither
displacement nor diffusion; -1 <= WDQ < 0 displacement smaller than the gain (a net
benefit); WDQ < -1 displacement greater than the gain (counter-productive overall).

The WDQ does not say whether the target's change could be chance, and Bowers & Johnson
ask for that to be settled first.  For it this module gives the odds ratio of Farrington
& Welsh, the standard effect size of area-based evaluations such as their street lighting
and CCTV reviews, with its log-normal 95% interval.  Nothing else is computed: no
invented "net effect".

Pure Python + scipy; the caller counts the incidents per area and window (see `windows`).
"""

from __future__ import annotations

import datetime
import functools
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

NO_DATA = "no_data"
NO_IMPROVEMENT = "no_improvement"
DIFFUSION_GREATER = "diffusion_greater"
DIFFUSION = "diffusion"
NO_DISPLACEMENT = "no_displacement"
DISPLACEMENT_LESS_THAN_GAIN = "displacement_less_than_gain"
DISPLACEMENT_EXCEEDS_GAIN = "displacement_exceeds_gain"

VERDICTS: tuple[str, ...] = (
    NO_DATA,
    NO_IMPROVEMENT,
    DIFFUSION_GREATER,
    DIFFUSION,
    NO_DISPLACEMENT,
    DISPLACEMENT_LESS_THAN_GAIN,
    DISPLACEMENT_EXCEEDS_GAIN,
)


@dataclass(frozen=True)
class AreaCounts:
    """Incidents in one area in the before and the after window.

    Counts, not rates: the windows are of equal length and the area is the same in both,
    so the counts compare directly, which is what the WDQ's ratios assume.  Validated on
    construction because a negative or fractional "count" is always an upstream bug and
    would otherwise come out as a plausible-looking quotient.
    """

    before: int
    after: int

    def __post_init__(self) -> None:
        """Reject anything but non-negative integers (numpy integers are accepted)."""
        for name in ("before", "after"):
            object.__setattr__(self, name, _count(name, getattr(self, name)))

    @property
    def change(self) -> float | None:
        """Relative change ``after/before - 1`` (-0.4 is a 40% fall).

        None when nothing happened before: a rise from zero has no finite relative size,
        and reporting it as infinity or 0 would mislead a reader.
        """
        if self.before == 0:
            return None
        return self.after / self.before - 1.0


@dataclass(frozen=True)
class Evaluation:
    """Everything Bowers & Johnson's method says about one measure, plus the odds ratio.

    ``success`` (SM) and ``buffer_displacement`` (BDM) are None when a control count is 0
    (the ratios are undefined); ``wdq`` is None unless the target improved (SM < 0) and
    the target had incidents before.  ``odds_ratio`` > 1 means the target improved
    relative to the control; it and its interval are None when any of the four target
    and control counts is 0.  ``verdict`` is one of `VERDICTS`, for the web layer to word.
    """

    target: AreaCounts
    buffer: AreaCounts
    control: AreaCounts
    success: float | None
    buffer_displacement: float | None
    wdq: float | None
    odds_ratio: float | None
    odds_ratio_ci: tuple[float, float] | None
    verdict: str


def evaluate(target: AreaCounts, buffer: AreaCounts, control: AreaCounts) -> Evaluation:
    """Weighted displacement quotient (Bowers & Johnson 2003) and odds ratio for a measure.

    Why the control: dividing each area's count by the control's in the same window
    removes what happened everywhere (seasons, a change in recording, the war's effect on
    reporting), so only the change *relative* to the community is credited to the measure.

    Why exact arithmetic: SM, BDM and the WDQ are computed as fractions of the integer
    counts, so the class boundaries (WDQ = 0, 1, -1, and SM = 0) are decided exactly; in
    floating point 0.09 - 0.05 and 0.1 - 0.06 differ in the last bit and a WDQ of
    exactly -1 could land on either side.  The returned numbers are floats.

    Verdicts, checked in this order:

    * ``no_data``: a control count is 0 (no ratio can be formed) or the target had no
      incidents before (there was nothing for the measure to prevent);
    * ``no_improvement``: SM >= 0, the target did not improve relative to the control, so
      the WDQ is undefined (Bowers & Johnson interpret it only after a success);
    * ``no_displacement``: WDQ = 0, the buffer kept its share of the control (this
      includes a buffer with no incidents in either window);
    * ``diffusion_greater``: WDQ > 1, the buffer improved more than the target;
    * ``diffusion``: 0 < WDQ <= 1, the buffer improved too, by at most the target's gain;
    * ``displacement_less_than_gain``: -1 <= WDQ < 0, the buffer worsened, by at most the
      target's gain, so the measure still had a net benefit (at exactly -1 the
      displacement equals the gain);
    * ``displacement_exceeds_gain``: WDQ < -1, the buffer worsened by more than the target
      gained: counter-productive overall.
    """
    odds_ratio, odds_ratio_ci = _odds_ratio(target, control)
    if control.before == 0 or control.after == 0:
        return Evaluation(target, buffer, control, None, None, None, None, None, NO_DATA)
    sm = Fraction(target.after, control.after) - Fraction(target.before, control.before)
    bdm = Fraction(buffer.after, control.after) - Fraction(buffer.before, control.before)
    wdq: Fraction | None = None
    if target.before == 0:
        verdict = NO_DATA
    elif sm >= 0:
        verdict = NO_IMPROVEMENT
    else:
        wdq = bdm / sm
        verdict = _classify(wdq)
    return Evaluation(
        target=target,
        buffer=buffer,
        control=control,
        success=float(sm),
        buffer_displacement=float(bdm),
        wdq=None if wdq is None else float(wdq),
        odds_ratio=odds_ratio,
        odds_ratio_ci=odds_ratio_ci,
        verdict=verdict,
    )


def windows(
    start: datetime.date, days: int
) -> tuple[tuple[datetime.date, datetime.date], tuple[datetime.date, datetime.date]]:
    """The before and after windows of ``days`` days each, both ends included.

    before = [start - days, start - 1 day], after = [start, start + days - 1 day].  The
    windows must be of equal length because the WDQ compares raw counts; they touch at
    the start date so that no incident is counted twice or left out.  Calendar arithmetic
    (not "a month") keeps them equal across month ends and 29 February.
    """
    if isinstance(start, datetime.datetime) or not isinstance(start, datetime.date):
        raise ValueError(f"start must be a datetime.date (not a datetime), got {start!r}")
    if isinstance(days, bool) or not isinstance(days, numbers.Integral):
        raise ValueError(f"days must be a whole number of days, got {days!r}")
    if days <= 0:
        raise ValueError(f"days must be positive (the length of each window), got {days}")
    length = datetime.timedelta(days=int(days))
    one = datetime.timedelta(days=1)
    return (start - length, start - one), (start, start + length - one)


def _classify(wdq: Fraction) -> str:
    """Bowers & Johnson's reading of a WDQ computed after a success (SM < 0)."""
    if wdq > 1:
        return DIFFUSION_GREATER
    if wdq > 0:
        return DIFFUSION
    if wdq == 0:
        return NO_DISPLACEMENT
    if wdq >= -1:
        return DISPLACEMENT_LESS_THAN_GAIN
    return DISPLACEMENT_EXCEEDS_GAIN


def _odds_ratio(
    target: AreaCounts, control: AreaCounts
) -> tuple[float | None, tuple[float, float] | None]:
    """Farrington & Welsh's odds ratio (A_b C_a)/(A_a C_b) with its log-normal 95% interval.

    var(log OR) = 1/A_b + 1/A_a + 1/C_b + 1/C_a treats the counts as Poisson.  Recorded
    crime is usually overdispersed, so Farrington & Welsh note this interval is too
    narrow; an interval that includes 1 is therefore a firm "not shown", one that excludes
    it a reasonable indication, not proof.  A zero count makes the ratio or its variance
    infinite, hence None.
    """
    counts = (target.before, target.after, control.before, control.after)
    if min(counts) == 0:
        return None, None
    ratio = (target.before * control.after) / (target.after * control.before)
    se = math.sqrt(sum(1.0 / n for n in counts))
    log_ratio = math.log(ratio)
    z95 = _z95()
    return ratio, (math.exp(log_ratio - z95 * se), math.exp(log_ratio + z95 * se))


@functools.cache
def _z95() -> float:
    """1.959964...: the two-sided 95% normal quantile for the log odds ratio."""
    # Imported here, not at the top: the web app imports this module at start-up, and
    # scipy.stats would add ~65 MB to the app's memory at rest.
    from scipy.stats import norm

    return float(norm.ppf(0.975))


def _count(name: str, value: object) -> int:
    """``value`` as a non-negative int, or a ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole-number count, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return int(value)
