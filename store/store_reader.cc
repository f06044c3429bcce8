#include "store/store_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "store/search_store.h"

namespace amoeba {

StoreReader::StoreReader(std::unique_ptr<Store> store)
    : store_(std::move(store)) {}

absl::StatusOr<std::unique_ptr<StoreReader>> StoreReader::Open(
    const std::string& path) {
  auto store = Store::OpenReadOnly(path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<StoreReader>(new StoreReader(std::move(*store)));
}

absl::StatusOr<std::vector<StoredSearch>> StoreReader::Searches() {
  return store_->ListSearches();
}

absl::StatusOr<StoredSearch> StoreReader::FindSearch(const std::string& name) {
  return store_->FindSearch(name);
}

absl::StatusOr<v1::SearchConfig> StoreReader::Config(
    const StoredSearch& search) {
  v1::SearchConfig config;
  if (!google::protobuf::util::JsonStringToMessage(search.config, &config)
           .ok()) {
    return absl::DataLossError(
        absl::StrCat("search ", search.name, ": its stored config does not parse"));
  }
  return config;
}

absl::StatusOr<std::vector<ModelRecord>> StoreReader::Children(
    const StoredSearch& search) {
  return store_->OpenSearch(search)->LoadModels();
}

absl::StatusOr<std::vector<ModelRecord>> StoreReader::FinishedChildren(
    const StoredSearch& search) {
  return store_->OpenSearch(search)->QueryModels("state = 'done'",
                                                 "completion_seq", -1, 0);
}

absl::StatusOr<std::vector<HurdleReport>> StoreReader::HurdleReports(
    const StoredSearch& search) {
  return store_->OpenSearch(search)->LoadHurdleReports();
}

absl::StatusOr<std::vector<std::string>> StoreReader::Check(size_t limit) {
  return store_->Check(limit);
}

}  // namespace amoeba
