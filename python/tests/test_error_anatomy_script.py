"""scripts/error_anatomy.py: where a model's errors come from."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import ram

from conftest import ram_eval_json

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "error_anatomy.py"


def load_script():
    spec = importlib.util.spec_from_file_location("error_anatomy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_counts_the_errors_ram_eval_counts(tiny_model_path):
    result = subprocess.run([sys.executable, str(SCRIPT), tiny_model_path, "--threads", "1"],
                            capture_output=True, text=True, timeout=300, env=os.environ)
    assert result.returncode == 0, result.stderr
    expected = ram_eval_json(tiny_model_path, "--greedy", "--threads", "1")
    counted = re.search(r"mean locations: error [0-9.]+% \((\d+) of (\d+)\)", result.stdout)
    assert counted, result.stdout
    assert (int(counted[1]), int(counted[2])) == (expected["errors"], expected["images"])
    assert re.search(r"^\| all \| 1000 \| [0-9.]+% \|", result.stdout, re.MULTILINE)
    assert re.search(rf"^\| misread \| {expected['errors']} \|", result.stdout, re.MULTILINE)


def test_looking_places_patches_as_the_retina_does():
    script = load_script()
    digits = np.zeros((2, 28, 28), np.float32)
    digits[:, 10:14, 10:14] = 1  # a 4x4 blob centred at (12, 12) of the digit's box
    offsets = np.array([[16, 16], [16, 16]])  # so at (28, 28) of a 60x60 canvas
    # Image 0 looks at the blob's centre, image 1 at the canvas's top-left corner.
    locations = np.array([[[28 / 30 - 1, 28 / 30 - 1]], [[-1, -1]]], np.float32)
    origins = script.finest_patches(locations, 60, 60, 4)
    assert origins.tolist() == [[[26, 26]], [[-2, -2]]]
    inside, covered = script.looking(digits, offsets, origins, 4, 60, 60)
    assert inside.tolist() == [True, False]
    assert covered.tolist() == [1.0, 0.0]
    # The origins are where the retina reads: a canvas numbering its pixels tells.
    numbered = np.arange(60 * 60, dtype=np.float32).reshape(60, 60) / 4096
    rng = np.random.default_rng(5)
    for x, y in rng.uniform(-0.9, 0.9, size=(50, 2)):
        (row, col), = script.finest_patches(np.array([[x, y]], np.float32), 60, 60, 4)
        patch = ram.retina(numbered, (x, y), patch=4, scales=1)[0]
        assert patch[0, 0] == numbered[row, col]
    # A patch over the blob's top-left quarter sees a quarter of the ink.
    _, quarter = script.looking(digits[:1], offsets[:1], np.array([[[24, 24]]]), 4, 60, 60)
    assert quarter.tolist() == [0.25]


def test_clutter_in_box_is_the_ink_beside_the_digit():
    script = load_script()
    digit = np.zeros((1, 28, 28), np.float32)
    digit[0, 5:20, 13:15] = 1
    canvas = np.zeros((1, 60, 60), np.float32)
    canvas[0, 10:38, 20:48] = digit[0]
    canvas[0, 0:8, 0:8] = 1  # clutter outside the box
    canvas[0, 34:42, 44:52] += 0.5  # a piece half inside the box: 4 rows x 4 columns of it
    offsets = np.array([[10, 20]])
    assert script.clutter_in_box(canvas, digit, offsets).tolist() == [8.0]


def test_clutter_bins_put_every_image_in_exactly_one_bin():
    script = load_script()
    clutter = np.array([0.0, 5e-5, 0.5, 10.0, 10.5, 20.0, 29.9, 30.0, 30.1, 400.0])
    bins = list(script.clutter_bins(clutter))
    assert [name for name, _ in bins] == ["none", "0-10", "10-20", "20-30", "over 30"]
    membership = np.stack([selected for _, selected in bins])
    assert (membership.sum(axis=0) == 1).all()
    assert [int(np.argmax(membership[:, i])) for i in range(len(clutter))] == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
