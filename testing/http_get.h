// A blocking HTTP/1.0 GET for tests: the metrics endpoints and Prometheus'
// query API on loopback. No redirects, no TLS, no chunked bodies.
#ifndef AMOEBA_TESTING_HTTP_GET_H_
#define AMOEBA_TESTING_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"

namespace amoeba {

struct HttpResponse {
  int status = 0;    // e.g. 200
  std::string body;  // after the headers
};

// GET http://127.0.0.1:`port``path` (path with its query, already
// URL-encoded). Unavailable when nothing answers within `timeout_s`
// (connect and read together); Internal for an unreadable answer.
absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& path,
                                     double timeout_s = 5);

// `text` with every byte outside [A-Za-z0-9-_.~] as %XX (a query value).
std::string UrlEncode(const std::string& text);

}  // namespace amoeba

#endif  // AMOEBA_TESTING_HTTP_GET_H_
