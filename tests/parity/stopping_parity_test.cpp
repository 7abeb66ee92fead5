// Parity of adaptive stopping (src/ram/model.h) with an independent PyTorch reference
// (reference/stopping_reference.py, written from the math in model.h): for a given batch,
// location noise and stop draws, the glimpses taken, the answer's logits, the rewards, the
// three loss sums and every parameter gradient must agree in float64.
// Precision: the C++ retina sums its blocks in float even in RamModel<double> (see
// parity_test.cpp), so with two scales everything agrees to ~1e-8 relative, not ~1e-15; the
// tolerance is 1e-6 (per tensor, relative to its largest entry), the decisions exactly.
// Needs /usr/bin/python3 with torch (Debian python3-torch); fails if it is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ram/models/ram_model.h"
#include "ram/util/rng.h"

namespace fs = std::filesystem;

namespace {

constexpr char kPython[] = "/usr/bin/python3";
constexpr double kTolerance = 1e-6;

struct Case {
  std::string name;
  bool every_step = false;
  bool trains_core = false;
  double cost = 0.05;
  std::uint64_t seed = 1;
};

ram::ModelConfig case_config(const Case& c) {
  ram::ModelConfig m;
  m.image_height = m.image_width = 24;
  m.retina.glimpse_size = 6;
  m.retina.scales = 2;
  m.glimpses = 5;
  m.glimpse_hidden = 12;
  m.location_hidden = 10;
  m.glimpse_features = 16;
  m.core_size = 14;
  m.classes = 10;
  m.location_std = 0.22;
  m.reinforce_trains_core = c.trains_core;
  m.adaptive_stopping = true;
  m.glimpse_cost = c.cost;
  m.classifier_at_every_step = c.every_step;
  return m;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// |a - b| / max(|a|, |b|, floor)
double relative(double a, double b, double floor) {
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), floor});
}

