#pragma once
// The MODEL argument of eval, info, glimpses and report: a model file, or a run directory
// written by `ram train`, whose model.ram (or, while the first epoch runs, checkpoint.ram) is
// meant.
#include <filesystem>
#include <optional>
#include <string>

namespace ram::cli {

// The model file `argument` names. Throws ram::Error when a directory holds neither file.
std::string model_file(const std::string& argument);

// The run directory a model file lies in (a directory holding the model and a metrics.csv
// written by `ram train`), or nothing for a model file kept elsewhere.
std::optional<std::filesystem::path> run_directory_of(const std::string& model_file);

}  // namespace ram::cli
