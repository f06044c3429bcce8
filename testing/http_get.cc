#include "testing/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace amoeba {

absl::StatusOr<HttpResponse> HttpGet(int port, const std::string& path,
                                     double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(timeout_s);
  auto ms_left = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  };
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string where = absl::StrCat("127.0.0.1:", port, path);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", where));
  }
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, ms_left()) != 1) {
    return absl::UnavailableError(absl::StrCat("no connection to ", where));
  }
  int error = 0;
  socklen_t length = sizeof(error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", where));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    p = {fd, POLLOUT, 0};
    if (poll(&p, 1, ms_left()) != 1) {
      return absl::UnavailableError(absl::StrCat("timed out sending to ", where));
    }
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent,
                           MSG_NOSIGNAL);
    if (n <= 0 && errno != EAGAIN) {
      return absl::UnavailableError(absl::StrCat("send to ", where, " failed"));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buffer[16384];
  while (true) {  // until the server closes (HTTP/1.0) or the deadline
    p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms_left()) != 1) {
      return absl::UnavailableError(absl::StrCat("timed out reading ", where));
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("reading ", where, " failed"));
    }
    answer.append(buffer, static_cast<size_t>(n));
  }
  const size_t space = answer.find(' ');
  const size_t end = answer.find("\r\n\r\n");
  HttpResponse response;
  if (answer.rfind("HTTP/", 0) != 0 || space == std::string::npos ||
      end == std::string::npos ||
      !absl::SimpleAtoi(answer.substr(space + 1, 3), &response.status)) {
    return absl::InternalError(absl::StrCat("not an HTTP answer from ", where));
  }
  response.body = answer.substr(end + 4);
  return response;
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace amoeba
