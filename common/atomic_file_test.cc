#include "common/atomic_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "common/atomic_file_testing.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  return names;
}

TEST_CASE("a file is replaced whole and nothing is left beside it") {
  const std::string dir = FreshTestDir("atomic_file");
  const std::string path = dir + "/a/b/file";
  REQUIRE(absl::IsNotFound(ReadFileUpTo(path, 100).status()));
  REQUIRE(WriteFileAtomically(path, "one").ok());
  REQUIRE(WriteFileAtomically(path, "second").ok());
  auto read = ReadFileUpTo(path, 100);
  REQUIRE(read.ok());
  CHECK(*read == "second");
  CHECK(Names(dir + "/a/b") == std::vector<std::string>{"file"});
  auto large = ReadFileUpTo(path, 5);
  CHECK(absl::IsResourceExhausted(large.status()));
  CHECK_THAT(std::string(large.status().message()),
             Catch::Contains("6 bytes, more than the limit of 5"));
  // A folder in the way: an error naming the target, no temporary left.
  std::filesystem::create_directories(dir + "/c/target");
  std::filesystem::create_directories(dir + "/c/target/inside");
  const absl::Status blocked = WriteFileAtomically(dir + "/c/target", "x");
  CHECK(absl::IsInternal(blocked));
  CHECK_THAT(std::string(blocked.message()), Catch::Contains("c/target"));
  CHECK(Names(dir + "/c") == std::vector<std::string>{"target"});
}

TEST_CASE("temporary names differ per call and are recognised") {
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) names.insert(UniqueTemporaryName("/x/f"));
  CHECK(names.size() == 1000);
  CHECK(IsTemporaryName(*names.begin()));
  CHECK_FALSE(IsTemporaryName("7.ckpt"));
}

TEST_CASE("concurrent writers of one path each succeed and leave one whole file") {
  // Threads of one process share its PID, as two containers that are both
  // PID 1 share a name built from it: each writer needs a file of its own.
  const std::string dir = FreshTestDir("atomic_file_race");
  const std::string path = dir + "/shared";
  constexpr int kThreads = 6;
  constexpr int kWrites = 40;
  std::vector<std::string> contents;
  for (int t = 0; t < kThreads; ++t) {
    contents.push_back(std::string(4096 + 512 * t, static_cast<char>('a' + t)));
  }
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        if (!WriteFileAtomically(path, contents[t]).ok()) ++failures[t];
        auto read = ReadFileUpTo(path, 1 << 20);
        if (!read.ok() ||
            std::find(contents.begin(), contents.end(), *read) == contents.end()) {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == std::vector<int>(kThreads, 0));
  CHECK(Names(dir) == std::vector<std::string>{"shared"});
}

TEST_CASE("temporaries of writers that are gone are removed, no others") {
  const std::string dir = FreshTestDir("abandoned");
  const std::string mine = UniqueTemporaryName(dir + "/a.result");
  std::ofstream(mine) << "partial";
  const std::string gone = TemporaryOfExitedWriter(dir + "/b.result");
  REQUIRE(!gone.empty());
  // The same writer's name with another host in it: that host's process
  // cannot be seen from here, so its file stays.
  const size_t host_at = gone.rfind(".tmp.") + 5;
  const std::string other_host =
      dir + "/c.result.tmp.elsewhere" + gone.substr(gone.find('.', host_at));
  std::ofstream(other_host) << "partial";
  std::ofstream(dir + "/d.result") << "whole";
  CHECK_FALSE(IsAbandonedTemporary(mine));  // this process is alive
  CHECK(IsAbandonedTemporary(gone));
  CHECK_FALSE(IsAbandonedTemporary(other_host));  // cannot tell: kept
  CHECK_FALSE(IsAbandonedTemporary(dir + "/d.result"));
  CHECK_FALSE(IsAbandonedTemporary(dir + "/e.tmp.not-a-pid.x"));
  CHECK(RemoveAbandonedTemporaries(dir) == 1);
  CHECK_FALSE(std::filesystem::exists(gone));
  CHECK(std::filesystem::exists(mine));
  CHECK(std::filesystem::exists(other_host));
  CHECK(std::filesystem::exists(dir + "/d.result"));
  CHECK(RemoveAbandonedTemporaries(dir + "/missing") == 0);
}

}  // namespace
}  // namespace amoeba
