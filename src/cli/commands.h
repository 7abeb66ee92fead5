#pragma once
// The `ram` subcommands. Each registers its flags on the app and runs when selected.
#include <CLI/CLI.hpp>

namespace ram::cli {

// Thrown by a command that has already said what happened and wants `ram` to exit with code.
struct ExitRequest {
  int code;
};

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_glimpses_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_catch_command(CLI::App& app);
void add_tradeoff_command(CLI::App& app);
void add_reproduce_command(CLI::App& app);

}  // namespace ram::cli
