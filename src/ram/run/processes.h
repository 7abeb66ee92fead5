#pragma once
// The processes of one distributed run (MPI ranks), as the trainers see them: which share of the
// work is this process's, and the few collective operations training needs, each in a fixed
// order, so that a seed and the total number of workers (processes x threads) fix the result
// however the workers are split between processes.
//
// A program that was not started by mpirun or srun, or was built without MPI, is one process:
// rank 0 of 1, and every operation is then local and costs nothing.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ram/nn/parameters.h"

namespace ram {

class Processes {
 public:
  Processes() = default;  // one process

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }  // the one process that writes and prints
  bool distributed() const { return size_ > 1; }

  // Every process holds the gradients of its n workers (the same n everywhere), process r's
  // being workers r*n .. r*n + n - 1 of the run. On return buffers[0] holds, on every process,
  // w_0 + w_1 + ... added left to right in worker order: the same bits as one process adding all
  // the buffers. The processes pass the running sum along in rank order, chunk by chunk (so
  // the chain pipelines), then the last one broadcasts the total.
  void sum_in_worker_order(std::span<AlignedVector<float>> buffers) const;

  // Every process's values (the same count on each), rank after rank. T is a plain struct of
  // numbers: it travels as bytes.
  template <typename T>
  std::vector<T> all_gather(std::span<const T> mine) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<T> all(mine.size() * static_cast<std::size_t>(size_));
    all_gather_bytes(mine.data(), all.data(), mine.size_bytes());
    return all;
  }
  template <typename T>
  std::vector<T> all_gather(const T& value) const {
    return all_gather(std::span<const T>(&value, 1));
  }

  // For work shared out by items: every element was computed by exactly one process and is zero
  // on the others. On return every process holds every element, bit for bit (the bit patterns
  // are OR-ed, so no float arithmetic touches them).
  void combine_disjoint(std::span<float> values) const;
  // Counts added over the processes.
  void sum(std::span<std::uint64_t> counts) const;
  // The share of `items` (split in contiguous ranges, in rank order) this process works on.
  std::pair<std::size_t, std::size_t> share(std::size_t items) const {
    const std::size_t r = static_cast<std::size_t>(rank_), n = static_cast<std::size_t>(size_);
    return {items * r / n, items * (r + 1) / n};
  }

  // The root's bytes, on every process.
  void broadcast(std::vector<std::uint8_t>& bytes) const;
  // The root's flag, on every process: how the root's decisions reach the others.
  bool root_says(bool flag) const;
  // The root's value (a plain struct of numbers), on every process.
  template <typename T>
  T root_value(const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (size_ == 1) return value;
    std::vector<std::uint8_t> bytes(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
    broadcast(bytes);
    T result;
    std::memcpy(&result, bytes.data(), sizeof(T));
    return result;
  }
  // True on every process if `flag` is true on any: a stop one process was asked for (Ctrl-C)
  // happens at the same step everywhere.
  bool any(bool flag) const;
  // Throws ram::Error on every process if some process's `text` differs from the root's, naming
  // the first such rank and `what` differs (e.g. the training configuration).
  void require_same(const std::string& what, const std::string& text) const;

  // Ends every process of the run with exit code `code` (MPI_Abort); one process just exits.
  [[noreturn]] void abort(int code) const;

 private:
  friend class MpiSession;
  void all_gather_bytes(const void* mine, void* all, std::size_t bytes) const;

  int rank_ = 0, size_ = 1;
};

// Starts MPI when the program was launched by mpirun, mpiexec or srun with MPI support, and ends
// it when destroyed; otherwise (or in a build without MPI) holds one process and touches nothing.
// One per program, in main.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  const Processes& processes() const { return processes_; }
  // This host's name, for messages naming a process ("rank 1 on node7").
  static std::string host_name();

 private:
  Processes processes_;
  bool started_ = false;
};

// Whether this build can run distributed (it was built with MPI).
bool built_with_mpi();

}  // namespace ram
