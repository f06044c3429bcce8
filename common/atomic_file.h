// Writing a file atomically and durably, and reading one with a bound: the
// one way amoeba replaces a file that must survive a crash (the worker's
// spool, checkpoints on the controller and in shared folders, saved
// models).
//
// WriteFileAtomically writes to a temporary file beside the target, under
// a name no other writer can hold (host, process, thread, a random number;
// created with O_EXCL, so two containers that are both PID 1, or two hosts
// sharing an NFS folder, never write into one file), flushes it (fsync),
// renames it over the target, and flushes the folder. A reader sees the
// old file or the new one, complete, whoever crashes when; on failure the
// target is unchanged and the temporary file is removed.
//
// Thread safety: the functions keep no state; concurrent writers of one
// path each leave a complete file, the last rename wins.
#ifndef AMOEBA_COMMON_ATOMIC_FILE_H_
#define AMOEBA_COMMON_ATOMIC_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace amoeba {

// Creates missing folders. Internal naming the file and the system's error
// when any step fails.
absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view bytes);

// A name beside `path` that no other process, host or thread produces:
// `path` + ".tmp." + host + "." + pid + "." + random hex. Temporary files
// of amoeba all contain ".tmp.", so a folder's listing can skip them.
std::string UniqueTemporaryName(const std::string& path);

// Whether a file name is one of UniqueTemporaryName's.
bool IsTemporaryName(std::string_view name);

// Whether `name` is a temporary file whose writer is gone: one of
// UniqueTemporaryName's, made on this host by a process that no longer
// exists (a crash between create and rename leaves one). A temporary of
// another host, or of a live process, is not: it may be a write in
// progress.
bool IsAbandonedTemporary(std::string_view name);

// Removes the abandoned temporaries directly in `dir`; returns how many.
// 0 for a folder that cannot be listed. REQUIRES: no process of another
// PID namespace with this host name writes into `dir` (it would look gone).
int RemoveAbandonedTemporaries(const std::string& dir);

// Opens UniqueTemporaryName(path) for writing with O_CREAT | O_EXCL;
// returns the descriptor and fills `*temporary`. Internal on failure.
absl::StatusOr<int> CreateTemporaryFile(const std::string& path,
                                        std::string* temporary);

// Writes all of `bytes` to `fd` (EINTR and short writes handled).
absl::Status WriteAll(int fd, std::string_view bytes, const std::string& name);

// Flushes `fd` and closes it, renames `temporary` over `path`, flushes the
// folder; removes `temporary` on any failure. The second half of
// WriteFileAtomically, for writers that stream into the temporary file.
absl::Status CommitTemporaryFile(int fd, const std::string& temporary,
                                 const std::string& path);

// The file's bytes. NotFound when there is no file; ResourceExhausted,
// reading nothing, when it is larger than `max_bytes`; Internal on a read
// error.
absl::StatusOr<std::string> ReadFileUpTo(const std::string& path,
                                         int64_t max_bytes);

}  // namespace amoeba

#endif  // AMOEBA_COMMON_ATOMIC_FILE_H_
