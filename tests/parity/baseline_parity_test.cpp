// Parity of the C++ baseline networks with an independent PyTorch implementation
// (reference/baseline_parity.py, run with /usr/bin/python3 from the Debian package
// python3-torch). The C++ side writes its parameters, a batch of images and labels as JSON; the
// script recomputes the mean cross-entropy and every parameter gradient with autograd in
// float64; here BaselineModel<double> must agree: loss and every gradient tensor within 1e-9
// relative (max|a - b| / max(max|b|, 1e-12)).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ram/models/baselines.h"

namespace {

namespace fs = std::filesystem;
constexpr char kPython[] = "/usr/bin/python3";
constexpr double kTolerance = 1e-9;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void run_parity(const ram::BaselineConfig& config, int batch, unsigned seed) {
  ASSERT_TRUE(fs::exists(kPython)) << kPython << " is missing: run scripts/setup.sh";
  const fs::path script =
      fs::weakly_canonical(fs::path(__FILE__).parent_path() / "../../reference/baseline_parity.py");
  ASSERT_TRUE(fs::exists(script)) << "cannot find " << script;

  const ram::BaselineModel<double> model(config);
  std::vector<double> params(model.parameter_count());
  model.initialize(params, seed, 0.2);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::uniform_int_distribution<int> label(0, config.classes - 1);
  std::vector<float> images(static_cast<std::size_t>(batch) * config.image_height *
                            config.image_width);
  for (float& p : images) p = pixel(gen);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(batch));
  for (auto& l : labels) l = static_cast<std::uint8_t>(label(gen));

  ram::BaselineWorkspace<double> ws;
  model.forward(params.data(), images.data(), batch, ram::LocationMode::sample, nullptr, ws);
  const double loss = model.loss_sums(labels.data(), ws).cross_entropy / batch;
  std::vector<double> grads(params.size(), 0.0);
  model.backward(params.data(), labels.data(), {}, 1.0 / batch, ws, grads.data());

  nlohmann::json in = {{"architecture", config.architecture},
                       {"height", config.image_height},
                       {"width", config.image_width},
                       {"kernel", config.conv_kernel},
                       {"stride", config.conv_stride},
                       {"images", images},
                       {"labels", labels}};
  for (const ram::ParamSlot& s : model.layout().slots())
    in["params"][s.name] = {
        {"rows", s.rows},
        {"cols", s.cols},
        {"values",
         std::vector<double>(params.begin() + static_cast<std::ptrdiff_t>(s.offset),
                             params.begin() + static_cast<std::ptrdiff_t>(s.offset + s.size()))}};
  const fs::path dir = fs::temp_directory_path() / ("ram_baseline_parity_" + config.architecture +
                                                    "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in_path = dir / "in.json", out_path = dir / "out.json", log = dir / "log.txt";
  std::ofstream(in_path) << in.dump();
  const std::string command = std::string(kPython) + " '" + script.string() + "' '" +
                              in_path.string() + "' '" + out_path.string() + "' > '" +
                              log.string() + "' 2>&1";
  const int status = std::system(command.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ASSERT_NE(code, 3) << kPython << " cannot import torch (install python3-torch):\n"
                     << read_text(log);
  ASSERT_EQ(code, 0) << "reference/baseline_parity.py failed:\n" << read_text(log);
  const nlohmann::json out = nlohmann::json::parse(read_text(out_path));

  EXPECT_NEAR(loss, out.at("loss").get<double>(), kTolerance * std::abs(loss));
  for (const ram::ParamSlot& s : model.layout().slots()) {
    const std::vector<double> torch = out.at("grads").at(s.name).get<std::vector<double>>();
    ASSERT_EQ(torch.size(), s.size()) << s.name;
    double diff = 0, scale = 1e-12;
    for (std::size_t i = 0; i < s.size(); ++i) {
      diff = std::max(diff, std::abs(grads[s.offset + i] - torch[i]));
      scale = std::max(scale, std::abs(torch[i]));
    }
    EXPECT_LT(diff / scale, kTolerance) << s.name;
    EXPECT_GT(scale, 1e-6) << s.name << " has no gradient";
  }
  fs::remove_all(dir);
}

ram::BaselineConfig config_of(const std::string& architecture, int side) {
  ram::BaselineConfig c;
  c.architecture = architecture;
  c.image_height = c.image_width = side;
  return c;
}

TEST(BaselineParity, Fc64) {
  run_parity(config_of("fc64", 20), 6, 1);
}
TEST(BaselineParity, Fc256) {
  run_parity(config_of("fc256", 16), 5, 2);
}
TEST(BaselineParity, ConvPaperFilter) {
  // 10x10 filters at stride 5 on 30x30: 5 x 5 positions; 16 filters.
  run_parity(config_of("conv", 30), 4, 3);
}
TEST(BaselineParity, ConvOtherShape) {
  ram::BaselineConfig c = config_of("conv", 13);
  c.image_width = 11;
  c.conv_filters = 3;
  c.conv_kernel = 4;
  c.conv_stride = 3;
  c.classes = 5;
  run_parity(c, 7, 4);
}

}  // namespace
