#pragma once
// One line of a classification run's metrics: what an epoch did, in metrics.csv and in the
// run's checkpoints; and the sums it is made from.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "ram/models/ram_model.h"
#include "ram/run/metrics_table.h"

namespace ram {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  std::uint64_t steps = 0;
  double loss = 0, cross_entropy = 0, reinforce = 0, baseline = 0;  // per image, epoch means
  double train_error = 0, validation_error = 0;
  double train_glimpses = 0, validation_glimpses = 0;  // mean glimpses taken per episode
  double learning_rate = 0;                            // at the end of the epoch
  double seconds = 0, images_per_second = 0;
  std::uint64_t skipped_batches = 0;  // non-finite batches left out (skip_nonfinite_batches)
  // What drives REINFORCE over the epoch's training episodes (RAM only; 0 for the baselines):
  // the core output's L1 norm ||h_t||_1 (mean and max over glimpses taken), the largest
  // |R - b_t|, and the share of policy-mean coordinates with |mu| > 0.9 (near the edge).
  double state_l1_mean = 0, state_l1_max = 0, advantage_max = 0, saturated_means = 0;
};

template <>
struct MetricColumns<EpochMetrics> {
  using M = EpochMetrics;
  static constexpr auto columns =
      std::tuple{MetricColumn{"epoch", &M::epoch},
                 MetricColumn{"steps", &M::steps},
                 MetricColumn{"loss", &M::loss},
                 MetricColumn{"cross_entropy", &M::cross_entropy},
                 MetricColumn{"reinforce", &M::reinforce},
                 MetricColumn{"baseline", &M::baseline},
                 MetricColumn{"train_error", &M::train_error},
                 MetricColumn{"validation_error", &M::validation_error},
                 MetricColumn{"learning_rate", &M::learning_rate},
                 MetricColumn{"seconds", &M::seconds},
                 MetricColumn{"images_per_second", &M::images_per_second},
                 MetricColumn{"skipped_batches", &M::skipped_batches},
                 MetricColumn{"train_glimpses", &M::train_glimpses},
                 MetricColumn{"validation_glimpses", &M::validation_glimpses},
                 MetricColumn{"state_l1_mean", &M::state_l1_mean},
                 MetricColumn{"state_l1_max", &M::state_l1_max},
                 MetricColumn{"advantage_max", &M::advantage_max},
                 MetricColumn{"saturated_means", &M::saturated_means}};
  static constexpr std::size_t first_optional = 11;  // skipped_batches and later
};

// An epoch's running sums, kept in a checkpoint written mid-epoch so that the epoch's metrics
// come out as if it had never been interrupted.
template <>
struct MetricColumns<LossSums> {
  using S = LossSums;
  static constexpr auto columns = std::tuple{MetricColumn{"cross_entropy", &S::cross_entropy},
                                             MetricColumn{"reinforce", &S::reinforce},
                                             MetricColumn{"baseline", &S::baseline},
                                             MetricColumn{"correct", &S::correct},
                                             MetricColumn{"images", &S::images},
                                             MetricColumn{"glimpses", &S::glimpses},
                                             MetricColumn{"state_l1", &S::state_l1},
                                             MetricColumn{"state_l1_max", &S::state_l1_max},
                                             MetricColumn{"advantage_max", &S::advantage_max},
                                             MetricColumn{"saturated_means", &S::saturated_means},
                                             MetricColumn{"policy_means", &S::policy_means}};
  static constexpr std::size_t first_optional = 5;  // glimpses and later
};

// Reads a metrics.csv written by train(): the header names the columns (in any order), one line
// per epoch. Throws ram::Error naming the file, line and problem.
inline std::vector<EpochMetrics> read_metrics(const std::string& path) {
  return read_metrics_csv<EpochMetrics>(path);
}

}  // namespace ram
