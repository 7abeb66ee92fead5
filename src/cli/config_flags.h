#pragma once
// A command's settings flags as one table: each flag is written once, and that one line both
// registers it with CLI11 and, when the user gives it, copies its value onto a configuration
// that starts from elsewhere (a preset). A flag cannot be registered and then forgotten.
#include <CLI/CLI.hpp>
#include <functional>
#include <initializer_list>
#include <sstream>
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
  // `old_names` stay accepted, hidden from --help, so that command lines written before a
  // rename keep working.
  template <class Field>
  CLI::Option* add(const std::string& name, Field field, const std::string& help,
                   std::initializer_list<std::string> old_names = {}) {
    CLI::Option* option = register_flag(name, field, help);
    option->group(group_);
    std::vector<CLI::Option*> spellings{option};
    for (const std::string& old_name : old_names)
      spellings.push_back(register_flag(old_name, field, help)->group(""));
    copies_.push_back([spellings, field](const Config& from, Config& to) {
      for (const CLI::Option* spelling : spellings)
        if (spelling->count() > 0) field(to) = field(from);
    });
    show_default_.push_back([option, field, help](const Config& defaults) {
      const auto& value = field(defaults);
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, bool>)
        option->description(help + (value ? " [on]" : " [off]"));
      else
        option->default_str(text_of(value));
    });
    return option;
  }

  // --help shows each flag's value in `defaults` (what the flag is when not given) in brackets.
  void show_defaults(const Config& defaults) const {
    for (const auto& show : show_default_) show(defaults);
  }

  // Copies every flag given onto `config`, in the table's order.
  void apply(Config& config) const {
    for (const auto& copy : copies_) copy(values_, config);
  }

  // The values as parsed (a flag not given holds Config's default).
  const Config& values() const { return values_; }

 private:
  template <class Field>
  CLI::Option* register_flag(const std::string& name, Field field, const std::string& help) {
    auto& target = field(values_);
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(target)>, bool>)
      return cmd_.add_flag(name, target, help);
    else
      return cmd_.add_option(name, target, help);
  }

  template <class Value>
  static std::string text_of(const Value& value) {
    if constexpr (std::is_same_v<Value, std::string>) {
      return value;
    } else if constexpr (std::is_floating_point_v<Value>) {
      std::ostringstream text;
      text << value;  // 0.001, 1e-05: the shortest form, as a user would type it
      return text.str();
    } else {
      return std::to_string(value);
    }
  }

  CLI::App& cmd_;
  std::string group_ = "Options";
  Config values_;
  std::vector<std::function<void(const Config&, Config&)>> copies_;
  std::vector<std::function<void(const Config&)>> show_default_;
};

}  // namespace ram::cli
