#include "common/checkpoint_file.h"

#include <filesystem>

#include "catch2/catch.hpp"
#include "testing/test_files.h"

namespace amoeba {
namespace {

TEST_CASE("a checkpoint file round-trips and every damage is named") {
  const std::string payload = "weights and optimizer state \x01\x02\x00 end";
  const std::string file = EncodeCheckpoint(7, payload);
  auto decoded = DecodeCheckpoint(file);
  REQUIRE(decoded.ok());
  REQUIRE(decoded->epoch == 7);
  REQUIRE(decoded->payload == payload);

  auto truncated = DecodeCheckpoint(file.substr(0, file.size() - 1));
  REQUIRE(truncated.status().code() == absl::StatusCode::kDataLoss);
  REQUIRE_THAT(std::string(truncated.status().message()),
               Catch::Contains("truncated"));
  std::string flipped = file;
  flipped[flipped.size() - 3] ^= 0x10;
  auto damaged = DecodeCheckpoint(flipped);
  REQUIRE(damaged.status().code() == absl::StatusCode::kDataLoss);
  REQUIRE_THAT(std::string(damaged.status().message()),
               Catch::Contains("checksum"));
  REQUIRE(DecodeCheckpoint("hello").status().code() ==
          absl::StatusCode::kDataLoss);
}

TEST_CASE("checkpoint files are replaced atomically and read back") {
  const std::string dir = FreshTestDir("checkpoint_file");
  const std::string path = dir + "/a/b/7.ckpt";
  REQUIRE(ReadCheckpointFile(path, 1 << 20).status().code() ==
          absl::StatusCode::kNotFound);
  REQUIRE(WriteFileAtomically(path, EncodeCheckpoint(1, "one")).ok());
  REQUIRE(WriteFileAtomically(path, EncodeCheckpoint(2, "two")).ok());
  auto read = ReadCheckpointFile(path, 1 << 20);
  REQUIRE(read.ok());
  REQUIRE(read->epoch == 2);
  REQUIRE(read->payload == "two");
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(dir + "/a/b")) {
    (void)entry;
    ++files;
  }
  REQUIRE(files == 1);
  // Larger than the reader's bound: not read, and not called damaged.
  REQUIRE(ReadCheckpointFile(path, 10).status().code() ==
          absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace amoeba
