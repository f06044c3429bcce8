// Where a worker or `amoeba train` finds each dataset. Without LibTorch, so
// that the worker's daemon and its tests need not parse the trainer.
#ifndef AMOEBA_SETTINGS_DATA_DIRS_H_
#define AMOEBA_SETTINGS_DATA_DIRS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace amoeba {

// Dataset folders by dataset name (fashion_mnist, cifar10); the key ""
// applies to every dataset not named.
using DataDirs = std::map<std::string, std::string>;

// `spec` as the worker's --data_dir takes it: "" (each dataset's default
// folder), a folder (for every dataset), or "NAME=FOLDER,NAME=FOLDER" (a
// worker serving searches of several datasets). InvalidArgument naming an
// unknown dataset or a malformed entry.
absl::StatusOr<DataDirs> ParseDataDirs(const std::string& spec);

}  // namespace amoeba

#endif  // AMOEBA_SETTINGS_DATA_DIRS_H_
