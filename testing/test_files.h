// Scratch files for tests, under Bazel's per-test TEST_TMPDIR (/tmp when a
// test binary is run by hand). Failures throw std::filesystem errors, which
// Catch2 reports as a failed test case.
#ifndef AMOEBA_TESTING_TEST_FILES_H_
#define AMOEBA_TESTING_TEST_FILES_H_

#include <string>

namespace amoeba {

// The scratch directory itself.
std::string TestTempDir();

// TestTempDir()/name; nothing is created or removed.
std::string TestTempPath(const std::string& name);

// TestTempDir()/name with any SQLite database of that name (and its -wal and
// -shm files) removed, so each test starts from a new store.
std::string FreshSqlitePath(const std::string& name);

// TestTempDir()/name as a new, empty directory.
std::string FreshTestDir(const std::string& name);

// `bytes` into `path`, creating its folders.
void WriteTestFile(const std::string& path, const std::string& bytes);

// The whole file; empty when it cannot be read.
std::string ReadWholeFile(const std::string& path);

}  // namespace amoeba

#endif  // AMOEBA_TESTING_TEST_FILES_H_
