#include "ram/run/processes.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <functional>

#include "ram/util/error.h"

#if RAM_WITH_MPI
#include <mpi.h>
#endif

namespace ram {

namespace {

// Floats per message of the chain that adds the gradients: 256 KB, large enough to send at full
// speed and small enough that the processes of a long chain work on different chunks at once.
constexpr std::size_t kChainChunk = 65536;

#if RAM_WITH_MPI
// Launched by an MPI starter: Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE, PMIx and PMI-2
// launchers (srun --mpi=pmix or pmi2, MPICH's mpiexec) set PMIX_RANK or PMI_RANK.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

int checked_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw Error("distributed run: message too large");
  return static_cast<int>(n);
}
#endif

}  // namespace

void Processes::sum_in_worker_order(std::span<AlignedVector<float>> buffers) const {
  if (buffers.empty()) return;
  AlignedVector<float>& sum = buffers[0];
  const std::size_t n = sum.size();
  if (size_ == 1) {
    for (std::size_t k = 1; k < buffers.size(); ++k)
      for (std::size_t i = 0; i < n; ++i) sum[i] += buffers[k][i];
    return;
  }
#if RAM_WITH_MPI
  std::vector<float> incoming(std::min(n, kChainChunk));
  for (std::size_t lo = 0; lo < n; lo += kChainChunk) {
    const std::size_t hi = std::min(n, lo + kChainChunk);
    const int count = checked_count(hi - lo);
    if (rank_ == 0) {
      for (std::size_t k = 1; k < buffers.size(); ++k)
        for (std::size_t i = lo; i < hi; ++i) sum[i] += buffers[k][i];
    } else {
      // The sum of every worker before this process's, then this process's workers in order.
      MPI_Recv(incoming.data(), count, MPI_FLOAT, rank_ - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      for (std::size_t i = lo; i < hi; ++i) {
        float s = incoming[i - lo];
        for (const AlignedVector<float>& worker : buffers) s += worker[i];
        sum[i] = s;
      }
    }
    if (rank_ + 1 < size_)
      MPI_Send(sum.data() + lo, count, MPI_FLOAT, rank_ + 1, 0, MPI_COMM_WORLD);
  }
  MPI_Bcast(sum.data(), checked_count(n), MPI_FLOAT, size_ - 1, MPI_COMM_WORLD);
#endif
}

void Processes::all_gather_bytes(const void* mine, void* all, std::size_t bytes) const {
  if (size_ == 1) {
    std::memcpy(all, mine, bytes);
    return;
  }
#if RAM_WITH_MPI
  MPI_Allgather(mine, checked_count(bytes), MPI_BYTE, all, checked_count(bytes), MPI_BYTE,
                MPI_COMM_WORLD);
#endif
}

void Processes::combine_disjoint(std::span<float> values) const {
  if (size_ == 1) return;
#if RAM_WITH_MPI
  static_assert(sizeof(float) == sizeof(std::uint32_t));
  for (std::size_t lo = 0; lo < values.size(); lo += kChainChunk) {
    const int count = checked_count(std::min(kChainChunk, values.size() - lo));
    MPI_Allreduce(MPI_IN_PLACE, values.data() + lo, count, MPI_UINT32_T, MPI_BOR, MPI_COMM_WORLD);
  }
#endif
}

void Processes::sum(std::span<std::uint64_t> counts) const {
  if (size_ == 1) return;
#if RAM_WITH_MPI
  for (std::size_t lo = 0; lo < counts.size(); lo += kChainChunk) {
    const int count = checked_count(std::min(kChainChunk, counts.size() - lo));
    MPI_Allreduce(MPI_IN_PLACE, counts.data() + lo, count, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  }
#endif
}

void Processes::broadcast(std::vector<std::uint8_t>& bytes) const {
  if (size_ == 1) return;
#if RAM_WITH_MPI
  unsigned long long length = bytes.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  bytes.resize(static_cast<std::size_t>(length));
  MPI_Bcast(bytes.data(), checked_count(bytes.size()), MPI_BYTE, 0, MPI_COMM_WORLD);
#endif
}

bool Processes::root_says(bool flag) const {
  return root_value<std::uint8_t>(flag ? 1 : 0) != 0;
}

bool Processes::any(bool flag) const {
  if (size_ == 1) return flag;
  int result = flag ? 1 : 0;
#if RAM_WITH_MPI
  int mine = result;
  MPI_Allreduce(&mine, &result, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
#endif
  return result != 0;
}

void Processes::require_same(const std::string& what, const std::string& text) const {
  if (size_ == 1) return;
  const std::uint64_t mine = std::hash<std::string>{}(text);
  const std::vector<std::uint64_t> all = all_gather(mine);
  for (int r = 1; r < size_; ++r)
    if (all[static_cast<std::size_t>(r)] != all[0])
      throw Error("distributed run: " + what + " of rank " + std::to_string(r) +
                  " differs from rank 0's: every process must run the same build with the same "
                  "flags");
}

void Processes::abort(int code) const {
#if RAM_WITH_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

MpiSession::MpiSession([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#if RAM_WITH_MPI
  if (!launched_by_mpi()) return;
  int provided = 0;
  // Only the main thread calls MPI; the thread pools compute between the calls.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  started_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &processes_.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &processes_.size_);
#endif
}

MpiSession::~MpiSession() {
#if RAM_WITH_MPI
  if (started_) MPI_Finalize();
#endif
}

std::string MpiSession::host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown host";
  return name;
}

bool built_with_mpi() {
  return RAM_WITH_MPI != 0;
}

}  // namespace ram
