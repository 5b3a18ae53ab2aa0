"""The numpy cell arithmetic: centres, neighbours, counts (PostGIS agreement is in
test_incident_cells, against ST_Covers on the drawn hexagons)."""

import numpy as np

from geoapp.analysis.hexgrid import count_by_cell, hex_cells


def centre(i: np.ndarray, j: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """ST_Hexagon's centre of cell (i, j): flat-topped, odd columns shifted up."""
    height = np.sqrt(3.0) * size
    return 1.5 * size * i, height * (j + 0.5 * (i & 1))


def test_points_near_a_centre_are_in_that_cell():
    rng = np.random.default_rng(5)
    i = rng.integers(-400, 400, 5000)
    j = rng.integers(-400, 400, 5000)
    x, y = centre(i, j, 250.0)
    angle = rng.uniform(0, 2 * np.pi, 5000)
    radius = rng.uniform(0, 250.0 * np.sqrt(3) / 2 * 0.999, 5000)  # inside the inscribed circle
    got_i, got_j = hex_cells(x + radius * np.cos(angle), y + radius * np.sin(angle), 250.0)
    assert np.array_equal(got_i, i) and np.array_equal(got_j, j)


def test_counts_add_up_per_cell_group_and_month():
    x = np.array([0.0, 10.0, 20.0, 2000.0, 2000.0])
    y = np.array([0.0, 0.0, 0.0, 2000.0, 2000.0])
    group = np.array([7, 7, 8, 7, 7])
    month = np.array([660, 660, 660, 660, 661])  # 2025-01 and 2025-02
    rows = count_by_cell(x, y, group, month, [500, 1000])
    assert rows[:, 6].sum() == 10  # every point counted once per size
    of_500 = {tuple(r[1:6]): r[6] for r in rows.tolist() if r[0] == 500}
    assert of_500[(0, 0, 7, 2025, 1)] == 2 and of_500[(0, 0, 8, 2025, 1)] == 1
    far = hex_cells(np.array([2000.0]), np.array([2000.0]), 500)
    assert of_500[(int(far[0][0]), int(far[1][0]), 7, 2025, 2)] == 1
    assert count_by_cell(x[:0], y[:0], group[:0], month[:0], [500]).shape == (0, 7)
