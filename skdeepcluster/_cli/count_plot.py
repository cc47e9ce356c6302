"""The command's ``k.png``: the criterion of the number of clusters against the number.

Drawn with Pillow (the command's only drawing library): the score of every
candidate as a line with dots, the chosen number marked in red, the runner-up
in grey and, for a folder of class sub-folders, their count in green.
"""

import math

from PIL import Image, ImageDraw

from .report import _font

_SIZE, _MARGIN = (900, 500), (80, 60, 30, 70)  # width, height; left, top, right, bottom
_INK, _GRID, _LINE = (0, 0, 0), (225, 225, 225), (40, 90, 170)
_CHOSEN, _RUNNER_UP, _KNOWN = (200, 30, 30), (120, 120, 120), (20, 140, 60)


def _ticks(low, high, count=5):
    """About ``count`` round values from ``low`` to ``high``."""
    step = (high - low) / count or 1.0
    power = 10 ** math.floor(math.log10(step))
    step = min((m * power for m in (1, 2, 5, 10) if m * power >= step), default=step)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


class _Axes:
    """Maps (number of clusters, score) to pixels: x on a log scale past 30 candidates' span."""

    def __init__(self, candidates, scores):
        self.log = candidates[-1] / candidates[0] > 15
        self.x_range = (self._x(candidates[0]), self._x(candidates[-1]))
        low, high = float(min(scores)), float(max(scores))
        pad = 0.08 * (high - low or 1.0)
        self.y_range = (low - pad, high + pad)
        left, top, right, bottom = _MARGIN
        self.box = (left, top, _SIZE[0] - right, _SIZE[1] - bottom)

    def _x(self, k):
        return math.log(k) if self.log else float(k)

    def point(self, k, score):
        left, top, right, bottom = self.box
        x0, x1 = self.x_range
        y0, y1 = self.y_range
        x = left + (self._x(k) - x0) / ((x1 - x0) or 1.0) * (right - left)
        y = bottom - (score - y0) / ((y1 - y0) or 1.0) * (bottom - top)
        return x, y

    def x_ticks(self, candidates):
        if not self.log:
            return [k for k in _ticks(candidates[0], candidates[-1], 8) if k == int(k)]
        marks = [2, 3, 5, 10, 20, 30, 50, 100, 200, 500]
        return [k for k in marks if candidates[0] <= k <= candidates[-1]]


def _marker_line(draw, axes, k, colour):
    """A dashed vertical line at ``k`` across the plot."""
    x, _ = axes.point(k, axes.y_range[0])
    left, top, right, bottom = axes.box
    for y in range(int(top), int(bottom), 8):
        draw.line([(x, y), (x, min(y + 5, bottom))], fill=colour, width=2)


def _marker_label(draw, axes, k, colour, text, row, font):
    """``text`` beside the line at ``k``, on label row ``row`` from the bottom, on white."""
    x, _ = axes.point(k, axes.y_range[0])
    left, top, right, bottom = axes.box
    width = draw.textlength(text, font=font)
    # labels low in the box: the curve rises from few clusters and peaks above them
    x, y = min(x + 6, right - width - 4), bottom - 28 - 24 * row
    draw.rectangle([x - 2, y - 1, x + width + 2, y + 21], fill=(255, 255, 255))
    draw.text((x, y), text, fill=colour, font=font)


def write_count_plot(path, estimate, known=None, known_label="class sub-folders"):
    """Draw ``estimate`` (an :class:`~skdeepcluster.NClustersEstimate`) into the PNG ``path``.

    ``known``: a number given otherwise (the class sub-folders'), marked too
    with ``known_label``.
    """
    candidates = [int(k) for k in estimate.candidates]
    scores = [float(s) for s in estimate.scores]
    image = Image.new("RGB", _SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font, small = _font(18), _font(14)
    axes = _Axes(candidates, scores)
    left, top, right, bottom = axes.box
    for value in _ticks(*axes.y_range):
        _, y = axes.point(candidates[0], value)
        draw.line([(left, y), (right, y)], fill=_GRID)
        draw.text((8, y - 8), f"{value:.2f}", fill=_INK, font=small)
    for k in axes.x_ticks(candidates):
        x, _ = axes.point(k, axes.y_range[0])
        draw.line([(x, top), (x, bottom)], fill=_GRID)
        draw.text((x - 8, bottom + 6), str(k), fill=_INK, font=small)
    draw.rectangle(axes.box, outline=_INK)
    points = [axes.point(k, s) for k, s in zip(candidates, scores)]
    draw.line(points, fill=_LINE, width=2)
    for x, y in points:
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=_LINE)
    marks = []  # drawn in this order: the chosen number last, on top
    if known is not None:
        marks.append((known, _KNOWN, f"{known_label}: {known}"))
    if estimate.runner_up is not None:
        marks.append((estimate.runner_up, _RUNNER_UP, f"runner-up: {estimate.runner_up}"))
    marks.append((estimate.n_clusters, _CHOSEN, f"chosen: {estimate.n_clusters}"))
    for k, colour, _ in marks:
        _marker_line(draw, axes, k, colour)
    for row, (k, colour, text) in enumerate(reversed(marks)):
        _marker_label(draw, axes, k, colour, text, row, font)
    title = f"How many clusters? {estimate.criterion} of the partition into K (higher is better)"
    draw.text((left, 18), title, fill=_INK, font=font)
    scale = " (log scale)" if axes.log else ""
    draw.text((left, _SIZE[1] - 32), f"number of clusters K{scale}", fill=_INK, font=font)
    image.save(path)
    return path
