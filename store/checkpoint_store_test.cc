#include "store/checkpoint_store.h"

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

namespace amoeba {
namespace {

TEST_CASE("uploads stream into the store, at most max_uploads at once") {
  const std::string dir = FreshTestDir("checkpoint_store_uploads");
  auto opened = CheckpointStore::Open({dir, 1 << 20, /*max_uploads=*/2});
  REQUIRE(opened.ok());
  CheckpointStore& store = **opened;
  const std::string payload = "weights after epoch three";
  auto first = store.BeginUpload("s", 1, 3, payload.size(), Crc32(payload));
  REQUIRE(first.ok());
  auto second = store.BeginUpload("s", 2, 1, 4, Crc32("four"));
  REQUIRE(second.ok());
  auto third = store.BeginUpload("s", 3, 1, 4, Crc32("four"));
  REQUIRE(absl::IsResourceExhausted(third.status()));
  CHECK_THAT(std::string(third.status().message()),
             Catch::Contains("--max_checkpoint_uploads"));
  // Nothing is visible before the commit; hand-outs are answered meanwhile.
  REQUIRE((*first)->Append(payload.substr(0, 7)).ok());
  CHECK(store.Epoch("s", 1) == 0);
  REQUIRE((*first)->Append(payload.substr(7)).ok());
  CHECK(absl::IsDataLoss((*first)->Append("x")));  // beyond the declared size
  REQUIRE(*store.Commit(*std::move(first)) == 3);
  CHECK(store.Get("s", 1)->payload == payload);
  // An abandoned upload leaves no file and frees its slot.
  REQUIRE((*second)->Append("fo").ok());
  second->reset();
  CHECK(std::filesystem::directory_iterator(dir + "/s") !=
        std::filesystem::directory_iterator());
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/s")) {
    CHECK(e.path().filename() == "1.ckpt");
    ++files;
  }
  CHECK(files == 1);
  auto again = store.BeginUpload("s", 3, 1, 4, Crc32("four"));
  REQUIRE(again.ok());
  REQUIRE((*again)->Append("fout").ok());  // wrong bytes: checksum
  CHECK(absl::IsDataLoss(store.Commit(*std::move(again)).status()));
  CHECK(store.Epoch("s", 3) == 0);
  // A stale upload (older epoch) is answered before any byte is sent.
  CHECK(absl::IsAlreadyExists(
      store.BeginUpload("s", 1, 2, 1, Crc32("x")).status()));
}

TEST_CASE("lowering the size limit keeps the larger checkpoints already kept") {
  const std::string dir = FreshTestDir("checkpoint_store_lowered");
  REQUIRE(*OpenStore(dir, 1 << 20)->Put("s", 1, 2, std::string(100, 'w')) == 2);
  auto lowered = OpenStore(dir, 10);
  auto refused = lowered->Get("s", 1);
  REQUIRE(absl::IsResourceExhausted(refused.status()));
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("--max_checkpoint_bytes"));
  CHECK(std::filesystem::exists(dir + "/s/1.ckpt"));
  CHECK(lowered->Epoch("s", 1) == 2);
  auto raised = OpenStore(dir, 1 << 20);
  REQUIRE(raised->Get("s", 1).ok());
  CHECK(raised->Get("s", 1)->payload == std::string(100, 'w'));
  // Downloads read it in pieces, whatever the limit.
  auto reader = lowered->OpenReader("s", 1);
  REQUIRE(reader.ok());
  CHECK((*reader)->epoch() == 2);
  CHECK((*reader)->size() == 100);
  std::string read;
  for (int i = 0; i < 100; ++i) {
    auto piece = (*reader)->Read(7);
    REQUIRE(piece.ok());
    if (piece->empty()) break;
    read += *piece;
  }
  CHECK(read == std::string(100, 'w'));
  CHECK((*reader)->Finish().ok());
}

