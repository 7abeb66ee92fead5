#include "ram/experiments/reproduce.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ram/env/source.h"
#include "ram/experiments/benchmark.h"
#include "ram/experiments/paper_results.h"
#include "ram/experiments/presets.h"
#include "ram/train/training_config.h"
#include "ram/util/error.h"
#include "ram/util/thread_pool.h"

namespace ram {

namespace {

struct TableSetting {
  const char* name;
  const char* title;
  const char* preset_prefix;  // + "<g>g" gives a RAM row's preset
  const char* task_preset;    // the preset whose task the baselines train on
};

constexpr TableSetting kTables[] = {
    {"1a", "28x28 centred MNIST", "mnist28-", "mnist28-6g"},
    {"1b", "60x60 translated MNIST", "translated60-", "translated60-8g"},
    {"2a", "60x60 cluttered MNIST, 4 pieces of clutter", "cluttered60-", "cluttered60-8g"},
    {"2b", "100x100 cluttered MNIST, 8 pieces of clutter", "cluttered100-", "cluttered100-8g"},
};

ReproduceRow make_row(const TableSetting& table, const PaperResult& paper) {
  ReproduceRow row;
  row.id = std::string(paper.row);
  row.model = std::string(paper.model);
  row.paper_error_percent = paper.error_percent;
  if (row.id.rfind("ram-", 0) == 0) {
    // ram-<g>g or ram-<g>g-random
    const std::string glimpses = row.id.substr(4, row.id.find('g', 4) - 4 + 1);
    row.preset = table.preset_prefix + glimpses;
    row.random_glimpses = row.id.size() > 7 && row.id.ends_with("-random");
  } else {
    row.preset = table.task_preset;
    row.architecture = row.id;
  }
  return row;
}

std::vector<ReproduceTable> build_tables() {
  std::vector<ReproduceTable> tables;
  for (const TableSetting& t : kTables) {
    ReproduceTable table{t.name, t.title, {}};
    for (const PaperResult& p : kPaperResults)
      if (p.table == t.name) table.rows.push_back(make_row(t, p));
    tables.push_back(std::move(table));
  }
  return tables;
}

// Quotes a word for a POSIX shell when it holds anything but safe characters.
std::string shell_word(const std::string& s) {
  const bool safe = !s.empty() && s.find_first_not_of(
                                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789-_./=:+,") == std::string::npos;
  if (safe) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string percent(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", value);
  return buffer;
}

std::string wall_time(double seconds) {
  const long s = std::lround(seconds);
  char buffer[48];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ld h %02ld min", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buffer, sizeof buffer, "%ld min %02ld s", s / 60, s % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%ld s", s);
  return buffer;
}

// Epochs that fit `minutes` of training for this row, from a short timing of its training and
// evaluation speed on this machine.
int epochs_for_minutes(const TrainingConfig& config, double minutes, std::size_t train_images,
                       std::size_t validation_images) {
  const BenchmarkResult speed = run_benchmark(config, 3.0);
  const double epoch_seconds =
      static_cast<double>(train_images) / speed.train_images_per_second +
      static_cast<double>(validation_images) / speed.eval_images_per_second;
  return std::max(1, static_cast<int>(minutes * 60.0 / epoch_seconds));
}

// The configuration a finished or interrupted row was trained with must be the requested one,
// except for the thread count.
void check_same_settings(const std::string& path, const TrainingConfig& saved,
                         const TrainingConfig& wanted) {
  if (!same_row_settings(saved, wanted))
    throw Error(path + ": this row was trained with other settings (" + to_json(saved).dump() +
                "); remove its directory or choose another --out");
}

}  // namespace

bool same_row_settings(const TrainingConfig& saved, const TrainingConfig& wanted) {
  TrainingConfig a = saved, b = wanted;
  a.threads = b.threads = 1;
  if (a.architecture != "ram" && b.architecture == a.architecture) {
    // Of the attention model's settings a baseline reads only what baseline_config() takes.
    if (!(baseline_config(a) == baseline_config(b))) return false;
    a.model = b.model = ModelConfig{};
  }
  return to_json(a) == to_json(b);
}

const std::vector<ReproduceTable>& reproduce_tables() {
  static const std::vector<ReproduceTable> tables = build_tables();
  return tables;
}

const ReproduceTable& find_reproduce_table(const std::string& name) {
  std::string known;
  for (const ReproduceTable& t : reproduce_tables()) {
    if (t.name == name) return t;
    known += (known.empty() ? "" : ", ") + t.name;
  }
  throw Error("unknown table '" + name + "' (known: " + known + ")");
}

TrainingConfig row_config(const ReproduceRow& row, const ReproduceOptions& options, int epochs) {
  TrainingConfig config = find_preset(row.preset).config;
  config.architecture = row.architecture;
  config.random_glimpses = row.random_glimpses;
  config.data = source_for_config(options.data);
  if (epochs > 0) config.epochs = epochs;
  config.threads = options.threads;
  config.seed = options.seed;
  validate(config);
  return config;
}

std::string row_command(const ReproduceRow& row, const TrainingConfig& config,
                        const std::string& out_dir) {
  std::string command = "ram train --preset " + row.preset;
  if (config.architecture != "ram") command += " --architecture " + config.architecture;
  if (config.random_glimpses) command += " --random-glimpses";
  command += " --data " + shell_word(config.data);
  command += " --epochs " + std::to_string(config.epochs);
  command += " --threads " + std::to_string(config.threads);
  command += " --seed " + std::to_string(config.seed);
  command += " --out " + shell_word((std::filesystem::path(out_dir) / row.id).string());
  return command;
}

std::string table_command(const ReproduceTable& table, const ReproduceOptions& options) {
  std::string command = "ram reproduce " + table.name;
  if (options.data != kFullMnistSource) command += " --data " + shell_word(options.data);
  if (options.epochs > 0) command += " --epochs " + std::to_string(options.epochs);
  if (options.minutes > 0) {
    char minutes[32];
    std::snprintf(minutes, sizeof minutes, "%g", options.minutes);
    command += " --minutes " + std::string(minutes);
  }
  command += " --seed " + std::to_string(options.seed);
  if (!options.rows.empty()) {
    std::string rows;
    for (const std::string& id : options.rows) rows += (rows.empty() ? "" : ",") + id;
    command += " --rows " + shell_word(rows);
  }
  return command + " --out " + shell_word(options.out_dir);
}

void validate(const ReproduceTable& table, const ReproduceOptions& options) {
  if (options.out_dir.empty()) throw Error("reproduce: no output directory given");
  if (options.epochs < 0) throw Error("reproduce: epochs must be at least 1");
  if (!(options.minutes >= 0) || !std::isfinite(options.minutes))
    throw Error("reproduce: minutes must be a positive number");
  std::string known;
  for (const ReproduceRow& row : table.rows) known += (known.empty() ? "" : ", ") + row.id;
  for (const std::string& id : options.rows)
    if (std::none_of(table.rows.begin(), table.rows.end(),
                     [&](const ReproduceRow& row) { return row.id == id; }))
      throw Error("reproduce: table " + table.name + " has no row '" + id + "' (rows: " + known +
                  ")");
}

std::vector<RowResult> reproduce(const ReproduceTable& table, const ReproduceOptions& options,
                                 const ReproduceCallbacks& callbacks, const Processes& processes) {
  validate(table, options);
  auto selected = [&](const ReproduceRow& row) {
    return options.rows.empty() ||
           std::find(options.rows.begin(), options.rows.end(), row.id) != options.rows.end();
  };
  const TrainValidation data = load_training_data(options.data);
  // Loaded before any training, so that broken test files stop the table at once.
  const std::optional<ImageSet> test = has_test_data(options.data)
                                           ? std::optional<ImageSet>(load_test_data(options.data))
                                           : std::nullopt;
  std::vector<RowResult> results;
  for (const ReproduceRow& row : table.rows) {
    if (!selected(row)) continue;
    const std::filesystem::path dir = std::filesystem::path(options.out_dir) / row.id;
    const std::string model_path = (dir / kModelFile).string();
    const std::string checkpoint_path = (dir / kCheckpointFile).string();
    // What the directory holds is the root's to say (the others may not see it).
    const bool finished = processes.root_says(std::filesystem::exists(model_path));
    const bool started = processes.root_says(std::filesystem::exists(checkpoint_path));

    int epochs = options.epochs;
    if (finished || started) {
      // The budget was fixed when the row started; a minutes budget is not timed again.
      const SavedModel saved = load_model(finished ? model_path : checkpoint_path, processes);
      if (epochs == 0 && options.minutes > 0) epochs = saved.config.epochs;
    } else if (epochs == 0 && options.minutes > 0) {
      // Timed on the root alone, so that every process trains the same number of epochs.
      if (processes.is_root())
        epochs = epochs_for_minutes(row_config(row, options, 0), options.minutes, data.train.size(),
                                    data.validation.size());
      epochs = processes.root_value(epochs);
    }
    const TrainingConfig config = row_config(row, options, epochs);
    if (callbacks.row_started) callbacks.row_started(row, config);

    RowResult result;
    result.row = row;
    result.reused = finished;
    if (!finished) {
      if (started)
        check_same_settings(checkpoint_path, load_model(checkpoint_path, processes).config, config);
      const TrainResult trained =
          train(config, data, dir.string(), started ? RunStart::resume : RunStart::fresh,
                callbacks.train, processes);
      if (trained.interrupted) throw ReproduceInterrupted(row.id, checkpoint_path);
    }
    const SavedModel saved = load_model(model_path, processes);
    check_same_settings(model_path, saved.config, config);
    result.epochs = saved.config.epochs;
    for (const EpochMetrics& m : saved.history) result.seconds += m.seconds;
    TrainingConfig as_trained = saved.config;
    result.command = row_command(row, as_trained, options.out_dir);

    ThreadPool pool(options.threads);
    auto error_percent = [&](const ImageSet& digits, bool mean_location) {
      const ImageSet rendered = render_evaluation_set(saved.config, digits);
      const EvalOptions eval_options = evaluation_options(saved.config, mean_location, 1);
      return 100.0 * evaluate_trained(saved.config, saved.parameters, rendered, eval_options, pool,
                                      processes)
                         .error();
    };
    result.validation_error_percent = error_percent(data.validation, true);
    if (test) {
      result.test_error_percent = error_percent(*test, true);
      if (row.learned_policy()) result.test_sampled_error_percent = error_percent(*test, false);
    }
    results.push_back(result);
    if (callbacks.row_done) callbacks.row_done(result);
  }
  return results;
}

std::string markdown_header() {
  return "| model | test error (%) | test, sampled locations (%) | validation error (%) | paper's "
         "test error (%) | epochs | wall time | command |\n"
         "|---|---|---|---|---|---|---|---|\n";
}

std::string markdown_row(const RowResult& r) {
  auto cell = [](const std::optional<double>& value) {
    return value ? percent(*value) : std::string("–");
  };
  return "| " + r.row.model + " | " + cell(r.test_error_percent) + " | " +
         cell(r.test_sampled_error_percent) + " | " + percent(r.validation_error_percent) + " | " +
         percent(r.row.paper_error_percent) + " | " + std::to_string(r.epochs) + " | " +
         wall_time(r.seconds) + " | `" + r.command + "` |\n";
}

std::string markdown_table(const std::vector<RowResult>& results) {
  std::string out = markdown_header();
  for (const RowResult& r : results) out += markdown_row(r);
  return out;
}

std::string results_csv(const std::vector<RowResult>& results) {
  auto csv_field = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  auto optional_field = [](const std::optional<double>& value) {
    return value ? percent(*value) : std::string();
  };
  std::string out =
      "row,model,test_error_percent,test_sampled_error_percent,validation_error_percent,"
      "paper_error_percent,epochs,seconds,command\n";
  for (const RowResult& r : results)
    out += r.row.id + "," + csv_field(r.row.model) + "," + optional_field(r.test_error_percent) +
           "," + optional_field(r.test_sampled_error_percent) + "," +
           percent(r.validation_error_percent) + "," + percent(r.row.paper_error_percent) + "," +
           std::to_string(r.epochs) + "," + std::to_string(std::lround(r.seconds)) + "," +
           csv_field(r.command) + "\n";
  return out;
}

std::string results_json(const ReproduceTable& table, const std::vector<RowResult>& results) {
  auto optional_json = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  nlohmann::json rows = nlohmann::json::array();
  for (const RowResult& r : results)
    rows.push_back({{"row", r.row.id},
                    {"model", r.row.model},
                    {"test_error_percent", optional_json(r.test_error_percent)},
                    {"test_sampled_error_percent", optional_json(r.test_sampled_error_percent)},
                    {"validation_error_percent", r.validation_error_percent},
                    {"paper_error_percent", r.row.paper_error_percent},
                    {"epochs", r.epochs},
                    {"seconds", r.seconds},
                    {"command", r.command}});
  return nlohmann::json{{"table", table.name}, {"title", table.title}, {"rows", rows}}.dump(2) +
         "\n";
}

void write_results(const ReproduceTable& table, const std::vector<RowResult>& results,
                   const std::string& out_dir) {
  std::filesystem::create_directories(out_dir);
  auto write = [&](const char* name, const std::string& text) {
    const std::string path = (std::filesystem::path(out_dir) / name).string();
    std::ofstream out(path);
    out << text;
    if (!out) throw Error(path + ": cannot write");
  };
  write("table.md", "Table " + table.name + ": " + table.title + "\n\n" + markdown_table(results));
  write("table.csv", results_csv(results));
  write("table.json", results_json(table, results));
}

}  // namespace ram
