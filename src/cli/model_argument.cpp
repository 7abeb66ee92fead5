#include "model_argument.h"

#include "ram/util/error.h"

namespace ram::cli {

namespace fs = std::filesystem;

std::string model_file(const std::string& argument) {
  std::error_code ec;
  if (!fs::is_directory(argument, ec)) return argument;
  for (const char* name : {"model.ram", "checkpoint.ram"}) {
    const fs::path file = fs::path(argument) / name;
    if (fs::is_regular_file(file, ec)) return file.string();
  }
  throw Error(argument +
              " is a directory without model.ram or checkpoint.ram: give a model "
              "file or a run directory written by ram train");
}

std::optional<fs::path> run_directory_of(const std::string& model_file) {
  const fs::path directory = fs::path(model_file).parent_path();
  std::error_code ec;
  if (fs::is_regular_file((directory.empty() ? fs::path(".") : directory) / "metrics.csv", ec))
    return directory.empty() ? fs::path(".") : directory;
  return std::nullopt;
}

}  // namespace ram::cli
