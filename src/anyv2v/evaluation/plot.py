"""Per-frame curves of `anyv2v eval` as one PNG: a panel per metric, a line per video (output, baselines).

Drawn with PIL alone, so evaluating needs no plotting library.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from anyv2v.runtime import atomic_output

PANEL = (420, 220)  # width, height of one metric's panel
MARGIN = 44
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def plot_curves(scores: dict[str, dict], title: str, path: Path) -> Path:
    """`scores`: row name -> {"curves": {metric: values}}; panels stacked top to bottom, legend on top."""
    metrics = list(dict.fromkeys(metric for scored in scores.values() for metric in scored["curves"]))
    width, height = PANEL
    legend = 18 * (len(scores) + 1)
    image = Image.new("RGB", (width, legend + height * max(1, len(metrics))), "white")
    draw = ImageDraw.Draw(image)
    draw.font = ImageFont.load_default(size=12)
    draw.text((8, 2), title, fill="black")
    for i, row in enumerate(scores):
        y = 18 * (i + 1)
        draw.line((8, y + 7, 26, y + 7), fill=COLOURS[i % len(COLOURS)], width=3)
        draw.text((32, y), row, fill=COLOURS[i % len(COLOURS)])
    for p, metric in enumerate(metrics):
        series = {row: scored["curves"][metric] for row, scored in scores.items() if metric in scored["curves"]}
        _panel(draw, (0, legend + p * height), metric, series, list(scores))
    with atomic_output(path) as temporary:
        image.save(temporary)
    return path


def _panel(draw: ImageDraw.ImageDraw, origin: tuple[int, int], metric: str, series: dict, rows: list[str]) -> None:
    """Axes with the value range at the left and the frame index along the bottom."""
    left, top = origin[0] + MARGIN, origin[1] + 20
    right, bottom = origin[0] + PANEL[0] - 10, origin[1] + PANEL[1] - 24
    draw.text((origin[0] + 8, origin[1] + 4), metric, fill="black")
    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    values = [v for curve in series.values() for v in curve]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    length = max(len(curve) for curve in series.values())
    draw.text((origin[0] + 2, top - 6), f"{high:.3g}", fill="black")
    draw.text((origin[0] + 2, bottom - 6), f"{low:.3g}", fill="black")
    draw.text((left, bottom + 4), "0", fill="black")
    draw.text((right - 16, bottom + 4), str(length - 1), fill="black")
    for row, curve in series.items():
        points = [
            (left + (right - left) * i / max(1, length - 1), bottom - (bottom - top) * (v - low) / (high - low))
            for i, v in enumerate(curve)
        ]
        colour = COLOURS[rows.index(row) % len(COLOURS)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
