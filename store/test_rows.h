// Rows for the store's tests: a child as the controller would write it.
#ifndef AMOEBA_STORE_TEST_ROWS_H_
#define AMOEBA_STORE_TEST_ROWS_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "store/store.h"

namespace amoeba {

// A pending random child `id`: genotype text "genotype ID", fingerprint the
// id in 16 hex digits, created at 1000 + id.
inline ModelRecord TestChild(int64_t id) {
  ModelRecord m;
  m.id = id;
  m.genotype = "genotype " + std::to_string(id);
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof(fingerprint), "%016llx",
                static_cast<unsigned long long>(id));
  m.fingerprint = fingerprint;
  m.mutation = "random";
  m.created_at = 1000.0 + id;
  return m;
}

}  // namespace amoeba

#endif  // AMOEBA_STORE_TEST_ROWS_H_
