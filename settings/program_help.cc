#include "settings/program_help.h"

#include <algorithm>
#include <iostream>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"

namespace amoeba {

std::string ProgramHelp(const std::string& usage,
                        const std::vector<std::string>& own_files) {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::sort(flags.begin(), flags.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string text = absl::StrCat(usage, "\n\nflags:\n");
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    const bool own = std::any_of(
        own_files.begin(), own_files.end(), [&](const std::string& file) {
          return absl::EndsWith(flag.filename, file);
        });
    if (!own) continue;
    const std::string value = flag.type == "string"
                                  ? absl::StrCat("\"", flag.default_value, "\"")
                                  : flag.default_value;
    absl::StrAppend(&text, "  --", flag.name, " (", flag.description,
                    ") type: ", flag.type, " default: ", value, "\n");
  }
  absl::StrAppend(&text,
                  "\nlogging flags (glog: --v, --vmodule, --log_dir, ...) and "
                  "the rest: --helpfull\n");
  return text;
}

bool IsHelpFlag(std::string_view arg) {
  return arg == "--help" || arg == "-help" || arg == "--helpshort" ||
         arg == "-helpshort" || arg == "-h" || arg == "--h";
}

bool PrintHelpIfAsked(int argc, char** argv, const std::string& usage,
                      const std::vector<std::string>& own_files) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (IsHelpFlag(arg)) {
      std::cout << ProgramHelp(usage, own_files);
      return true;
    }
  }
  return false;
}

}  // namespace amoeba
