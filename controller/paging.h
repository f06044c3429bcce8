// Paged listings (ListModels, ListWorkers): a page token is the offset this
// server handed out as `next_page_token`, a page size is bounded.
#ifndef AMOEBA_CONTROLLER_PAGING_H_
#define AMOEBA_CONTROLLER_PAGING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {

struct Page {
  int64_t offset = 0;
  int64_t size = 0;
};

// The page `token` and `size` ask for: size 0 means `default_size`.
// InvalidArgument naming the field for a token this server did not hand out
// or a size outside 0..max_size.
inline absl::StatusOr<Page> ParsePage(const std::string& token, int32_t size,
                                      int32_t default_size,
                                      int32_t max_size = 1000) {
  Page page;
  if (!token.empty() && (token.size() > 20 ||
                         !absl::SimpleAtoi(token, &page.offset) ||
                         page.offset < 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_token '", absl::CHexEscape(token.substr(0, 20)),
                     "' is not one this server handed out"));
  }
  if (size < 0 || size > max_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("page_size must be in 0..%d (0 = %d), got %d",
                        max_size, default_size, size));
  }
  page.size = size == 0 ? default_size : size;
  return page;
}

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_PAGING_H_
