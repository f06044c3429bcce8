// Child processes for multi-process tests: start a binary with arguments and
// a log file, signal it, wait for it with a deadline.
#ifndef AMOEBA_TESTS_PROCESS_H_
#define AMOEBA_TESTS_PROCESS_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace amoeba {

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

}  // namespace amoeba

#endif  // AMOEBA_TESTS_PROCESS_H_
