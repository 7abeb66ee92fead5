#pragma once
// The `ram` subcommands. Each registers its flags on the app and runs when selected: flags ->
// settings (checked) -> one library call -> print.
#include <CLI/CLI.hpp>

namespace ram::cli {

// Thrown by a command that has already said what happened and wants `ram` to exit with code.
struct ExitRequest {
  int code;
};

// How far a selected command goes: all the way, or only until its settings are parsed and
// checked, before it reads or writes any file (what the flag fuzzer and the flag tests drive).
enum class Reach { whole_command, settings };

// Every subcommand, in the order `ram --help` lists them.
void add_commands(CLI::App& app, Reach reach);

void add_train_command(CLI::App& app, Reach reach);
void add_eval_command(CLI::App& app, Reach reach);
void add_info_command(CLI::App& app, Reach reach);
void add_presets_command(CLI::App& app, Reach reach);
void add_bench_command(CLI::App& app, Reach reach);
void add_glimpses_command(CLI::App& app, Reach reach);
void add_report_command(CLI::App& app, Reach reach);
void add_catch_command(CLI::App& app, Reach reach);
void add_tradeoff_command(CLI::App& app, Reach reach);
void add_reproduce_command(CLI::App& app, Reach reach);
void add_compare_command(CLI::App& app, Reach reach);

}  // namespace ram::cli
