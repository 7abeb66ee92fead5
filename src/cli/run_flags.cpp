#include "run_flags.h"

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ram/util/error.h"
#include "run.h"
#include "version.h"

namespace ram::cli {

bool given(const CLI::App& cmd, const std::string& name) {
  return cmd.get_option(name)->count() > 0;
}

void require_only(const CLI::App& cmd, std::string_view command,
                  std::initializer_list<std::string_view> allowed) {
  for (const CLI::Option* option : cmd.get_options()) {
    if (option->count() == 0) continue;
    const std::string name = option->get_name();
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || name == a;
    if (ok) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    throw Error(std::string(command) + ": " + name +
                " cannot be given with --resume: a resumed run keeps the settings it started "
                "with (it accepts " +
                list + ")");
  }
}

std::string new_run_directory_name(const std::string& name) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  const std::string base = "runs/" + name + "-" + stamp;
  std::string candidate = base;
  for (int n = 2; std::filesystem::exists(candidate); ++n)
    candidate = base + "-" + std::to_string(n);
  return candidate;
}

std::string utc_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string start_record() {
  const nlohmann::json record = {
      {"command", command_line()}, {"commit", git_commit()}, {"started", utc_time_now()}};
  return record.dump(2);
}

RunStart run_start(bool resume, bool overwrite) {
  if (resume && overwrite) throw Error("--resume and --overwrite exclude each other");
  if (resume) return RunStart::resume;
  return overwrite ? RunStart::overwrite : RunStart::fresh;
}

}  // namespace ram::cli
