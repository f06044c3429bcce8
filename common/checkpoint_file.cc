#include "common/checkpoint_file.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

constexpr char kMagic[8] = {'A', 'M', 'O', 'E', 'B', 'A', 'C', '1'};
constexpr size_t kHeaderBytes = sizeof(kMagic) + 4 + 8 + 4;
static_assert(kHeaderBytes == kCheckpointHeaderBytes);

void PutLittle(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t GetLittle(std::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i]))
             << (8 * i);
  }
  return value;
}

}  // namespace

uint32_t Crc32(std::string_view bytes) {
  return Crc32Update(static_cast<uint32_t>(crc32(0L, Z_NULL, 0)), bytes);
}

uint32_t Crc32Update(uint32_t start, std::string_view bytes) {
  uLong crc = start;
  // zlib takes uInt lengths: feed large payloads in pieces.
  constexpr size_t kPiece = 1 << 30;
  for (size_t at = 0; at < bytes.size(); at += kPiece) {
    const size_t n = std::min(kPiece, bytes.size() - at);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at),
                static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

std::string EncodeCheckpointHeader(int epoch, uint64_t payload_size,
                                   uint32_t crc) {
  std::string out(kMagic, sizeof(kMagic));
  PutLittle(static_cast<uint32_t>(epoch), 4, &out);
  PutLittle(payload_size, 8, &out);
  PutLittle(crc, 4, &out);
  return out;
}

std::string EncodeCheckpoint(int epoch, std::string_view payload) {
  std::string out = EncodeCheckpointHeader(epoch, payload.size(), Crc32(payload));
  out.append(payload);
  return out;
}

absl::StatusOr<CheckpointFileHeader> DecodeCheckpointHeader(
    std::string_view bytes) {
  if (bytes.size() < kHeaderBytes ||
      bytes.substr(0, sizeof(kMagic)) !=
          std::string_view(kMagic, sizeof(kMagic))) {
    return absl::DataLossError("not an amoeba checkpoint (no header)");
  }
  CheckpointFileHeader header;
  header.epoch = static_cast<int>(GetLittle(bytes, 8, 4));
  header.payload_size = GetLittle(bytes, 12, 8);
  header.crc = static_cast<uint32_t>(GetLittle(bytes, 20, 4));
  return header;
}

absl::StatusOr<CheckpointData> DecodeCheckpoint(std::string_view bytes) {
  absl::StatusOr<CheckpointFileHeader> header = DecodeCheckpointHeader(bytes);
  if (!header.ok()) return header.status();
  CheckpointData data;
  data.epoch = header->epoch;
  const uint64_t size = header->payload_size;
  const uint32_t crc = header->crc;
  if (bytes.size() - kHeaderBytes != size) {
    return absl::DataLossError(absl::StrFormat(
        "checkpoint truncated or padded: %d payload bytes, the header says %d",
        bytes.size() - kHeaderBytes, size));
  }
  std::string_view payload = bytes.substr(kHeaderBytes);
  if (Crc32(payload) != crc) {
    return absl::DataLossError("checkpoint damaged: checksum mismatch");
  }
  data.payload = std::string(payload);
  return data;
}

absl::StatusOr<int> ReadCheckpointEpoch(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no file ", path));
  std::string header(kHeaderBytes, '\0');
  in.read(header.data(), static_cast<std::streamsize>(kHeaderBytes));
  if (in.gcount() != static_cast<std::streamsize>(kHeaderBytes) ||
      header.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(
        absl::StrCat(path, ": not an amoeba checkpoint (no header)"));
  }
  return static_cast<int>(GetLittle(header, 8, 4));
}

absl::StatusOr<CheckpointData> ReadCheckpointFile(const std::string& path,
                                                  int64_t max_bytes) {
  absl::StatusOr<std::string> bytes = ReadFileUpTo(path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<CheckpointData> data = DecodeCheckpoint(*bytes);
  if (!data.ok()) {
    return absl::DataLossError(
        absl::StrCat(path, ": ", data.status().message()));
  }
  return data;
}

}  // namespace amoeba
