#include "worker/data_cache.h"

#include <string>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

using Cache = DataCache<std::string>;

Cache::Loader Make(const std::string& text, int* loads) {
  return [text, loads]() -> absl::StatusOr<Cache::Loaded> {
    ++*loads;
    return Cache::Loaded{std::make_shared<const std::string>(text),
                         static_cast<int64_t>(text.size())};
  };
}

TEST_CASE("Data is loaded once per key and the least recently used leaves") {
  Cache cache(10);
  int loads = 0;
  CHECK(**cache.GetOrLoad("a", Make("aaaa", &loads)) == "aaaa");
  CHECK(**cache.GetOrLoad("b", Make("bbbb", &loads)) == "bbbb");
  CHECK(**cache.GetOrLoad("a", Make("xxxx", &loads)) == "aaaa");  // a hit
  CHECK(loads == 2);
  CHECK(cache.hits() == 1);
  // c does not fit beside both: b, used least recently, goes.
  CHECK(**cache.GetOrLoad("c", Make("cccc", &loads)) == "cccc");
  CHECK(cache.Keys() == std::vector<std::string>{"c", "a"});
  CHECK(cache.Evicted() == std::vector<std::string>{"b"});
  CHECK(cache.bytes() == 8);
  // A value larger than the whole capacity is kept, alone.
  CHECK(**cache.GetOrLoad("big", Make(std::string(20, 'z'), &loads)) ==
        std::string(20, 'z'));
  CHECK(cache.Keys() == std::vector<std::string>{"big"});
  CHECK(cache.bytes() == 20);
}

TEST_CASE("A failed load caches nothing and is retried") {
  Cache cache(100);
  int calls = 0;
  auto failing = [&calls]() -> absl::StatusOr<Cache::Loaded> {
    ++calls;
    return absl::NotFoundError("no such dataset");
  };
  CHECK(cache.GetOrLoad("x", failing).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(cache.GetOrLoad("x", failing).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(calls == 2);
  CHECK(cache.Keys().empty());
}

TEST_CASE("A value in use outlives its eviction") {
  Cache cache(4);
  int loads = 0;
  auto held = *cache.GetOrLoad("a", Make("aaaa", &loads));
  REQUIRE(*cache.GetOrLoad("b", Make("bbbb", &loads)) != nullptr);
  CHECK(cache.Keys() == std::vector<std::string>{"b"});
  CHECK(*held == "aaaa");
}

}  // namespace
}  // namespace amoeba
