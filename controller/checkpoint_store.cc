#include "controller/checkpoint_store.h"

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace amoeba {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(
    const Options& options) {
  if (options.dir.empty() || options.max_bytes < 1) {
    return absl::InvalidArgumentError(
        "checkpoint folder must be named and the size limit >= 1 byte");
  }
  std::error_code error;
  fs::create_directories(options.dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot create checkpoint folder ", options.dir, ": ", error.message()));
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(options));
}

std::string CheckpointStore::PathOf(const std::string& search_id,
                                    int64_t child) const {
  // Search ids are letters, digits, '.', '_' and '-' (never '..' alone:
  // ValidateSearchName), so they are safe as folder names.
  return absl::StrCat(options_.dir, "/", search_id, "/", child, ".ckpt");
}

int CheckpointStore::EpochLocked(const std::string& search_id, int64_t child) {
  auto key = std::make_pair(search_id, child);
  auto it = epochs_.find(key);
  if (it != epochs_.end()) return it->second;
  absl::StatusOr<int> epoch = ReadCheckpointEpoch(PathOf(search_id, child));
  const int known = epoch.ok() ? *epoch : 0;
  epochs_[key] = known;
  return known;
}

absl::StatusOr<int> CheckpointStore::Put(const std::string& search_id,
                                         int64_t child, int epoch,
                                         std::string_view payload) {
  if (static_cast<int64_t>(payload.size()) > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "checkpoint of %d bytes is larger than the limit of %d "
        "(--max_checkpoint_bytes)",
        payload.size(), options_.max_bytes));
  }
  absl::MutexLock lock(&mu_);
  const int kept = EpochLocked(search_id, child);
  if (epoch <= kept) return kept;
  const absl::Status written =
      WriteFileAtomically(PathOf(search_id, child), EncodeCheckpoint(epoch, payload));
  if (!written.ok()) return written;
  epochs_[{search_id, child}] = epoch;
  return epoch;
}

int CheckpointStore::Epoch(const std::string& search_id, int64_t child) {
  absl::MutexLock lock(&mu_);
  return EpochLocked(search_id, child);
}

absl::StatusOr<CheckpointData> CheckpointStore::Get(const std::string& search_id,
                                                    int64_t child) {
  absl::MutexLock lock(&mu_);
  const std::string path = PathOf(search_id, child);
  // The header's size is checked against the file by DecodeCheckpoint; the
  // limit here only bounds what is read into memory.
  absl::StatusOr<CheckpointData> data =
      ReadCheckpointFile(path, options_.max_bytes + 64);
  if (absl::IsDataLoss(data.status())) {
    LOG(WARNING) << "removing damaged checkpoint: " << data.status().message();
    std::error_code ignored;
    fs::remove(path, ignored);
    epochs_[{search_id, child}] = 0;
  }
  return data;
}

void CheckpointStore::Remove(const std::string& search_id, int64_t child) {
  absl::MutexLock lock(&mu_);
  std::error_code ignored;
  if (fs::remove(PathOf(search_id, child), ignored)) {
    VLOG(1) << "checkpoint of " << search_id << " child " << child
            << " removed";
  }
  epochs_[{search_id, child}] = 0;
}

std::vector<std::pair<std::string, int64_t>> CheckpointStore::List() {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, int64_t>> found;
  std::error_code error;
  for (const auto& search : fs::directory_iterator(options_.dir, error)) {
    if (!search.is_directory()) continue;
    std::error_code inner;
    for (const auto& file : fs::directory_iterator(search.path(), inner)) {
      const std::string filename = file.path().filename().string();
      absl::string_view name = filename;
      int64_t child = 0;
      if (absl::ConsumeSuffix(&name, ".ckpt") &&
          absl::SimpleAtoi(name, &child)) {
        found.emplace_back(search.path().filename().string(), child);
      }
    }
  }
  return found;
}

}  // namespace amoeba
