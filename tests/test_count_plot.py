"""_cli/count_plot.py: k.png, the criterion over the number of clusters, marks in colour."""

import numpy as np
from PIL import Image

from skdeepcluster import NClustersEstimate
from skdeepcluster._cli import count_plot


def _estimate(candidates, best, runner_up):
    candidates = np.asarray(candidates)
    scores = -((np.log(candidates) - np.log(best)) ** 2)
    return NClustersEstimate(best, runner_up, candidates, scores, np.full(len(candidates), 5), 100)


def _columns_with(image, colour):
    pixels = np.asarray(image.convert("RGB")).astype(int)
    hit = (np.abs(pixels - np.array(colour)).sum(axis=2) < 30).any(axis=0)
    return np.flatnonzero(hit)


def test_the_plot_marks_the_chosen_the_runner_up_and_the_known_number(tmp_path):
    estimate = _estimate(list(range(2, 21)), 8, 12)
    path = count_plot.write_count_plot(tmp_path / "k.png", estimate, known=10)
    with Image.open(path) as image:
        assert image.size == count_plot._SIZE
        axes = count_plot._Axes(list(estimate.candidates), list(estimate.scores))
        for k, colour in [(8, count_plot._CHOSEN), (12, count_plot._RUNNER_UP)]:
            x = axes.point(k, 0)[0]
            columns = _columns_with(image, colour)
            assert np.min(np.abs(columns - x)) <= 1  # its dashed line
        assert len(_columns_with(image, count_plot._KNOWN)) > 0


def test_a_wide_range_of_candidates_is_drawn_on_a_log_scale(tmp_path):
    candidates = [*range(2, 21), 25, 31, 39, 50, 63, 80]
    assert count_plot._Axes(candidates, [0.0] * len(candidates)).log
    assert not count_plot._Axes(list(range(2, 21)), [0.0] * 19).log
    path = count_plot.write_count_plot(tmp_path / "k.png", _estimate(candidates, 39, None))
    with Image.open(path) as image:
        assert len(_columns_with(image, count_plot._CHOSEN)) > 0
        assert len(_columns_with(image, count_plot._KNOWN)) == 0  # nothing known, none drawn
