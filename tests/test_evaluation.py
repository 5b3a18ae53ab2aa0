from __future__ import annotations

import datetime
import math

import numpy as np
import pytest

from geoapp.analysis.evaluation import (
    DIFFUSION,
    DIFFUSION_GREATER,
    DISPLACEMENT_EXCEEDS_GAIN,
    DISPLACEMENT_LESS_THAN_GAIN,
    NO_DATA,
    NO_DISPLACEMENT,
    NO_IMPROVEMENT,
    VERDICTS,
    AreaCounts,
    evaluate,
    windows,
)

FLAT_CONTROL = AreaCounts(1000, 1000)


def test_known_case_displacement_less_than_gain():
    target, buffer = AreaCounts(100, 60), AreaCounts(50, 70)
    result = evaluate(target, buffer, FLAT_CONTROL)
    # SM  = 60/1000 - 100/1000 = 0.06 - 0.10 = -0.04
    # BDM = 70/1000 -  50/1000 = 0.07 - 0.05 =  0.02
    # WDQ = 0.02 / -0.04 = -0.5
    assert result.success == pytest.approx(-0.04)
    assert result.buffer_displacement == pytest.approx(0.02)
    assert result.wdq == pytest.approx(-0.5)
    assert result.verdict == DISPLACEMENT_LESS_THAN_GAIN
    assert (result.target, result.buffer, result.control) == (target, buffer, FLAT_CONTROL)
    # changes: 60/100 - 1 = -0.4, 70/50 - 1 = +0.4, 1000/1000 - 1 = 0
    assert result.target.change == pytest.approx(-0.4)
    assert result.buffer.change == pytest.approx(0.4)
    assert result.control.change == pytest.approx(0.0)
    # OR = (A_b * C_a) / (A_a * C_b) = (100 * 1000) / (60 * 1000) = 5/3 = 1.6667
    assert result.odds_ratio == pytest.approx(5 / 3)
    # var(log OR) = 1/100 + 1/60 + 1/1000 + 1/1000 = 0.0286667, se = 0.169312
    # log OR = ln(5/3) = 0.510826; CI = exp(0.510826 -/+ 1.959964 * 0.169312)
    #        = exp(0.178981), exp(0.842671) = 1.195996, 2.322564
    low, high = result.odds_ratio_ci
    assert low == pytest.approx(1.195996, abs=1e-6)
    assert high == pytest.approx(2.322564, abs=1e-6)


def test_ci_uses_all_four_counts():
    # Same OR 5/3 but ten times the control: var = 0.01 + 1/60 + 0.0001 + 0.0001 = 0.0268667,
    # se = 0.163911, CI = exp(0.510826 -/+ 0.321259) = 1.208726, 2.298104: narrower.
    result = evaluate(AreaCounts(100, 60), AreaCounts(50, 70), AreaCounts(10000, 10000))
    assert result.odds_ratio == pytest.approx(5 / 3)
    low, high = result.odds_ratio_ci
    assert low == pytest.approx(1.208726, abs=1e-6)
    assert high == pytest.approx(2.298104, abs=1e-6)


def test_diffusion_when_the_buffer_also_falls():
    # SM = 0.06 - 0.10 = -0.04; BDM = 40/1000 - 50/1000 = -0.01; WDQ = -0.01/-0.04 = 0.25
    result = evaluate(AreaCounts(100, 60), AreaCounts(50, 40), FLAT_CONTROL)
    assert result.buffer_displacement == pytest.approx(-0.01)
    assert result.wdq == pytest.approx(0.25)
    assert result.verdict == DIFFUSION


def test_diffusion_greater_than_the_direct_effect():
    # SM = 0.09 - 0.10 = -0.01; BDM = 0.03 - 0.05 = -0.02; WDQ = -0.02/-0.01 = 2
    result = evaluate(AreaCounts(100, 90), AreaCounts(50, 30), FLAT_CONTROL)
    assert result.success == pytest.approx(-0.01)
    assert result.wdq == pytest.approx(2.0)
    assert result.verdict == DIFFUSION_GREATER