TEST_CASE("a damaged file read in pieces is found at the end and removed") {
  const std::string dir = FreshTestDir("checkpoint_store_reader");
  auto store = OpenStore(dir);
  REQUIRE(*store->Put("s", 1, 3, "a payload of some bytes") == 3);
  CHECK(absl::IsNotFound(store->OpenReader("s", 2).status()));
  {
    std::fstream file(dir + "/s/1.ckpt",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-2, std::ios::end);
    file.put('#');
  }
  auto reader = store->OpenReader("s", 1);
  REQUIRE(reader.ok());
  REQUIRE((*reader)->Read(1 << 20).ok());
  const absl::Status finished = (*reader)->Finish();
  CHECK(absl::IsDataLoss(finished));
  CHECK_THAT(std::string(finished.message()), Catch::Contains("checksum"));
  CHECK(!std::filesystem::exists(dir + "/s/1.ckpt"));
  CHECK(store->Epoch("s", 1) == 0);
  // A file shorter than its header says is refused at once, before any
  // byte of it goes out, and removed.
  REQUIRE(*store->Put("s", 5, 1, "twelve bytes") == 1);
  std::filesystem::resize_file(dir + "/s/5.ckpt", kCheckpointHeaderBytes + 5);
  CHECK(absl::IsDataLoss(store->OpenReader("s", 5).status()));
  CHECK(!std::filesystem::exists(dir + "/s/5.ckpt"));
  // A file without a header is refused at once, and removed.
  REQUIRE(*store->Put("s", 4, 1, "x") == 1);
  std::filesystem::resize_file(dir + "/s/4.ckpt", 10);
  CHECK(absl::IsDataLoss(store->OpenReader("s", 4).status()));
  CHECK(!std::filesystem::exists(dir + "/s/4.ckpt"));
}

TEST_CASE("the epoch cache holds only children that have a file") {
  const std::string dir = FreshTestDir("checkpoint_store_cache");
  auto store = OpenStore(dir);
  for (int child = 1; child <= 50; ++child) {
    REQUIRE(*store->Put("s", child, 1, "state") == 1);
    CHECK(store->Epoch("s", 1000 + child) == 0);  // asked, never written
  }
  CHECK(store->cached_children() == 50);
  for (int child = 1; child <= 50; ++child) store->Remove("s", child);
  CHECK(store->cached_children() == 0);
}

TEST_CASE("unreadable entries and leftovers do not stop the store from opening") {
  const std::string dir = FreshTestDir("checkpoint_store_odd");
  REQUIRE(*OpenStore(dir)->Put("s", 1, 1, "state") == 1);
  // A link that loops (checking whether it is a folder fails), and the
  // temporary file of an upload that a crash cut short.
  std::filesystem::create_symlink(dir + "/loop", dir + "/loop");
  {
    std::ofstream left(dir + "/s/2.ckpt.tmp.host.1.00000000deadbeef");
    left << "half";
  }
  auto store = OpenStore(dir);
  CHECK(!std::filesystem::exists(dir + "/s/2.ckpt.tmp.host.1.00000000deadbeef"));
  const auto listed = store->List();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0] == std::make_pair(std::string("s"), int64_t{1}));
}

TEST_CASE("a damaged file is removed only while the path still names it") {
  const std::string dir = FreshTestDir("checkpoint_store_replaced");
  auto store = OpenStore(dir);
  REQUIRE(*store->Put("s", 1, 1, "one") == 1);
  {
    std::fstream file(dir + "/s/1.ckpt",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('!');
  }
  // The damaged file goes; a newer upload afterwards is untouched by it.
  CHECK(absl::IsDataLoss(store->Get("s", 1).status()));
  CHECK(store->Epoch("s", 1) == 0);
  REQUIRE(*store->Put("s", 1, 2, "two") == 2);
  CHECK(store->Get("s", 1)->payload == "two");
}

}  // namespace
}  // namespace amoeba