void run_parity(const Case& c) {
  ASSERT_TRUE(fs::exists(kPython)) << kPython << " is missing: run scripts/setup.sh";
  const fs::path script =
      fs::weakly_canonical(fs::path(__FILE__).parent_path() / "../../reference") /
      "stopping_reference.py";
  ASSERT_TRUE(fs::exists(script)) << "cannot find " << script;

  const ram::ModelConfig config = case_config(c);
  const ram::RamModel<double> model(config);
  const int B = 16, T = config.glimpses, C = config.classes;
  const auto per_image = static_cast<std::size_t>(model.draws_per_image());
  ram::Rng rng(c.seed, {0x57a});
  std::vector<double> params(model.parameter_count());
  for (double& p : params) p = rng.uniform(-0.3, 0.3);
  std::vector<float> images(static_cast<std::size_t>(B) * config.image_height * config.image_width);
  for (float& x : images) x = static_cast<float>(rng.uniform() < 0.7 ? 0.0 : rng.uniform());
  std::vector<double> draws(static_cast<std::size_t>(B) * per_image);
  for (double& d : draws) d = rng.normal();

  ram::Workspace<double> ws;
  model.forward(params.data(), images.data(), B, ram::LocationMode::sample, draws.data(), ws);
  // Labels: every third image right, the others wrong, so both rewards occur.
  std::vector<std::uint8_t> labels(B);
  for (int i = 0; i < B; ++i) {
    Eigen::Index k;
    ws.probs.row(i).maxCoeff(&k);
    labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 3 == 0 ? k : (k + 1) % C);
  }
  model.assign_rewards(labels.data(), ws);
  const ram::LossWeights weights{0.7, 0.3};
  const ram::LossSums sums = model.loss_sums(labels.data(), ws);
  std::vector<double> grads(model.parameter_count(), 0.0);
  model.backward(params.data(), labels.data(), weights, 1.0 / B, ws, grads.data());
  // The episodes must end at different steps for the comparison to mean anything.
  EXPECT_GT(*std::max_element(ws.glimpses_taken.begin(), ws.glimpses_taken.end()),
            *std::min_element(ws.glimpses_taken.begin(), ws.glimpses_taken.end()));

  nlohmann::json in;
  in["model"] = ram::to_json(config);
  in["weights"] = {{"reinforce", weights.reinforce}, {"baseline", weights.baseline}};
  for (const ram::ParamSlot& s : model.layout().slots())
    in["params"][s.name] =
        std::vector<double>(params.begin() + static_cast<std::ptrdiff_t>(s.offset),
                            params.begin() + static_cast<std::ptrdiff_t>(s.offset + s.size()));
  in["images"] = images;
  in["labels"] = labels;
  std::vector<double> eps, stop_draws;
  for (int i = 0; i < B; ++i)
    for (std::size_t k = 0; k < per_image; ++k)
      (k < static_cast<std::size_t>(2 * T) ? eps : stop_draws)
          .push_back(draws[static_cast<std::size_t>(i) * per_image + k]);
  in["eps"] = eps;
  in["stop_draws"] = stop_draws;

  const fs::path dir = fs::temp_directory_path() /
                       ("ram_stopping_parity_" + c.name + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in_path = dir / "in.json", out_path = dir / "out.json", log = dir / "log.txt";
  std::ofstream(in_path) << in.dump();
  const std::string command = std::string(kPython) + " '" + script.string() + "' '" +
                              in_path.string() + "' '" + out_path.string() + "' > '" +
                              log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ASSERT_NE(code, 3) << kPython << " cannot import torch:\n" << read_text(log);
  ASSERT_EQ(code, 0) << "reference/stopping_reference.py failed:\n"
                     << read_text(log) << "\ninput kept in " << in_path;
  const nlohmann::json out = nlohmann::json::parse(read_text(out_path));

  EXPECT_EQ(out.at("glimpses_taken").get<std::vector<int>>(), ws.glimpses_taken);
  const auto logits = out.at("logits").get<std::vector<double>>();
  const auto reward = out.at("reward").get<std::vector<double>>();
  ASSERT_EQ(logits.size(), static_cast<std::size_t>(B * C));
  for (int i = 0; i < B; ++i) {
    EXPECT_NEAR(reward[static_cast<std::size_t>(i)], ws.reward(i, 0), 1e-15);
    for (int k = 0; k < C; ++k)
      EXPECT_NEAR(logits[static_cast<std::size_t>(i * C + k)], ws.logits(i, k), kTolerance);
  }
  const auto torch_sums = out.at("loss_sums").get<std::vector<double>>();
  EXPECT_LT(relative(torch_sums[0], sums.cross_entropy, 1e-9), kTolerance);
  EXPECT_LT(relative(torch_sums[1], sums.reinforce, 1e-9), kTolerance);
  EXPECT_LT(relative(torch_sums[2], sums.baseline, 1e-9), kTolerance);
  double worst = 0;
  std::string worst_slot;
  for (const ram::ParamSlot& s : model.layout().slots()) {
    const auto g = out.at("grads").at(s.name).get<std::vector<double>>();
    ASSERT_EQ(g.size(), s.size()) << s.name;
    double scale = 0;
    for (double x : g) scale = std::max(scale, std::abs(x));
    for (std::size_t k = 0; k < s.size(); ++k) {
      const double e = std::abs(g[k] - grads[s.offset + k]) / std::max(scale, 1e-12);
      if (e > worst) worst = e, worst_slot = s.name;
    }
    if (s.name.starts_with("stop.")) {
      EXPECT_GT(scale, 1e-6) << s.name;  // not vacuous
    }
  }
  std::printf("[%s] torch %s: worst gradient error %.2e (relative to the slot's largest), in %s\n",
              c.name.c_str(), out.value("torch_version", "?").c_str(), worst, worst_slot.c_str());
  EXPECT_LT(worst, kTolerance) << worst_slot;
  fs::remove_all(dir);
}

TEST(StoppingParity, ClassifierAtTheStoppingStep) {
  run_parity({"stopping_step", false, false, 0.05, 1});
}

TEST(StoppingParity, ClassifierAtEveryStepReinforceTrainsCore) {
  run_parity({"every_step_core", true, true, 0.02, 2});
}

}  // namespace
