// Fuzzes the checkpoint reader and the model loader (load_model: checkpoint, then its training
// configuration checked against the parameters). Input: one mode byte, then the file. With the
// mode's low bit set, the last four bytes are replaced by the file's true CRC-32 first, so that
// mutations reach the parsing behind the checksum instead of all dying at it.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "ram/train/train.h"
#include "ram/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::vector<std::uint8_t> file(data + 1, data + size);
  if ((data[0] & 1) && file.size() >= 4) {
    const std::size_t body = file.size() - 4;
    const auto crc = static_cast<std::uint32_t>(crc32(0, file.data(), static_cast<uInt>(body)));
    for (int i = 0; i < 4; ++i) file[body + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  }
  static const std::string path = ram::fuzz::scratch_path("checkpoint.ram");
  ram::fuzz::write_file(path, file.data(), file.size());
  try {
    const ram::SavedModel model = ram::load_model(path);
    for (float p : model.parameters)
      if (!std::isfinite(p)) __builtin_trap();  // the loader promises finite parameters
  } catch (const ram::Error&) {
  }
  return 0;
}
