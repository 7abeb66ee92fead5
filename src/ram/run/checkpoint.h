#pragma once
// Checkpoints: everything needed to resume training or to run a trained model, in one file.
//
// File format, version 1. All integers are little-endian; floats are IEEE-754 binary32 stored
// as their 32-bit pattern, little-endian, so values (including -0, denormals) survive bit-exact.
//
//   offset  size        field
//   0       8           magic, the ASCII bytes "RAMMODEL"
//   8       4           u32 format version (kCheckpointVersion)
//   12      8           u64 byte length L1 of config_json
//           L1          config_json, UTF-8 JSON text (no terminator)
//           8           u64 element count N1 of parameters
//           4*N1        parameters, float32
//           8           u64 byte length L2 of optimizer_json
//           L2          optimizer_json, JSON text or empty
//           8           u64 element count N2 of optimizer_state
//           4*N2        optimizer_state, float32
//           8           u64 byte length L3 of progress_json
//           L3          progress_json, JSON text or empty
//           8           u64 epoch
//           8           u64 step
//           4           u32 CRC-32 (zlib crc32) of every preceding byte, from the magic on
//
// The file ends right after the checksum. The version lets later programs read old files; a
// file from a newer program is refused rather than misread.
#include <cstdint>
#include <string>
#include <vector>

namespace ram {

inline constexpr std::uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::string config_json;        // full model + training configuration (opaque JSON text here)
  std::vector<float> parameters;  // the flat parameter buffer
  std::string optimizer_json;     // optimiser kind and scalars (opaque JSON text; "" = none)
  std::vector<float> optimizer_state;  // flat optimiser buffers (momentum / Adam moments)
  std::uint64_t epoch = 0;             // completed epochs
  std::uint64_t step = 0;              // optimiser steps taken
  std::string progress_json;           // anything else the trainer needs to resume ("" = none)
};

// Writes `checkpoint` to `path` atomically: the bytes go to "<path>.tmp.<pid>" in the same
// directory, are fsynced, and the temporary file is renamed over `path`, so a crash or a failed
// save leaves any earlier file at `path` as it was. The checkpoint is validated first (JSON
// fields parse, parameters and optimiser state are finite) so that every file written can be
// loaded. Does not create directories. Throws ram::Error naming `path` on any failure.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads and fully validates a checkpoint (magic, version, lengths, checksum, JSON fields, finite
// values). Throws ram::Error "<path>: <problem>" if anything is wrong.
Checkpoint load_checkpoint(const std::string& path);

// The bytes save_checkpoint writes, and their reading with load_checkpoint's checks (errors name
// `name`): how a checkpoint travels between the processes of a distributed run.
std::vector<std::uint8_t> checkpoint_bytes(const Checkpoint& checkpoint);
Checkpoint checkpoint_from_bytes(const std::vector<std::uint8_t>& bytes, const std::string& name);

}  // namespace ram
