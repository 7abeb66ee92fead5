#pragma once
// The one finite-difference gradient check, for every op, core, head and model (in the spirit of
// ggml's test-backend-ops). A case is a point (parameters and inputs back to back, named by the
// slots of a ParamLayout), the gradient its backward produced there, and the scalar loss that
// backward differentiates. Each test file lists its cases in a table of named builders and
// instantiates the one parameterised test below over it:
//   const GradientCaseEntry kCases[] = {{"linear", linear_case}, ...};
//   INSTANTIATE_TEST_SUITE_P(Nn, GradientCheck, ::testing::ValuesIn(kCases), gradient_case_name);
// so that a failure names the op.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "ram/nn/parameters.h"
#include "ram/nn/tensor.h"
#include "ram/util/rng.h"

namespace ram::test {

// Fourth-order central differences, (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h: truncation error
// O(h^4), so h can be large enough for the round-off of a loss of order 10-50 (a REINFORCE term
// with raw samples far from the mean) to stay near 1e-10. A two-point difference with h = 1e-6
// left errors of ~1e-9, i.e. 1.4e-5 relative, on the model's gradients of ~5e-5.
inline constexpr double kGradientStep = 1e-4;
// Relative errors are |a - n| / max(|a|, |n|, floor): near-zero gradients (a dead unit, a weight
// from a zero input) are judged by their absolute error against the floor. The round-off of a
// difference grows with the loss, ~1e-16 |f| / h, so the floor is kGradientFloor x max(1, |f|):
// the Catch agent's loss of ~100 leaves absolute errors of ~5e-10 on its smallest gradients.
inline constexpr double kGradientFloor = 1e-5;
// Every case passes with its worst error below 5e-7 (most below 1e-8); a gradient 1% off in one
// element is 1e-2 off.
inline constexpr double kGradientTolerance = 1e-5;

struct GradientCase {
  ParamLayout layout;            // named slots covering `point`: parameters, then inputs
  std::vector<double> point;     // where the gradient is taken
  std::vector<double> analytic;  // backward's gradient, laid out as `point`
  std::function<double(const std::vector<double>&)> loss;
  // Optional: false at a point on the other side of a kink from `point` (a ReLU changed sign),
  // where a difference is meaningless. Such differences are counted and fail the case.
  std::function<bool(const std::vector<double>&)> valid;
  // 0: every element; otherwise about this many evenly spread elements of each slot.
  std::size_t samples_per_slot = 0;
  // Name prefixes of the slots the loss does not depend on (a term weighted 0): their gradient
  // must be exactly 0. Every other slot must get a gradient large enough for a 1% error to show.
  std::vector<std::string> unreached;
};

// Random points: values uniform in [-range, range].
inline std::vector<double> uniform(std::size_t n, std::uint64_t seed, double range = 1.0) {
  Rng rng(seed, {7});
  std::vector<double> v(n);
  for (auto& x : v) x = rng.uniform(-range, range);
  return v;
}
inline Mat<double> random_mat(int rows, int cols, std::uint64_t seed, double range = 1.0) {
  const std::vector<double> v = uniform(static_cast<std::size_t>(rows) * cols, seed, range);
  return ConstMatMap<double>(v.data(), rows, cols);
}

inline double relative_error(double analytic, double numeric, double floor) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), floor});
}

// The finite differences of a case; `checked` marks the elements differenced, `kinked` those
// whose difference crossed a kink (their numeric value is meaningless).
struct Differences {
  std::vector<double> numeric;
  std::vector<bool> checked, kinked;
  double floor = kGradientFloor;
};

inline Differences finite_differences(const GradientCase& c) {
  const std::size_t n = c.point.size();
  Differences d{std::vector<double>(n, 0.0), std::vector<bool>(n, false),
                std::vector<bool>(n, false),
                kGradientFloor * std::max(1.0, std::abs(c.loss(c.point)))};
  std::vector<double> x = c.point;
  for (const ParamSlot& s : c.layout.slots()) {
    const std::size_t stride =
        c.samples_per_slot == 0 ? 1 : std::max<std::size_t>(1, s.size() / c.samples_per_slot);
    for (std::size_t i = s.offset; i < s.offset + s.size(); i += stride) {
      auto at = [&](double delta) {
        x[i] = c.point[i] + delta;
        const double v = c.loss(x);
        if (c.valid && !c.valid(x)) d.kinked[i] = true;
        x[i] = c.point[i];
        return v;
      };
      // Differences first, so that an element without effect gives exactly 0.
      const double near = at(kGradientStep) - at(-kGradientStep);
      const double far = at(2 * kGradientStep) - at(-2 * kGradientStep);
      d.numeric[i] = (8 * near - far) / (12 * kGradientStep);
      d.checked[i] = true;
    }
  }
  return d;
}

struct SlotReport {
  std::string name;
  double worst = 0;       // largest relative error over the elements checked
  std::size_t index = 0;  // where, within the slot
  double analytic = 0, numeric = 0;
  double largest = 0;  // largest |numeric|: 0 if the loss does not depend on the slot
  int checked = 0, kinks = 0;
};