def test_displacement_exceeds_gain():
    # SM = 0.09 - 0.10 = -0.01; BDM = 0.08 - 0.05 = 0.03; WDQ = 0.03/-0.01 = -3
    result = evaluate(AreaCounts(100, 90), AreaCounts(50, 80), FLAT_CONTROL)
    assert result.wdq == pytest.approx(-3.0)
    assert result.verdict == DISPLACEMENT_EXCEEDS_GAIN


def test_boundaries_are_decided_exactly():
    # WDQ exactly -1: BDM = 0.09 - 0.05 = 0.04 = -SM (in floats 0.0399.. vs 0.0400..01)
    at_minus_one = evaluate(AreaCounts(100, 60), AreaCounts(50, 90), FLAT_CONTROL)
    assert at_minus_one.wdq == -1.0
    assert at_minus_one.verdict == DISPLACEMENT_LESS_THAN_GAIN
    # WDQ exactly 1: BDM = 0.01 - 0.05 = -0.04 = SM
    at_one = evaluate(AreaCounts(100, 60), AreaCounts(50, 10), FLAT_CONTROL)
    assert at_one.wdq == 1.0
    assert at_one.verdict == DIFFUSION


def test_no_displacement_when_the_buffer_keeps_its_share():
    # BDM = 25/500 - 50/1000 = 0.05 - 0.05 = 0 exactly; SM = 30/500 - 0.10 = -0.04
    result = evaluate(AreaCounts(100, 30), AreaCounts(50, 25), AreaCounts(1000, 500))
    assert result.success == pytest.approx(-0.04)
    assert result.buffer_displacement == 0.0
    assert result.wdq == 0.0
    assert result.verdict == NO_DISPLACEMENT


def test_empty_buffer_is_no_displacement():
    result = evaluate(AreaCounts(100, 60), AreaCounts(0, 0), FLAT_CONTROL)
    assert result.wdq == 0.0
    assert result.buffer.change is None
    assert result.verdict == NO_DISPLACEMENT


def test_no_improvement_when_the_target_rises():
    # SM = 120/1000 - 100/1000 = +0.02 >= 0: WDQ undefined
    result = evaluate(AreaCounts(100, 120), AreaCounts(50, 70), FLAT_CONTROL)
    assert result.success == pytest.approx(0.02)
    assert result.buffer_displacement == pytest.approx(0.02)
    assert result.wdq is None
    assert result.verdict == NO_IMPROVEMENT
    # OR = (100 * 1000) / (120 * 1000) = 0.8333 < 1: worse than control
    assert result.odds_ratio == pytest.approx(100 / 120)


def test_a_fall_smaller_than_the_controls_is_no_improvement():
    # Target -40% but control -50%: SM = 60/500 - 100/1000 = 0.12 - 0.10 = +0.02
    result = evaluate(AreaCounts(100, 60), AreaCounts(50, 25), AreaCounts(1000, 500))
    assert result.target.change == pytest.approx(-0.4)
    assert result.success == pytest.approx(0.02)
    assert result.wdq is None
    assert result.verdict == NO_IMPROVEMENT
    # OR = (100 * 500) / (60 * 1000) = 0.8333
    assert result.odds_ratio == pytest.approx(50000 / 60000)


def test_unchanged_target_is_no_improvement():
    result = evaluate(AreaCounts(100, 100), AreaCounts(50, 70), FLAT_CONTROL)
    assert result.success == 0.0
    assert result.wdq is None
    assert result.verdict == NO_IMPROVEMENT


def test_no_data_when_control_before_is_zero():
    result = evaluate(AreaCounts(100, 60), AreaCounts(50, 70), AreaCounts(0, 1000))
    assert result.verdict == NO_DATA
    assert result.success is None
    assert result.buffer_displacement is None
    assert result.wdq is None
    assert result.odds_ratio is None
    assert result.odds_ratio_ci is None
    assert result.control.change is None


def test_no_data_when_control_after_is_zero():
    result = evaluate(AreaCounts(100, 60), AreaCounts(50, 70), AreaCounts(1000, 0))
    assert result.verdict == NO_DATA
    assert result.success is None
    assert result.control.change == pytest.approx(-1.0)


