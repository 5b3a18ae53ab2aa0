"""What the public actually gets: per year and cell size, each cell's count (all groups)
and the community's total.

The property the issue asks for, on the publication itself: no published count has
0 < n < k, and no withheld count can be computed from what is published (an independent
integer audit from test_suppression).  Finer tables are never published (the API refuses
them, and `cells` withholds every count in them: test_incident_cells).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geoapp.services.incident_cells import year_withheld
from tests.test_suppression import attacker_ranges

counts = st.one_of(st.just(0), st.just(0), st.integers(1, 4), st.integers(5, 30))


@st.composite
def cubes(draw) -> tuple[np.ndarray, int]:
    cells, groups = draw(st.integers(1, 8)), draw(st.integers(1, 3))
    size = cells * groups * 12
    values = draw(st.lists(counts, min_size=size, max_size=size))
    k = draw(st.sampled_from([3, 10, 40]))
    return np.array(values, dtype=np.int64).reshape(cells, groups, 12), k


@settings(max_examples=60, deadline=None)
@given(cubes())
def test_the_public_table_publishes_no_small_count_and_reveals_none(cube_and_k) -> None:
    cube, k = cube_and_k
    cells, _groups, _ = cube.shape
    totals = cube.sum(axis=(1, 2))
    values = np.append(totals, totals.sum())
    shown = year_withheld(totals, k)
    assert not (~shown & (values > 0) & (values < k)).any(), "a small count is published"
    assert (values[shown & (values > 0)] >= 1).all()
    width = attacker_ranges(values, shown & (values > 0), totals.shape,
                            [[list(range(cells))]], integer=True)  # fmt: skip
    determined = {idx: w for idx, w in width.items() if w < 1 - 1e-7}
    assert not determined, f"withheld counts an attacker can compute: {determined}"


def test_a_busy_cell_stays_public_beside_quiet_ones() -> None:
    cube = np.zeros((4, 3, 12), dtype=np.int64)
    cube[0, 0, :] = 10  # a busy market: 120 thefts
    cube[1:, :, 0] = [[2, 1, 0], [1, 2, 0], [3, 0, 1]]  # quiet cells: a few in January
    withheld = year_withheld(cube.sum(axis=(1, 2)), 10)
    assert not withheld[0], "the busy cell's year is published"
    assert withheld[1:4].all(), "the quiet cells' years (3 or 4) are withheld"
    # The total (130) stays: it gives the quiet cells' sum (10), not any one of them.
    assert not withheld[4]
