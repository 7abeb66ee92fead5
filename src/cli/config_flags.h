#pragma once
// A command's settings flags as one table: each flag is written once, and that one line both
// registers it with CLI11 and, when the user gives it, copies its value onto a configuration
// that starts from elsewhere (a preset). A flag cannot be registered and then forgotten.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace ram::cli {

// The member reached from a configuration by following `path`: member(&A::b, &B::c) gives a
// callable mapping an A (const or not) to a.b.c.
template <class... Members>
auto member(Members... path) {
  return [=](auto& config) -> auto& {
    return (config.*....*path);
  };
}

template <class Config>
class ConfigFlags {
 public:
  explicit ConfigFlags(CLI::App& cmd) : cmd_(cmd) {}
  ConfigFlags(const ConfigFlags&) = delete;
  ConfigFlags& operator=(const ConfigFlags&) = delete;

  // Help groups, in the order `--help` shows them.
  void group(std::string name) { group_ = std::move(name); }

  // `field` names the setting, as made by member(): member(&Config::model, &Model::core) for
  // config.model.core. A bool member becomes a flag (`--x`, or `--x=false` to turn off a
  // preset's setting).
  template <class Field>
  CLI::Option* add(const std::string& name, Field field, const std::string& help) {
    auto& target = field(values_);
    CLI::Option* option = nullptr;
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(target)>, bool>)
      option = cmd_.add_flag(name, target, help);
    else
      option = cmd_.add_option(name, target, help);
    option->group(group_);
    copies_.push_back([option, field](const Config& from, Config& to) {
      if (option->count() > 0) field(to) = field(from);
    });
    return option;
  }

  // Copies every flag given onto `config`, in the table's order.
  void apply(Config& config) const {
    for (const auto& copy : copies_) copy(values_, config);
  }

  // The values as parsed (a flag not given holds Config's default).
  const Config& values() const { return values_; }

 private:
  CLI::App& cmd_;
  std::string group_ = "Options";
  Config values_;
  std::vector<std::function<void(const Config&, Config&)>> copies_;
};

}  // namespace ram::cli
