#include "controller/checkpoint_store.h"

#include <filesystem>
#include <fstream>

#include "catch2/catch.hpp"
#include "testing/test_files.h"

namespace amoeba {
namespace {

std::unique_ptr<CheckpointStore> OpenStore(const std::string& dir,
                                           int64_t max_bytes = 1 << 20) {
  auto store = CheckpointStore::Open({dir, max_bytes});
  REQUIRE(store.ok());
  return *std::move(store);
}

TEST_CASE("the checkpoint store keeps the newest epoch of each child") {
  const std::string dir = FreshTestDir("checkpoint_store");
  auto store = OpenStore(dir);
  REQUIRE(store->Epoch("s", 1) == 0);
  REQUIRE(store->Get("s", 1).status().code() == absl::StatusCode::kNotFound);
  REQUIRE(*store->Put("s", 1, 2, "epoch two") == 2);
  // An older or equal epoch (a stale or repeated upload) is dropped.
  REQUIRE(*store->Put("s", 1, 1, "epoch one") == 2);
  REQUIRE(*store->Put("s", 1, 2, "other bytes") == 2);
  REQUIRE(store->Get("s", 1)->payload == "epoch two");
  REQUIRE(*store->Put("s", 1, 4, "epoch four") == 4);
  REQUIRE(*store->Put("t", 1, 1, "another search") == 1);

  // A new store over the folder (a restarted controller) finds them.
  auto reopened = OpenStore(dir);
  REQUIRE(reopened->Epoch("s", 1) == 4);
  REQUIRE(reopened->Get("s", 1)->payload == "epoch four");
  REQUIRE(reopened->List().size() == 2);
  reopened->Remove("s", 1);
  reopened->Remove("s", 1);  // idempotent
  REQUIRE(reopened->Epoch("s", 1) == 0);
  REQUIRE(reopened->List().size() == 1);
}

TEST_CASE("the checkpoint store refuses large payloads and drops damaged files") {
  const std::string dir = FreshTestDir("checkpoint_store_damage");
  auto store = OpenStore(dir, /*max_bytes=*/16);
  auto large = store->Put("s", 3, 1, std::string(17, 'x'));
  REQUIRE(large.status().code() == absl::StatusCode::kResourceExhausted);
  REQUIRE_THAT(std::string(large.status().message()),
               Catch::Contains("--max_checkpoint_bytes"));
  REQUIRE(store->Epoch("s", 3) == 0);
  REQUIRE(*store->Put("s", 3, 1, "small") == 1);
  {  // A disk error flips a byte of the payload.
    std::fstream file(dir + "/s/3.ckpt",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('!');
  }
  auto damaged = store->Get("s", 3);
  REQUIRE(damaged.status().code() == absl::StatusCode::kDataLoss);
  REQUIRE(!std::filesystem::exists(dir + "/s/3.ckpt"));
  REQUIRE(store->Epoch("s", 3) == 0);
}

}  // namespace
}  // namespace amoeba
