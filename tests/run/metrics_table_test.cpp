// The metrics table: one struct's columns written to CSV and JSON and read back by column name,
// later columns optional, every error naming the file, line and column.
#include "ram/run/metrics_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace {

struct Line {
  int epoch = 0;
  std::uint64_t steps = 0;
  double loss = 0;
  double added_later = 0;
};

}  // namespace

template <>
struct ram::MetricColumns<Line> {
  static constexpr auto columns = std::tuple{
      MetricColumn{"epoch", &Line::epoch}, MetricColumn{"steps", &Line::steps},
      MetricColumn{"loss", &Line::loss}, MetricColumn{"added_later", &Line::added_later}};
  static constexpr std::size_t first_optional = 3;
};

namespace {

using ram::test::error_of;
using ram::test::read_text;
using ram::test::TempDir;

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

void expect_same(const std::vector<Line>& a, const std::vector<Line>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].epoch, b[i].epoch);
    EXPECT_EQ(a[i].steps, b[i].steps);
    EXPECT_EQ(a[i].loss, b[i].loss);
    EXPECT_EQ(a[i].added_later, b[i].added_later);
  }
}

TEST(MetricsTable, CsvAndJsonRoundTrip) {
  TempDir dir;
  const std::vector<Line> lines = {{1, 10, 0.5, 0.25}, {2, 20, 0.125, 4}};
  const std::string path = dir.sub("metrics.csv");
  ram::write_metrics_csv(path, lines);
  EXPECT_EQ(read_text(path), "epoch,steps,loss,added_later\n1,10,0.5,0.25\n2,20,0.125,4\n");
  expect_same(ram::read_metrics_csv<Line>(path), lines);
  const nlohmann::json j = ram::metrics_to_json(lines);
  EXPECT_EQ(j[1]["steps"], 20);
  expect_same(ram::metrics_from_json_array<Line>(j), lines);
}

TEST(MetricsTable, ColumnsInAnyOrderAndALaterColumnMayBeMissing) {
  TempDir dir;
  const std::string path = dir.sub("m.csv");
  write(path, "loss,epoch,steps\n0.5,3,30\n");
  const std::vector<Line> read = ram::read_metrics_csv<Line>(path);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].epoch, 3);
  EXPECT_EQ(read[0].steps, 30u);
  EXPECT_EQ(read[0].loss, 0.5);
  EXPECT_EQ(read[0].added_later, 0.0);
  const Line from_old_json = ram::metrics_from_json<Line>(
      nlohmann::json::parse(R"({"epoch": 1, "steps": 2, "loss": 0.5})"));
  EXPECT_EQ(from_old_json.added_later, 0.0);
}

TEST(MetricsTable, ErrorsNameTheFileLineAndColumn) {
  TempDir dir;
  const std::string path = dir.sub("m.csv");
  write(path, "epoch,loss\n1,0.5\n");
  EXPECT_EQ(error_of([&] { ram::read_metrics_csv<Line>(path); }),
            path + ": the header has no column \"steps\"");
  write(path, "epoch,steps,loss\n1,10,0.5\n2,x,0.5\n");
  EXPECT_EQ(error_of([&] { ram::read_metrics_csv<Line>(path); }),
            path + ":3: \"x\" is not a number (column steps)");
  write(path, "epoch,steps,loss\n1,10\n");
  EXPECT_EQ(error_of([&] { ram::read_metrics_csv<Line>(path); }),
            path + ":2: 2 values for 3 columns");
  write(path, "epoch,steps,loss\n-1,10,0.5\n1,-10,0.5\n");
  EXPECT_EQ(error_of([&] { ram::read_metrics_csv<Line>(path); }),
            path + ":3: \"-10\" is not a number (column steps)");
  write(path, "");
  EXPECT_EQ(error_of([&] { ram::read_metrics_csv<Line>(path); }),
            path + ": empty metrics file (no header line)");
  EXPECT_EQ(error_of([&] { ram::read_metrics_csv<Line>(dir.sub("none.csv")); }),
            dir.sub("none.csv") + ": cannot open the metrics file");
  EXPECT_NE(error_of([&] {
              ram::metrics_from_json<Line>(nlohmann::json{{"epoch", 1}});
            }).find("steps"),
            std::string::npos);
}

}  // namespace
