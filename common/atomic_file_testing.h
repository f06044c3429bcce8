// For tests of code that cleans up after crashed writers: the temporary
// file a writer leaves when it dies between creating and renaming it.
#ifndef AMOEBA_COMMON_ATOMIC_FILE_TESTING_H_
#define AMOEBA_COMMON_ATOMIC_FILE_TESTING_H_

#include <string>

namespace amoeba {

// Runs a child process that creates the temporary file of `path` (as
// WriteFileAtomically would, via CreateTemporaryFile), writes into it and
// exits without renaming it. Returns the temporary's path; "" when the child
// failed to leave one.
std::string TemporaryOfExitedWriter(const std::string& path);

}  // namespace amoeba

#endif  // AMOEBA_COMMON_ATOMIC_FILE_TESTING_H_
