#include "run.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "ram/util/error.h"
#include "suggest.h"
#include "version.h"

namespace ram::cli {

void add_commands(CLI::App& app, Reach reach) {
  add_train_command(app, reach);
  add_eval_command(app, reach);
  add_info_command(app, reach);
  add_presets_command(app, reach);
  add_bench_command(app, reach);
  add_glimpses_command(app, reach);
  add_reproduce_command(app, reach);
  add_report_command(app, reach);
  add_compare_command(app, reach);
  add_catch_command(app, reach);
  add_tradeoff_command(app, reach);
}

namespace {

std::string& typed_command_line() {
  static std::string text;
  return text;
}

Processes& run_processes() {
  static Processes processes;
  return processes;
}

// "rank 1 of 4 (node7): " in a distributed run, so that an error names the process that failed.
std::string process_prefix() {
  const Processes& p = run_processes();
  if (!p.distributed()) return "";
  return "rank " + std::to_string(p.rank()) + " of " + std::to_string(p.size()) + " (" +
         MpiSession::host_name() + "): ";
}

// "ram train", "ram catch train": how a command is typed, for messages and --help pointers.
std::string command_path(const CLI::App* command) {
  std::string path;
  for (; command != nullptr; command = command->get_parent())
    path = command->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// The deepest command the parser selected (the app itself when none was).
CLI::App* selected_command(CLI::App& app) {
  CLI::App* command = &app;
  for (;;) {
    const std::vector<CLI::App*> chosen = command->get_subcommands();
    if (chosen.empty()) return command;
    command = chosen.front();
  }
}

std::vector<std::string> subcommand_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::App* sub : command.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

std::vector<std::string> flag_names(const CLI::App& command) {
  std::vector<std::string> names;
  for (const CLI::Option* option : command.get_options())
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
  return names;
}

// Every error is one line starting "ram: error: " (scripts and tests rely on it), ending with
// the help to read.
int fail(const CLI::App& command, const std::string& message) {
  std::fprintf(stderr, "ram: error: %s%s (see %s --help)\n", process_prefix().c_str(),
               message.c_str(), command_path(&command).c_str());
  return 2;
}

std::string did_you_mean(const std::string& typed, const std::vector<std::string>& candidates) {
  const std::vector<std::string> close = suggestions(typed, candidates);
  return close.empty() ? "" : "; did you mean " + or_list(close) + "?";
}

// Follows the command words at the start of argv ("catch", "train") down the command tree.
// Returns an exit code when a word is not a command where one is needed, or -1 to go on.
int check_command_words(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* command = &app;
  for (const std::string& word : args) {
    const std::vector<std::string> names = subcommand_names(*command);
    if (names.empty() || word.starts_with("-")) return -1;
    CLI::App* next = nullptr;
    for (CLI::App* sub : command->get_subcommands([](const CLI::App*) { return true; }))
      if (sub->check_name(word)) next = sub;
    if (next == nullptr)
      return fail(*command, "'" + word + "' is not a " + command_path(command) + " command" +
                                did_you_mean(word, names));
    command = next;
  }
  return -1;
}

// An argument the selected command does not know: name the first flag among them (a misspelt
// flag leaves its value behind as a stray argument too) and what it probably meant.
int unexpected_arguments(CLI::App& app) {
  const CLI::App* command = selected_command(app);
  const std::vector<std::string> extras = command->remaining();
  for (const std::string& extra : extras) {
    if (!extra.starts_with("-")) continue;
    const std::string flag = extra.substr(0, extra.find('='));
    return fail(*command, "unknown flag " + flag + " for " + command_path(command) +
                              did_you_mean(flag, flag_names(*command)));
  }
  std::string words;
  for (const std::string& extra : extras) words += (words.empty() ? "" : " ") + extra;
  return fail(*command, "unexpected argument(s) for " + command_path(command) + ": " + words);
}

}  // namespace

const std::string& command_line() {
  return typed_command_line();
}

const Processes& processes() {
  return run_processes();
}

namespace {

int run_command(int argc, const char* const* argv, Reach reach);

}  // namespace

int run(int argc, const char* const* argv, Reach reach, const Processes& processes) {
  run_processes() = processes;
  if (!processes.distributed()) return run_command(argc, argv, reach);
  // The root alone speaks; the others print only their errors (standard error).
  if (!processes.is_root() && std::freopen("/dev/null", "w", stdout) == nullptr)
    std::fprintf(stderr, "ram: warning: %scannot silence standard output\n",
                 process_prefix().c_str());
  int code = 0;
  try {
    processes.require_same("the program (version, commit and build)", version_text());
    code = run_command(argc, argv, reach);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ram: error: %s%s\n", process_prefix().c_str(), e.what());
    code = 1;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  // A process that fails alone would leave the others waiting for it: end them all. An
  // interrupted run (130) stops on every process at the same step and ends normally.
  if (code != 0 && code != 130) processes.abort(code);
  return code;
}

namespace {

int run_command(int argc, const char* const* argv, Reach reach) {
  CLI::App app{"ram: the Recurrent Attention Model (Mnih et al., NIPS 2014)", "ram"};
  app.require_subcommand(1);
  app.footer("Run `ram COMMAND --help` (or `ram help COMMAND`) for a command's flags.");
  app.set_version_flag("--version", version_text(),
                       "Print the version, commit and build, then exit");
  add_commands(app, reach);

  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  typed_command_line() = "ram";
  for (const std::string& arg : args) {
    const bool plain = !arg.empty() && arg.find_first_of(" \t\"'\\$`") == std::string::npos;
    typed_command_line() += " " + (plain ? arg : "'" + arg + "'");
  }
  if (args.empty()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  // `ram help [COMMAND...]` is `ram [COMMAND...] --help`.
  if (args.front() == "help") {
    args.erase(args.begin());
    args.push_back("--help");
  }
  if (const int code = check_command_words(app, args); code >= 0) return code;

  try {
    // CLI11 takes the arguments last first.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError&) {
    return unexpected_arguments(app);
  } catch (const CLI::ParseError& e) {
    return fail(*selected_command(app), e.what());
  } catch (const ExitRequest& e) {
    return e.code;
  } catch (const Error& e) {
    std::fprintf(stderr, "ram: error: %s%s\n", process_prefix().c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ram: error: %s%s\n", process_prefix().c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace

}  // namespace ram::cli
