#include "ram/run/metrics_table.h"

#include <charconv>

#include "ram/util/files.h"

namespace ram::metrics_detail {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = line.find(',', begin);
    cells.push_back(line.substr(begin, comma - begin));
    if (comma == std::string::npos) return cells;
    begin = comma + 1;
  }
}

template <typename T>
std::optional<T> parse_number(const std::string& cell) {
  T value{};
  const char* end = cell.data() + cell.size();
  const auto [ptr, ec] = std::from_chars(cell.data(), end, value);
  if (ec != std::errc() || ptr != end || cell.empty()) return std::nullopt;
  return value;
}
template std::optional<int> parse_number<int>(const std::string&);
template std::optional<std::uint64_t> parse_number<std::uint64_t>(const std::string&);
template std::optional<double> parse_number<double>(const std::string&);

void write_csv(const std::string& path, const std::string& header, const std::string& lines) {
  write_file_atomically(path, header + '\n' + lines, "the metrics file");
}

}  // namespace ram::metrics_detail
