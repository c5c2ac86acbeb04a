"""The validation AUROCs that the training logs beside its loss."""

from __future__ import annotations

import math

import numpy as np

from ipad_iqa.train.loop import crop_aurocs


def _crops(labels: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One 8x8 crop per label; an artifact crop's class marks its left half."""
    n = len(labels)
    masks = np.zeros((n, 3, 8, 8), bool)
    for i, label in enumerate(labels):
        if label > 0:
            masks[i, label - 1, :, :4] = True
    class_probs = np.zeros((n, 3))
    for i, label in enumerate(labels):
        if label > 0:
            class_probs[i, label - 1] = 0.9
    return masks, np.ones((n, 8, 8), bool), np.array(labels), class_probs


def test_maps_that_match_the_masks_score_one_and_inverted_ones_zero():
    masks, valid, labels, class_probs = _crops([0, 1, 2, 3, 0])
    perfect = crop_aurocs(masks.astype(float), masks, valid, labels, class_probs)
    assert perfect["val_auroc"] == 1.0
    assert all(perfect[f"{c}_pixel_auroc"] == 1.0 for c in ("ghosting", "flare", "moire"))
    inverted = crop_aurocs(1.0 - masks, masks, valid, labels, 1.0 - class_probs)
    assert inverted["ghosting_pixel_auroc"] == 0.0 and inverted["moire_image_auroc"] == 0.0


def test_the_ignore_band_is_left_out():
    masks, valid, labels, class_probs = _crops([0, 1])
    probs = masks.astype(float)
    probs[1, 0, :, 4:] = 1.0  # the ghosting crop's right half reads ghosting, unmarked...
    assert crop_aurocs(probs, masks, valid, labels, class_probs)["ghosting_pixel_auroc"] < 1.0
    valid[1, :, 4:] = False  # ...and is no longer judged once it is ignore band
    assert crop_aurocs(probs, masks, valid, labels, class_probs)["ghosting_pixel_auroc"] == 1.0


def test_a_class_without_crops_is_nan_and_out_of_the_mean():
    masks, valid, labels, class_probs = _crops([0, 1, 2])
    probs = masks.astype(float)
    probs[1, 0] = 1.0 - probs[1, 0]  # ghosting inverted: its pixel AUROC falls below one
    result = crop_aurocs(probs, masks, valid, labels, class_probs)
    assert math.isnan(result["moire_pixel_auroc"]) and math.isnan(result["moire_image_auroc"])
    known = [result[f"{c}_{k}_auroc"] for c in ("ghosting", "flare") for k in ("pixel", "image")]
    assert result["val_auroc"] == np.mean(known) < 1.0
