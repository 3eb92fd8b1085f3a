from __future__ import annotations

import numpy as np
import pytest

from anyv2v.editors.color import lab_to_rgb, parse_color, rgb_to_lab
from anyv2v.errors import AnyV2VError


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),  # published sRGB D65 values
        ((0, 128, 0), (46.23, -51.70, 49.90)),
    ],
)
def test_lab_matches_published_values(rgb, lab):
    np.testing.assert_allclose(rgb_to_lab(np.array(rgb, float)), lab, atol=0.02)


def test_lab_round_trips_every_8_bit_level():
    rgb = np.random.default_rng(0).integers(0, 256, (1000, 3)).astype(float)
    np.testing.assert_allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-6)


def test_colors_are_css_names_or_hex_codes():
    assert parse_color(" green ").tolist() == [0, 128, 0]
    assert parse_color("#ff8000").tolist() == [255, 128, 0]
    with pytest.raises(AnyV2VError, match="unknown color 'greenish': use a color name"):
        parse_color("greenish")
