#pragma once
// Classification error of a trained model on a fixed, already rendered image set.
// Images are processed in fixed chunks, each with its own keyed random draws, so the result
// does not depend on the number of threads.
#include <cstdint>
#include <span>
#include <vector>

#include "ram/env/image_set.h"
#include "ram/models/baselines.h"
#include "ram/models/ram_model.h"
#include "ram/run/processes.h"
#include "ram/util/thread_pool.h"

namespace ram {

// evaluate() runs the model on consecutive chunks of this many images (the last may be shorter);
// a replay of an episode runs the same chunk, so its numbers match to the bit.
inline constexpr int kEvaluationChunk = 64;

struct EvalOptions {
  LocationMode mode = LocationMode::sample;  // sample, mean (deterministic) or uniform
  StopMode stop = StopMode::sample;          // adaptive stopping: sampled or thresholded
  int samples = 1;                           // M: class probabilities averaged over M episodes
  std::uint64_t seed = 2014;                 // location noise; fixed so runs are comparable
  bool keep_probabilities = false;           // fill EvalResult::probabilities
};

struct EvalResult {
  std::size_t images = 0;
  std::size_t errors = 0;
  double cross_entropy = 0;            // mean -log of the averaged probability of the label
  std::vector<std::size_t> confusion;  // classes x classes, [true][predicted]
  int classes = 0;
  // Episodes (images x M) by glimpses taken: [n] for n = 0 .. T ([0] stays 0).
  std::vector<std::size_t> glimpse_histogram;
  // Glimpses taken in each image's first episode, in image order (RAM only; empty for a
  // baseline), e.g. to pick the images an adaptive model stopped on earliest.
  std::vector<int> glimpses_taken;
  // With EvalOptions::keep_probabilities: images x classes, row-major, the class probabilities
  // averaged over the M episodes (what the error and the confusion matrix are counted from).
  std::vector<float> probabilities;
  double mean_glimpses() const;
  double error() const {
    return images ? static_cast<double>(errors) / static_cast<double>(images) : 0.0;
  }
  double class_error(int label) const;  // error among images of this true label
};

// The random draws evaluate() feeds the model for episode `sample` of image `image` of the set
// (draws_per_image values into out), so that one episode can be replayed exactly, e.g. to draw it.
void evaluation_draws(const EvalOptions& options, int draws_per_image, std::size_t image,
                      int sample, float* out);

// Distributed (processes.size() > 1, every process calling it alike), each process evaluates
// its share of the chunks and every process returns the whole result, the same bits as one
// process's.
EvalResult evaluate(const RamModel<float>& model, std::span<const float> params,
                    const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                    const Processes& processes = {});
// A baseline network: no policy, so options.mode and the location noise do not matter.
EvalResult evaluate(const BaselineModel<float>& model, std::span<const float> params,
                    const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                    const Processes& processes = {});

// The per-thread workspace of each model kind, for code shared by RAM and the baselines.
template <typename Model>
struct WorkspaceFor;
template <>
struct WorkspaceFor<RamModel<float>> {
  using type = Workspace<float>;
};
template <>
struct WorkspaceFor<BaselineModel<float>> {
  using type = BaselineWorkspace<float>;
};

}  // namespace ram
