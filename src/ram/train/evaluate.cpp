#include "ram/train/evaluate.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "ram/nn/layers.h"
#include "ram/util/error.h"
#include "ram/util/rng.h"

namespace ram {

namespace {
constexpr std::uint64_t kEvalNoiseKey = 0xe7a1;
}  // namespace

double EvalResult::class_error(int label) const {
  std::size_t total = 0, wrong = 0;
  for (int p = 0; p < classes; ++p) {
    const std::size_t n = confusion[static_cast<std::size_t>(label) * classes + p];
    total += n;
    if (p != label) wrong += n;
  }
  return total ? static_cast<double>(wrong) / static_cast<double>(total) : 0.0;
}

double EvalResult::mean_glimpses() const {
  std::size_t episodes = 0, glimpses = 0;
  for (std::size_t n = 0; n < glimpse_histogram.size(); ++n) {
    episodes += glimpse_histogram[n];
    glimpses += n * glimpse_histogram[n];
  }
  return episodes ? static_cast<double>(glimpses) / static_cast<double>(episodes) : 0.0;
}

void evaluation_draws(const EvalOptions& options, int draws_per_image, std::size_t image,
                      int sample, float* out) {
  Rng rng(options.seed,
          {kEvalNoiseKey, static_cast<std::uint64_t>(image), static_cast<std::uint64_t>(sample)});
  for (int k = 0; k < draws_per_image; ++k)
    out[k] = options.mode == LocationMode::uniform ? static_cast<float>(rng.uniform(-1, 1))
                                                   : static_cast<float>(rng.normal());
}

namespace {

// After each process evaluated its share of the chunks: every process gets every chunk's
// probabilities, glimpse histogram and glimpse counts, exactly as computed.
void share_chunk_results(const Processes& processes, int n, int classes,
                         std::vector<Mat<float>>& chunk_probs,
                         std::vector<std::vector<std::size_t>>& chunk_histograms,
                         std::vector<int>& glimpses_taken) {
  const std::size_t C = static_cast<std::size_t>(classes);
  std::vector<float> probs(static_cast<std::size_t>(n) * C, 0.0f);
  const std::size_t bins = chunk_histograms.empty() ? 0 : chunk_histograms[0].size();
  std::vector<std::uint64_t> counts(chunk_histograms.size() * bins + glimpses_taken.size(), 0);
  const auto [first, end] = processes.share(chunk_probs.size());
  for (std::size_t c = first; c < end; ++c) {
    for (Eigen::Index i = 0; i < chunk_probs[c].rows(); ++i)
      for (std::size_t k = 0; k < C; ++k)
        probs[(c * kEvaluationChunk + static_cast<std::size_t>(i)) * C + k] =
            chunk_probs[c](i, static_cast<Eigen::Index>(k));
    for (std::size_t b = 0; b < bins; ++b) counts[c * bins + b] = chunk_histograms[c][b];
    const std::size_t lo = c * kEvaluationChunk;
    for (std::size_t i = lo; i < std::min(glimpses_taken.size(), lo + kEvaluationChunk); ++i)
      counts[chunk_histograms.size() * bins + i] = static_cast<std::uint64_t>(glimpses_taken[i]);
  }
  processes.combine_disjoint(probs);
  processes.sum(counts);
  for (std::size_t c = 0; c < chunk_probs.size(); ++c) {
    const std::size_t lo = c * kEvaluationChunk;
    const std::size_t rows =
        std::min<std::size_t>(kEvaluationChunk, static_cast<std::size_t>(n) - lo);
    chunk_probs[c].resize(static_cast<Eigen::Index>(rows), classes);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t k = 0; k < C; ++k)
        chunk_probs[c](static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) =
            probs[(lo + i) * C + k];
    for (std::size_t b = 0; b < bins; ++b) chunk_histograms[c][b] = counts[c * bins + b];
  }
  for (std::size_t i = 0; i < glimpses_taken.size(); ++i)
    glimpses_taken[i] = static_cast<int>(counts[chunk_histograms.size() * bins + i]);
}

// The parameters as the model reads them: the caller's buffer when it is aligned as an
// AlignedVector's is (the usual case), else an aligned copy, so that the bits of a result never
// depend on where the caller's buffer sits.
class AlignedParameters {
 public:
  explicit AlignedParameters(std::span<const float> params) : data_(params.data()) {
    if (reinterpret_cast<std::uintptr_t>(data_) % EIGEN_MAX_ALIGN_BYTES != 0) {
      copy_.assign(params.begin(), params.end());
      data_ = copy_.data();
    }
  }
  const float* data() const { return data_; }

