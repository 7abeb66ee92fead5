#pragma once
// A trainer's metrics table: one struct per line (an epoch, a report interval), its columns named
// once, written to metrics.csv and into checkpoints (JSON), and read back from both by column
// name. A trainer declares its columns by specialising MetricColumns:
//
//   template <> struct MetricColumns<EpochMetrics> {
//     static constexpr auto columns = std::tuple{MetricColumn{"epoch", &EpochMetrics::epoch}, ...};
//     static constexpr std::size_t first_optional = 11;
//   };
//
// Columns from first_optional on were added after files were first written: a file without one
// reads it as 0 ("not recorded"); any earlier column is required.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ram/util/error.h"
#include "ram/util/json_fields.h"

namespace ram {

template <typename Row, typename T>
struct MetricColumn {
  const char* name;
  T Row::*member;
};

// Spelled out for compilers without class template argument deduction for aggregates (clang
// before 17).
template <typename Row, typename T>
MetricColumn(const char*, T Row::*) -> MetricColumn<Row, T>;

template <typename Row>
struct MetricColumns;  // specialised by each metrics struct

namespace metrics_detail {

std::vector<std::string> split_csv_line(const std::string& line);

// The whole cell as a number of type T, or nullopt.
template <typename T>
std::optional<T> parse_number(const std::string& cell);
extern template std::optional<int> parse_number<int>(const std::string&);
extern template std::optional<std::uint64_t> parse_number<std::uint64_t>(const std::string&);
extern template std::optional<double> parse_number<double>(const std::string&);

// Writes `lines` (each ending in a newline) under `header` to path, through a temporary file
// renamed over it, so a reader never sees half a table.
void write_csv(const std::string& path, const std::string& header, const std::string& lines);

}  // namespace metrics_detail

// Calls f(index, name, field) for every column of row, in column order.
template <typename Row, typename F>
void for_each_metric(Row& row, F&& f) {
  std::apply(
      [&](const auto&... column) {
        std::size_t i = 0;
        ((f(i, column.name, row.*(column.member)), ++i), ...);
      },
      MetricColumns<std::remove_const_t<Row>>::columns);
}

template <typename Row>
nlohmann::json metrics_to_json(Row row) {
  nlohmann::json j = nlohmann::json::object();
  for_each_metric(row, [&](std::size_t, const char* name, auto& field) { j[name] = field; });
  return j;
}

template <typename Row>
Row metrics_from_json(const nlohmann::json& j) {
  Row row{};
  for_each_metric(row, [&](std::size_t i, const char* name, auto& field) {
    using T = std::remove_reference_t<decltype(field)>;
    field = i >= MetricColumns<Row>::first_optional ? json_field_or<T>(j, name, T{})
                                                    : json_field<T>(j, name);
  });
  return row;
}

// Checkpoints carry a run's table as the JSON array progress["metrics"].
template <typename Row>
nlohmann::json metrics_to_json(const std::vector<Row>& rows) {
  nlohmann::json array = nlohmann::json::array();
  for (const Row& row : rows) array.push_back(metrics_to_json(row));
  return array;
}

template <typename Row>
std::vector<Row> metrics_from_json_array(const nlohmann::json& array) {
  std::vector<Row> rows;
  for (const auto& j : array) rows.push_back(metrics_from_json<Row>(j));
  return rows;
}

template <typename Row>
void write_metrics_csv(const std::string& path, const std::vector<Row>& rows) {
  std::string header;
  std::apply(
      [&](const auto&... column) {
        ((header += (header.empty() ? "" : ","), header += column.name), ...);
      },
      MetricColumns<Row>::columns);
  std::ostringstream lines;
  for (Row row : rows) {
    for_each_metric(
        row, [&](std::size_t i, const char*, auto& field) { lines << (i ? "," : "") << field; });
    lines << '\n';
  }
  metrics_detail::write_csv(path, header, lines.str());
}

// Reads a table written by write_metrics_csv: the header names the columns (in any order), one
// line per row. Throws ram::Error naming the file, line and problem.
template <typename Row>
std::vector<Row> read_metrics_csv(const std::string& path) {
  using metrics_detail::parse_number;
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the metrics file");
  std::string line;
  if (!std::getline(in, line)) throw Error(path + ": empty metrics file (no header line)");
  // column_of[i]: which cell of a line holds column i (header.size(): a later column absent).
  const std::vector<std::string> header = metrics_detail::split_csv_line(line);
  std::vector<std::size_t> column_of;
  std::apply(
      [&](const auto&... column) {
        (
            [&](const char* name) {
              const auto it = std::find(header.begin(), header.end(), name);
              if (it == header.end() && column_of.size() < MetricColumns<Row>::first_optional)
                throw Error(path + ": the header has no column \"" + std::string(name) + "\"");
              column_of.push_back(static_cast<std::size_t>(it - header.begin()));
            }(column.name),
            ...);
      },
      MetricColumns<Row>::columns);
  std::vector<Row> rows;
  for (int line_number = 2; std::getline(in, line); ++line_number) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = metrics_detail::split_csv_line(line);
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (cells.size() != header.size())
      throw Error(where + std::to_string(cells.size()) + " values for " +
                  std::to_string(header.size()) + " columns");
    Row row{};
    for_each_metric(row, [&](std::size_t i, const char* name, auto& field) {
      using T = std::remove_reference_t<decltype(field)>;
      if (column_of[i] == header.size()) return;  // a later column this file lacks: 0
      const std::string& cell = cells[column_of[i]];
      const std::optional<T> parsed = parse_number<T>(cell);
      if (!parsed) throw Error(where + "\"" + cell + "\" is not a number (column " + name + ")");
      field = *parsed;
    });
    rows.push_back(row);
  }
  return rows;
}

}  // namespace ram
