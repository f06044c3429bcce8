// `--help` of the daemons: the program's own flags first, instead of
// gflags' listing, which sorts by source file and so opens with glog's
// logging flags. Logging flags are still there with --helpfull.
#ifndef AMOEBA_SETTINGS_PROGRAM_HELP_H_
#define AMOEBA_SETTINGS_PROGRAM_HELP_H_

#include <string>
#include <string_view>
#include <vector>

namespace amoeba {

// `usage`, then every flag defined in a source file whose path ends with
// one of `own_files` (e.g. "controller/controller_main.cc"), by name, with
// its type, default and help, then a line naming --helpfull.
std::string ProgramHelp(const std::string& usage,
                        const std::vector<std::string>& own_files);

// Whether `arg` asks for a program's own help: --help, -help, --helpshort,
// -helpshort, -h or --h (--helpfull and gflags' other help flags are not).
bool IsHelpFlag(std::string_view arg);

// Prints ProgramHelp to stdout and returns true when argv asks for help
// (--help, -help, --helpshort, -h); --helpfull and the other gflags help
// flags are left to gflags. Call before gflags::ParseCommandLineFlags.
bool PrintHelpIfAsked(int argc, char** argv, const std::string& usage,
                      const std::vector<std::string>& own_files);

}  // namespace amoeba

#endif  // AMOEBA_SETTINGS_PROGRAM_HELP_H_
