// Child processes for multi-process tests: the binaries' paths; start a
// binary with arguments and a log file, signal it, wait for it with a
// deadline; run a command line; wait for a controller's port file.
#ifndef AMOEBA_TESTS_PROCESS_H_
#define AMOEBA_TESTS_PROCESS_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_files.h"

namespace amoeba {

// The binaries under test, as paths in the test's runfiles (Bazel data).
inline constexpr char kController[] = "controller/amoeba-controller";
inline constexpr char kWorker[] = "worker/amoeba-worker";
inline constexpr char kAmoeba[] = "cli/amoeba";

class Process {
 public:
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = freopen(log_path.c_str(), "a", stderr);
      (void)log;
      dup2(fileno(stderr), fileno(stdout));
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Process() {
    if (running()) {
      Signal(SIGKILL);
      Wait(std::chrono::seconds(10));
    }
  }

  void Signal(int signal) {
    if (pid_ > 0 && !exit_status_) kill(pid_, signal);
  }

  pid_t pid() const { return pid_; }

  bool running() {
    Poll();
    return pid_ > 0 && !exit_status_;
  }

  // The wait status, or nullopt if still running after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_status_;
  }

 private:
  void Poll() {
    if (pid_ <= 0 || exit_status_) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) exit_status_ = status;
  }

  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// Runs a shell command line with stdout and stderr to `log`; its exit
// status, or -1 when it did not exit normally.
inline int RunLogged(const std::string& command_line, const std::string& log) {
  const int status =
      std::system((command_line + " > '" + log + "' 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The port a controller wrote to `port_file` (--port_file), waiting up to
// 60 s for it (a loaded machine can take seconds to start a process); 0 when
// it never came. The controller writes the file only once it is serving.
inline int WaitForPortFile(const std::string& port_file) {
  for (int i = 0; i < 1200; ++i) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

// Waits until `file` contains `text`, at most `timeout` (polled every
// 50 ms).
inline bool WaitFileContains(const std::string& file, const std::string& text,
                             std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ReadWholeFile(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace amoeba

#endif  // AMOEBA_TESTS_PROCESS_H_
