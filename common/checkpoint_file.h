// The checkpoint file of a long training job, as workers write it to a
// shared checkpoint folder and the controller keeps uploaded ones: a small
// header (magic, epoch, payload size, CRC-32 of the payload) and the
// payload (a trainer TrainingState). The header makes truncation and
// damage detectable before the payload is parsed.
//
// Files are replaced atomically (common/atomic_file.h): a reader sees an
// old complete checkpoint or a new complete one, never a mix, whoever
// crashes.
//
// Thread safety: the functions keep no state.
#ifndef AMOEBA_COMMON_CHECKPOINT_FILE_H_
#define AMOEBA_COMMON_CHECKPOINT_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/atomic_file.h"

namespace amoeba {

struct CheckpointData {
  int epoch = 0;  // epochs completed when it was written
  std::string payload;
};

// CRC-32 (zlib's) of `bytes`; Crc32Update continues `crc` (of the bytes
// before) over `bytes`, for data that comes in pieces.
uint32_t Crc32(std::string_view bytes);
uint32_t Crc32Update(uint32_t crc, std::string_view bytes);

// What a checkpoint file's header says.
struct CheckpointFileHeader {
  int epoch = 0;
  uint64_t payload_size = 0;
  uint32_t crc = 0;
};

// The header in the first kCheckpointHeaderBytes of a file; DataLoss when
// they are not one.
absl::StatusOr<CheckpointFileHeader> DecodeCheckpointHeader(
    std::string_view first_bytes);

// The header's size in bytes.
inline constexpr int64_t kCheckpointHeaderBytes = 24;

// The file's bytes.
std::string EncodeCheckpoint(int epoch, std::string_view payload);
// DataLoss naming what is wrong (not a checkpoint, truncated, checksum).
absl::StatusOr<CheckpointData> DecodeCheckpoint(std::string_view bytes);

// The header of a checkpoint of `payload_size` bytes with checksum `crc`,
// for writers that stream the payload after it.
std::string EncodeCheckpointHeader(int epoch, uint64_t payload_size,
                                   uint32_t crc);

// The epoch in a checkpoint file's header, reading nothing else: NotFound
// when there is no file, DataLoss when it has no header.
absl::StatusOr<int> ReadCheckpointEpoch(const std::string& path);

// Reads and decodes a checkpoint file: NotFound when there is none,
// ResourceExhausted (nothing read) when it is larger than `max_bytes`,
// DataLoss naming the file when it is damaged.
absl::StatusOr<CheckpointData> ReadCheckpointFile(const std::string& path,
                                                  int64_t max_bytes);

}  // namespace amoeba

#endif  // AMOEBA_COMMON_CHECKPOINT_FILE_H_
