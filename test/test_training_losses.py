"""Losses against values computed by hand."""
import math

import pytest
import torch

from segtool.training.losses import build_loss
from segtool.training.registry import LOSSES


def _two_pixels():
    """Two pixels, two classes: softmax (1/4, 3/4) and (1/2, 1/2); targets 1 and 0."""
    logits = torch.tensor([[0.0, 0.0], [math.log(3), 0.0]]).reshape(1, 2, 1, 2)
    return logits, torch.tensor([[[1, 0]]])


def test_cross_entropy_plain_ignored_and_weighted():
    logits, target = _two_pixels()
    expected = (-math.log(0.75) - math.log(0.5)) / 2
    assert build_loss('ce')(logits, target).item() == pytest.approx(expected, rel=1e-6)
    ignored = torch.tensor([[[1, 255]]])
    assert build_loss('ce')(logits, ignored).item() == pytest.approx(-math.log(0.75), rel=1e-6)
    weighted = build_loss('ce', class_weights=[1.0, 3.0])(logits, target).item()
    assert weighted == pytest.approx((3 * -math.log(0.75) + 1 * -math.log(0.5)) / 4, rel=1e-6)


def test_dice_by_hand():
    logits, target = _two_pixels()
    # class 0: p = (1/4, 1/2), g = (0, 1): inter 1/2, |P| 3/4, |G| 1 -> (1 + 1) / (7/4 + 1)
    # class 1: p = (3/4, 1/2), g = (1, 0): inter 3/4, |P| 5/4, |G| 1 -> (3/2 + 1) / (9/4 + 1)
    d0, d1 = 2 / (11 / 4), (5 / 2) / (13 / 4)
    assert build_loss('dice')(logits, target).item() == pytest.approx(1 - (d0 + d1) / 2, rel=1e-6)
    weighted = build_loss('dice', class_weights=[1.0, 3.0])(logits, target).item()
    assert weighted == pytest.approx(1 - (d0 + 3 * d1) / 4, rel=1e-6)
    # Ignoring the second pixel: class 0 has p 1/4, g 0 -> 1 / (1/4 + 1); class 1: (3/2 + 1) / (3/4 + 1 + 1)
    ignored = build_loss('dice')(logits, torch.tensor([[[1, 255]]])).item()
    assert ignored == pytest.approx(1 - (1 / 1.25 + 2.5 / 2.75) / 2, rel=1e-6)


def test_ce_plus_dice_is_the_sum_and_perfect_prediction_is_near_zero():
    logits, target = _two_pixels()
    total = build_loss('ce+dice')(logits, target).item()
    assert total == pytest.approx(build_loss('ce')(logits, target).item() + build_loss('dice')(logits, target).item())
    confident = torch.tensor([[[-20.0, 20.0]], [[20.0, -20.0]]]).reshape(1, 2, 1, 2)
    for name in LOSSES:
        assert build_loss(name)(confident, target).item() < 1e-6


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match='unknown loss'):
        build_loss('focal')
