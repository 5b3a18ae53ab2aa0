import numpy as np

from geoapp.analysis.gaps import RECORD, WORRY, concern_incident_gaps


def test_worries_where_nothing_is_recorded_and_records_nobody_worries_about():
    incidents = np.array([100, 100, 100, 0, 400, 100])
    concerns = np.array([4, 5, 4, 9, 0, 4])  # cell 3: worried, no record; cell 4: the reverse
    gaps = concern_incident_gaps(concerns, incidents)
    assert list(gaps.kind) == ["", "", "", WORRY, RECORD, ""]
    assert gaps.expected.sum() == concerns.sum()
    assert gaps.p[3] < 0.05 and gaps.p[4] < 0.05


def test_concerns_that_follow_the_incidents_show_no_gap():
    rng = np.random.default_rng(3)
    incidents = rng.integers(0, 200, 300)
    concerns = rng.poisson(0.05 * (incidents + 1))
    found = (concern_incident_gaps(concerns, incidents).kind != "").mean()
    assert found <= 0.01