// Compares `analytic` (laid out as the case's point) with the differences, slot by slot.
inline std::vector<SlotReport> compare(const ParamLayout& layout,
                                       const std::vector<double>& analytic, const Differences& d) {
  std::vector<SlotReport> reports;
  for (const ParamSlot& s : layout.slots()) {
    SlotReport r{s.name};
    for (std::size_t i = s.offset; i < s.offset + s.size(); ++i) {
      if (!d.checked[i]) continue;
      if (d.kinked[i]) {
        ++r.kinks;
        continue;
      }
      ++r.checked;
      r.largest = std::max(r.largest, std::abs(d.numeric[i]));
      const double e = relative_error(analytic[i], d.numeric[i], d.floor);
      if (e >= r.worst) {
        r.worst = e;
        r.index = i - s.offset;
        r.analytic = analytic[i];
        r.numeric = d.numeric[i];
      }
    }
    reports.push_back(r);
  }
  return reports;
}

// Which entries of the given matrices (or vectors of matrices, or per-step matrices) are positive:
// a difference that changes this pattern of ReLU outputs crossed a kink.
inline void add_relu_pattern(std::vector<bool>& p, const Mat<double>& m) {
  for (Eigen::Index i = 0; i < m.size(); ++i) p.push_back(m.data()[i] > 0);
}
inline void add_relu_pattern(std::vector<bool>& p, const std::vector<Mat<double>>& ms) {
  for (const Mat<double>& m : ms) add_relu_pattern(p, m);
}
inline void add_relu_pattern(std::vector<bool>& p, const StepMatrices<double>& ms) {
  add_relu_pattern(p, Mat<double>(ms.steps(0, static_cast<int>(ms.size()))));
}
template <typename... M>
std::vector<bool> relu_pattern(const M&... ms) {
  std::vector<bool> p;
  (add_relu_pattern(p, ms), ...);
  return p;
}

inline bool all_within_tolerance(const std::vector<SlotReport>& reports) {
  return std::all_of(reports.begin(), reports.end(), [](const SlotReport& r) {
    return r.kinks == 0 && r.worst < kGradientTolerance;
  });
}

inline bool is_unreached(const GradientCase& c, const std::string& slot) {
  return std::any_of(c.unreached.begin(), c.unreached.end(),
                     [&](const std::string& prefix) { return slot.starts_with(prefix); });
}

// ---------------------------------------------------------------------------------------------
// The table and its one parameterised test.

struct GradientCaseEntry {
  const char* name;  // the test's name: letters, digits and '_'
  GradientCase (*build)();
};

inline void PrintTo(const GradientCaseEntry& e, std::ostream* os) {
  *os << e.name;
}

inline std::string gradient_case_name(const ::testing::TestParamInfo<GradientCaseEntry>& info) {
  return info.param.name;
}

class GradientCheck : public ::testing::TestWithParam<GradientCaseEntry> {};

// The builder runs inside the test, so its own expectations (e.g. that a unit sits far from its
// kink) are reported under the case's name.
TEST_P(GradientCheck, MatchesFiniteDifferences) {
  const GradientCase c = GetParam().build();
  ASSERT_EQ(c.point.size(), c.layout.total());
  ASSERT_EQ(c.analytic.size(), c.layout.total());
  const Differences d = finite_differences(c);
  const std::vector<SlotReport> reports = compare(c.layout, c.analytic, d);
  std::printf("%s (floor %.1e)\n", GetParam().name, d.floor);
  for (const SlotReport& r : reports) {
    if (!is_unreached(c, r.name))
      std::printf("  %-28s worst relative error %.2e, largest |gradient| %.2e\n", r.name.c_str(),
                  r.worst, r.largest);
    EXPECT_EQ(r.kinks, 0) << r.name << ": " << r.kinks
                          << " differences crossed a ReLU kink; pick another seed";
    EXPECT_LT(r.worst, kGradientTolerance) << r.name << " element " << r.index << ": analytic "
                                           << r.analytic << ", numeric " << r.numeric;
    EXPECT_GT(r.checked, 0) << r.name;
    if (is_unreached(c, r.name)) {
      EXPECT_EQ(r.largest, 0.0) << r.name << " was expected to get no gradient";
    } else {
      EXPECT_GT(r.largest, d.floor) << r.name << " gets (almost) no gradient";
    }
  }

  // The same differences reject the gradient with one element, the largest of a slot, 1% off,
  // in every slot that gets a gradient: the tolerance and the floor are tight enough for the
  // check to catch a wrong backward.
  for (std::size_t k = 0; k < reports.size(); ++k) {
    if (is_unreached(c, reports[k].name)) continue;
    const ParamSlot& s = c.layout.slots()[k];
    std::size_t largest = s.offset;
    for (std::size_t i = s.offset; i < s.offset + s.size(); ++i)
      if (d.checked[i] && !d.kinked[i] && std::abs(c.analytic[i]) > std::abs(c.analytic[largest]))
        largest = i;
    std::vector<double> wrong = c.analytic;
    wrong[largest] *= 1.01;
    EXPECT_GE(compare(c.layout, wrong, d)[k].worst, kGradientTolerance) << s.name;
  }
}

}  // namespace ram::test