def test_no_data_when_the_target_had_nothing_before():
    # SM = 5/1000 - 0 = 0.005 is defined, but there was nothing to prevent
    result = evaluate(AreaCounts(0, 5), AreaCounts(50, 70), FLAT_CONTROL)
    assert result.verdict == NO_DATA
    assert result.success == pytest.approx(0.005)
    assert result.wdq is None
    assert result.odds_ratio is None


def test_odds_ratio_is_none_when_the_target_falls_to_zero():
    # SM = 0 - 0.10 = -0.1; BDM = 0.07 - 0.05 = 0.02; WDQ = -0.2
    result = evaluate(AreaCounts(100, 0), AreaCounts(50, 70), FLAT_CONTROL)
    assert result.wdq == pytest.approx(-0.2)
    assert result.verdict == DISPLACEMENT_LESS_THAN_GAIN
    assert result.odds_ratio is None
    assert result.odds_ratio_ci is None


def test_verdicts_are_the_fixed_codes():
    assert VERDICTS == (
        "no_data",
        "no_improvement",
        "diffusion_greater",
        "diffusion",
        "no_displacement",
        "displacement_less_than_gain",
        "displacement_exceeds_gain",
    )


def test_numpy_counts_are_accepted_as_ints():
    counts = AreaCounts(np.int64(100), np.int64(60))
    assert type(counts.before) is int and counts.before == 100
    assert counts.change == pytest.approx(-0.4)


@pytest.mark.parametrize(
    ("before", "after"),
    [(-1, 5), (5, -1), (1.5, 5), (5, 2.0), ("5", 5), (None, 5), (True, 5)],
)
def test_bad_counts_raise(before, after):
    with pytest.raises(ValueError):
        AreaCounts(before, after)


def test_windows_across_a_leap_day():
    before, after = windows(datetime.date(2024, 3, 1), 30)
    # before: 2024-03-01 - 30 days = 2024-01-31 (Jan 31 + 29 February days = 30 days)
    assert before == (datetime.date(2024, 1, 31), datetime.date(2024, 2, 29))
    assert after == (datetime.date(2024, 3, 1), datetime.date(2024, 3, 30))
    assert (before[1] - before[0]).days + 1 == 30 == (after[1] - after[0]).days + 1


def test_windows_in_a_common_year():
    before, after = windows(datetime.date(2023, 3, 1), 30)
    # 2023 has 28 February days: 2023-03-01 - 30 days = 2023-01-30
    assert before == (datetime.date(2023, 1, 30), datetime.date(2023, 2, 28))
    assert after == (datetime.date(2023, 3, 1), datetime.date(2023, 3, 30))


def test_one_day_windows():
    before, after = windows(datetime.date(2024, 3, 1), 1)
    assert before == (datetime.date(2024, 2, 29), datetime.date(2024, 2, 29))
    assert after == (datetime.date(2024, 3, 1), datetime.date(2024, 3, 1))


def test_windows_over_a_whole_leap_year():
    before, after = windows(datetime.date(2025, 1, 1), 366)
    assert before == (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    assert after == (datetime.date(2025, 1, 1), datetime.date(2026, 1, 1))


@pytest.mark.parametrize("days", [0, -7, 1.5, True, "30"])
def test_bad_window_length_raises(days):
    with pytest.raises(ValueError, match="days"):
        windows(datetime.date(2024, 3, 1), days)


def test_windows_refuse_a_datetime():
    with pytest.raises(ValueError, match="start"):
        windows(datetime.datetime(2024, 3, 1, 12, 0), 30)


def test_z_value_is_the_two_sided_95_percent_quantile():
    # exp(log(5/3) + 1.959964 * se) / (5/3) == exp(1.959964 * se): symmetric on the log scale
    result = evaluate(AreaCounts(100, 60), AreaCounts(50, 70), FLAT_CONTROL)
    low, high = result.odds_ratio_ci
    assert math.sqrt(low * high) == pytest.approx(5 / 3)
    assert math.log(high / low) / 2 == pytest.approx(1.959964 * 0.169312, abs=1e-6)
