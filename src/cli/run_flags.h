#pragma once
// Flags shared by the commands that train into a run directory (`ram train`, `ram catch train`).
#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

#include "ram/run/run_directory.h"

namespace ram::cli {

// Whether the flag `name` (e.g. "--threads") was given on the command line.
bool given(const CLI::App& cmd, const std::string& name);

// With --resume a run continues with the settings it started with, so a flag that would change
// one is refused rather than silently ignored: throws ram::Error naming the first flag given
// that is not in `allowed`.
void require_only(const CLI::App& cmd, std::string_view command,
                  std::initializer_list<std::string_view> allowed);

// Where a run goes when --out is not given: runs/NAME-YYYYMMDD-HHMMSS (local time), with a
// suffix if that exists already.
std::string new_run_directory_name(const std::string& name);

// Now in UTC, as 2026-12-03T19:30:00Z, for the records runs and evaluations keep.
std::string utc_time_now();

// What a new run directory keeps of how the run was started (run.json): the command line, the
// commit and version of the program, the time.
std::string start_record();

// --resume and --overwrite, checked against each other.
RunStart run_start(bool resume, bool overwrite);

}  // namespace ram::cli
