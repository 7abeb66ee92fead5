#pragma once
// Reproducing the paper's tables: each row (a RAM setting, the random-glimpse control or a
// baseline network) trained with train() in its own directory and evaluated on the validation
// split and, once trained, on the test set, next to the paper's number. A row whose directory
// already holds a finished model is evaluated, not retrained; one with only a checkpoint is
// resumed.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ram/train/train.h"
#include "ram/util/error.h"

namespace ram {

struct ReproduceRow {
  std::string id;      // the row's directory name: ram-4g, ram-8g-random, fc64, fc256, conv
  std::string model;   // the paper's description
  std::string preset;  // the preset that sets the task (and, for RAM rows, the model)
  bool random_glimpses = false;
  std::string architecture = "ram";  // ram, fc64, fc256 or conv
  double paper_error_percent = 0;

  // RAM choosing its own glimpses (not the random-glimpse control, not a baseline).
  bool learned_policy() const { return architecture == "ram" && !random_glimpses; }
};

struct ReproduceTable {
  std::string name;   // 1a, 1b, 2a, 2b
  std::string title;  // e.g. "60x60 translated MNIST"
  std::vector<ReproduceRow> rows;
};

const std::vector<ReproduceTable>& reproduce_tables();
const ReproduceTable& find_reproduce_table(const std::string& name);  // throws ram::Error

struct ReproduceOptions {
  std::string data = "mnist";  // see data/source.h
  int epochs = 0;              // per row; 0 = the preset's budget (unless minutes is set)
  double minutes = 0;          // per row, converted to epochs by a short timing run
  std::string out_dir;         // rows go to out_dir/<row id>/
  int threads = 2;
  std::uint64_t seed = 1;
  std::vector<std::string> rows;  // row ids to run, in table order; empty = every row
};

// Errors of the final model, one episode per image. RAM's learned policy is evaluated at its
// mean locations (deterministic, the headline figure) and, beside it, at sampled locations; the
// control at uniformly random ones.
struct RowResult {
  ReproduceRow row;
  double validation_error_percent = 0;
  std::optional<double> test_error_percent;          // none when the data has no test set
  std::optional<double> test_sampled_error_percent;  // learned-policy rows with a test set
  int epochs = 0;
  double seconds = 0;   // wall time of training (sum over its epochs, validation included)
  std::string command;  // a `ram train` command line that reproduces this row alone
  bool reused = false;  // the model was already there
};

// The training configuration of a row for the given epochs, threads, seed and data.
TrainingConfig row_config(const ReproduceRow& row, const ReproduceOptions& options, int epochs);
// `ram train ...` for that configuration, writing into out_dir/<row id>.
std::string row_command(const ReproduceRow& row, const TrainingConfig& config,
                        const std::string& out_dir);

// Whether a row's saved model was trained with the settings the table wants now (threads
// aside). A baseline reads only the image size and the classes of the attention model's
// settings, so a baseline row stays valid when a preset's attention model changes.
bool same_row_settings(const TrainingConfig& saved, const TrainingConfig& wanted);

// `ram reproduce ...` with the settings a row's files must match (data, budget, seed, rows) and
// the output directory: the command that continues an interrupted table.
std::string table_command(const ReproduceTable& table, const ReproduceOptions& options);

struct ReproduceCallbacks {
  std::function<void(const ReproduceRow&, const TrainingConfig&)> row_started;
  std::function<void(const RowResult&)> row_done;
  TrainCallbacks train;  // passed to train() for each row
};

// Thrown by reproduce() when train()'s stop_requested callback stopped a row: the row's
// checkpoint is written, and running the same table again continues it.
class ReproduceInterrupted : public Error {
 public:
  ReproduceInterrupted(std::string row_id, std::string checkpoint)
      : Error("reproduce: interrupted during row " + row_id + " (checkpoint " + checkpoint + ")"),
        row(std::move(row_id)),
        checkpoint_path(std::move(checkpoint)) {}
  std::string row;
  std::string checkpoint_path;
};

// Throws ram::Error naming the first option that cannot run: no output directory, a negative
// budget, a row the table does not have.
void validate(const ReproduceTable& table, const ReproduceOptions& options);

// Trains (or reuses) and evaluates every row of the table in order. Throws ram::Error if a
// row's directory holds a model trained with other settings, ReproduceInterrupted if a row's
// training was stopped. Distributed, every row trains and
// evaluates across the processes (train() and evaluate()), and what out_dir holds is the
// root's: only its host needs the directory.
std::vector<RowResult> reproduce(const ReproduceTable& table, const ReproduceOptions& options,
                                 const ReproduceCallbacks& callbacks = {},
                                 const Processes& processes = {});

// The Markdown table (header and one line per result), and the same rows as CSV and JSON.
std::string markdown_header();
std::string markdown_row(const RowResult& result);
std::string markdown_table(const std::vector<RowResult>& results);
std::string results_csv(const std::vector<RowResult>& results);
std::string results_json(const ReproduceTable& table, const std::vector<RowResult>& results);

// Writes out_dir/table.md, table.csv and table.json.
void write_results(const ReproduceTable& table, const std::vector<RowResult>& results,
                   const std::string& out_dir);

}  // namespace ram
