"""Metrics against an independent, per-class computation."""
import numpy as np
import pytest

from segtool.training.metrics import ConfusionMatrix


def _independent(pred, target, classes, ignore):
    """Per-class IoU, Dice and the matrix counted pixel by pixel, another way than np.bincount."""
    keep = target != ignore
    matrix = np.zeros((classes, classes), np.int64)
    for t, p in zip(target[keep], pred[keep]):
        matrix[t, p] += 1
    iou, dice = [], []
    for c in range(classes):
        p, t = (pred == c) & keep, (target == c) & keep
        inter, union = (p & t).sum(), (p | t).sum()
        iou.append(inter / union if union else np.nan)
        dice.append(2 * inter / (p.sum() + t.sum()) if union else np.nan)
    return matrix, np.array(iou), np.array(dice), (pred == target)[keep].mean()


def test_against_independent_implementation():
    rng = np.random.default_rng(0)
    classes, ignore = 5, 255
    cm = ConfusionMatrix(classes, ignore)
    preds, targets = [], []
    for _ in range(3):
        target = rng.integers(0, classes, (2, 17, 23))
        target[rng.random(target.shape) < 0.1] = ignore
        noise = rng.integers(0, classes, target.shape)
        pred = np.where(rng.random(target.shape) < 0.6, np.minimum(target, classes - 1), noise)
        pred[target == 3] = 2  # class 3 never predicted
        cm.update(pred, target)
        preds.append(pred), targets.append(target)
    matrix, iou, dice, accuracy = _independent(np.concatenate(preds).ravel(), np.concatenate(targets).ravel(),
                                               classes, ignore)
    assert np.array_equal(cm.matrix, matrix)
    assert np.allclose(cm.iou(), iou) and np.allclose(cm.dice(), dice)
    assert cm.iou()[3] == 0.0
    assert cm.mean_iou() == pytest.approx(np.mean(iou))
    assert cm.pixel_accuracy() == pytest.approx(accuracy)


def test_absent_class_is_nan_and_left_out_of_the_mean():
    cm = ConfusionMatrix(3)
    cm.update(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0]))
    iou = cm.iou()
    assert iou[0] == pytest.approx(2 / 3) and iou[1] == pytest.approx(1 / 2) and np.isnan(iou[2])
    assert cm.mean_iou() == pytest.approx((2 / 3 + 1 / 2) / 2)
    report = cm.report(['a', 'b', 'c'])
    assert report['iou']['c'] is None and report['confusion_matrix'] == [[2, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert report['dice']['a'] == pytest.approx(0.8)


def test_out_of_range_labels_are_an_error():
    with pytest.raises(ValueError, match='outside'):
        ConfusionMatrix(2).update(np.array([0]), np.array([5]))