 private:
  AlignedVector<float> copy_;
  const float* data_;
};

// Each thread's RAM workspace and draws, kept from one evaluate() call to the next: building
// them afresh at every call (memory the first pass then faults in page by page) cost more than
// the pass itself when a call holds few images, as for a large canvas or a one-image prediction.
// Every field a pass reads is written earlier in the same pass, so nothing carries over. RAM's
// workspace does not grow with the image; a baseline's does (a 1024x1024 conv baseline's
// patches take a GiB per chunk), so a baseline's lives for one call only.
Workspace<float>& thread_ram_workspace() {
  thread_local Workspace<float> workspace;
  return workspace;
}
std::vector<float>& thread_draws() {
  thread_local std::vector<float> draws;
  return draws;
}

template <typename Model>
EvalResult evaluate_model(const Model& model, std::span<const float> unaligned_params,
                          const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                          const Processes& processes) {
  const AlignedParameters params(unaligned_params);
  const auto& config = model.config();
  if (images.rows != config.image_height || images.cols != config.image_width)
    throw Error("evaluate: images are " + std::to_string(images.rows) + "x" +
                std::to_string(images.cols) + " but the model expects " +
                std::to_string(config.image_height) + "x" + std::to_string(config.image_width));
  if (options.samples < 1) throw Error("evaluate: samples must be at least 1");
  const int C = config.classes;
  for (std::uint8_t label : images.labels)
    if (label >= C) throw Error("evaluate: label " + std::to_string(label) + " out of range");

  const int n = static_cast<int>(images.size());
  const int chunks = (n + kEvaluationChunk - 1) / kEvaluationChunk;
  const int draws_per_image = model.draws_per_image();
  std::vector<Mat<float>> chunk_probs(chunks);
  // Glimpse counts 0..T for RAM (adaptive stopping may end an episode early); a baseline has
  // no glimpses and leaves the histogram empty.
  constexpr bool kGlimpses = std::is_same_v<Model, RamModel<float>>;
  std::size_t histogram_size = 0;
  if constexpr (kGlimpses) histogram_size = static_cast<std::size_t>(config.glimpses) + 1;
  std::vector<std::vector<std::size_t>> chunk_histograms(
      chunks, std::vector<std::size_t>(histogram_size, 0));
  std::vector<int> glimpses_taken(kGlimpses ? static_cast<std::size_t>(n) : 0);
  std::vector<typename WorkspaceFor<Model>::type> call_workspaces(kGlimpses ? 0 : pool.size());
  // Each process evaluates its share of the chunks (all of them in one process).
  const int first_chunk = static_cast<int>(processes.share(static_cast<std::size_t>(chunks)).first);
  const int end_chunk = static_cast<int>(processes.share(static_cast<std::size_t>(chunks)).second);
  pool.run(end_chunk - first_chunk, [&](int j, int thread) {
    const int c = first_chunk + j;
    const int lo = c * kEvaluationChunk, count = std::min(kEvaluationChunk, n - lo);
    auto& ws = [&]() -> typename WorkspaceFor<Model>::type& {
      if constexpr (kGlimpses)
        return thread_ram_workspace();
      else
        return call_workspaces[static_cast<std::size_t>(thread)];
    }();
    std::vector<float>& d = thread_draws();
    d.resize(static_cast<std::size_t>(count) * draws_per_image);
    Mat<float> sum = Mat<float>::Zero(count, C);
    for (int m = 0; m < options.samples; ++m) {
      for (int i = 0; i < count; ++i)
        evaluation_draws(options, draws_per_image, static_cast<std::size_t>(lo + i), m,
                         d.data() + static_cast<std::size_t>(i) * draws_per_image);
      if constexpr (kGlimpses) {
        model.forward(params.data(), images.image(lo).data(), count, options.mode, d.data(), ws,
                      options.stop);
        for (int taken : ws.glimpses_taken) chunk_histograms[c][static_cast<std::size_t>(taken)]++;
        if (m == 0)
          std::copy(ws.glimpses_taken.begin(), ws.glimpses_taken.end(),
                    glimpses_taken.begin() + lo);
      } else {
        model.forward(params.data(), images.image(lo).data(), count, options.mode, d.data(), ws);
      }
      sum += ws.probs;
    }
    chunk_probs[c] = sum / static_cast<float>(options.samples);
  });
  if (processes.distributed())
    share_chunk_results(processes, n, C, chunk_probs, chunk_histograms, glimpses_taken);

  EvalResult result;
  result.classes = C;
  result.images = images.size();
  result.confusion.assign(static_cast<std::size_t>(C) * C, 0);
  result.glimpse_histogram.assign(histogram_size, 0);
  result.glimpses_taken = std::move(glimpses_taken);
  if (options.keep_probabilities)
    result.probabilities.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(C));
  for (int c = 0; c < chunks; ++c) {
    if (options.keep_probabilities)
      for (Eigen::Index i = 0; i < chunk_probs[c].rows(); ++i)
        for (int k = 0; k < C; ++k)
          result.probabilities[(static_cast<std::size_t>(c) * kEvaluationChunk +
                                static_cast<std::size_t>(i)) *
                                   static_cast<std::size_t>(C) +
                               static_cast<std::size_t>(k)] = chunk_probs[c](i, k);
    for (std::size_t k = 0; k < result.glimpse_histogram.size(); ++k)
      result.glimpse_histogram[k] += chunk_histograms[c][k];
    for (Eigen::Index i = 0; i < chunk_probs[c].rows(); ++i) {
      const int label = images.labels[static_cast<std::size_t>(c) * kEvaluationChunk + i];
      Eigen::Index predicted;
      chunk_probs[c].row(i).maxCoeff(&predicted);
      result.confusion[static_cast<std::size_t>(label) * C + predicted]++;
      if (predicted != label) result.errors++;
      result.cross_entropy += static_cast<double>(cross_entropy(chunk_probs[c](i, label)));
    }
  }
  if (result.images) result.cross_entropy /= static_cast<double>(result.images);
  return result;
}

}  // namespace

EvalResult evaluate(const RamModel<float>& model, std::span<const float> params,
                    const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                    const Processes& processes) {
  return evaluate_model(model, params, images, options, pool, processes);
}

EvalResult evaluate(const BaselineModel<float>& model, std::span<const float> params,
                    const ImageSet& images, const EvalOptions& options, ThreadPool& pool,
                    const Processes& processes) {
  return evaluate_model(model, params, images, options, pool, processes);
}

}  // namespace ram
