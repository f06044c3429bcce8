#include "cli/genotype_command.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/genotype_input.h"
#include "common/rng.h"
#include "gflags/gflags.h"
#include "genotype/dot.h"
#include "genotype/fingerprint.h"
#include "genotype/known_cells.h"
#include "genotype/mutation.h"
#include "genotype/text.h"

DEFINE_uint64(seed, 0,
              "random seed for `genotype random|mutate`; 0 picks one from the "
              "clock and prints it to stderr so the run can be replayed");
DEFINE_int32(count, 1, "how many genotypes `genotype random` prints");
DEFINE_int32(steps, 1,
             "how many mutations `genotype mutate` chains (each prints the "
             "child it made)");
DEFINE_string(cell, "both", "`genotype dot`: normal, reduction or both");
DEFINE_string(format, "",
              "`genotype dot`: dot or svg (default: from --output's "
              "extension, else dot)");
DEFINE_string(output, "", "`genotype dot`: file to write (default: stdout)");

namespace amoeba {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;

uint64_t SeedFromFlagOrClock(const char* command) {
  if (FLAGS_seed != 0) return FLAGS_seed;
  const uint64_t seed = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count()) ^
      static_cast<uint64_t>(
          std::chrono::system_clock::now().time_since_epoch().count());
  const uint64_t nonzero = seed == 0 ? 1 : seed;
  std::cerr << command << ": --seed=" << nonzero << "\n";
  return nonzero;
}

int Random() {
  if (FLAGS_count < 0) {
    std::cerr << "genotype random: --count must be >= 0, got " << FLAGS_count
              << "\n";
    return kExitUsage;
  }
  Rng rng(SeedFromFlagOrClock("genotype random"));
  for (int i = 0; i < FLAGS_count; ++i) {
    std::cout << FormatGenotype(RandomGenotype(rng)) << "\n";
  }
  return kExitOk;
}

// Applies `fn` to every genotype named by the arguments (or stdin lines).
// Invalid ones are reported on stderr with where they came from.
template <typename Fn>
int ForEachGenotype(const std::string& command,
                    const std::vector<std::string>& args, Fn fn) {
  int exit_code = kExitOk;
  const int64_t visited = ForEachGenotypeSource(
      args, std::cin, [&](const GenotypeSource& source) {
        const auto genotype = source.error.empty()
                                  ? GenotypeFromArgument(source.text)
                                  : absl::InvalidArgumentError(source.error);
        if (!genotype.ok()) {
          std::cerr << command << ": " << source.where << ": "
                    << genotype.status().message() << "\n";
          exit_code = kExitInvalid;
          return;
        }
        const int code = fn(*genotype);
        if (code != kExitOk) exit_code = code;
      });
  if (visited == 0) {
    std::cerr << command
              << ": no genotype given (pass one as an argument or on stdin)\n";
    return kExitUsage;
  }
  return exit_code;
}

int Mutate(const std::vector<std::string>& args) {
  if (FLAGS_steps < 1) {
    std::cerr << "genotype mutate: --steps must be >= 1, got " << FLAGS_steps
              << "\n";
    return kExitUsage;
  }
  Rng rng(SeedFromFlagOrClock("genotype mutate"));
  return ForEachGenotype("genotype mutate", args, [&](const Genotype& parent) {
    Genotype current = parent;
    for (int step = 0; step < FLAGS_steps; ++step) {
      const auto result = amoeba::Mutate(current, rng);
      if (!result.ok()) {
        std::cerr << "genotype mutate: " << result.status().message() << "\n";
        return kExitInvalid;
      }
      std::cerr << "mutation " << step + 1 << ": "
                << result->mutation.Describe() << "\n";
      std::cout << FormatGenotype(result->child) << "\n";
      current = result->child;
    }
    return kExitOk;
  });
}

void ShowCell(const Cell& cell, CellType type) {
  std::cout << CellTypeName(type) << " cell (output: concat of states "
            << absl::StrJoin(OutputStateList(cell), ", ")
            << (cell.concat.empty() ? ", the unused ones" : ", as listed")
            << ")\n";
  for (int c = 0; c < kNumCombinations; ++c) {
    std::cout << absl::StrFormat(
        "  state %d = %s(state %d) + %s(state %d)\n", c + kNumCellInputs,
        OpName(cell.ops[2 * c]), cell.inputs[2 * c],
        OpName(cell.ops[2 * c + 1]), cell.inputs[2 * c + 1]);
  }
}

int Show(const std::vector<std::string>& args) {
  return ForEachGenotype("genotype show", args, [](const Genotype& g) {
    std::cout << "fingerprint  " << FingerprintHex(Fingerprint(g)) << "\n"
              << "text         " << FormatGenotype(g) << "\n"
              << "canonical    " << CanonicalText(g) << "\n";
    ShowCell(g.normal, CellType::kNormal);
    ShowCell(g.reduction, CellType::kReduction);
    std::cout << "\n";
    return kExitOk;
  });
}

int Validate(const std::vector<std::string>& args) {
  int valid = 0;
  const int code =
      ForEachGenotype("genotype validate", args, [&](const Genotype& g) {
        std::cout << "ok " << FingerprintHex(Fingerprint(g)) << "\n";
        ++valid;
        return kExitOk;
      });
  if (code == kExitInvalid) {
    std::cerr << "genotype validate: " << valid << " valid, some invalid\n";
  }
  return code;
}

absl::Status WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Runs graphviz to turn DOT into SVG.
absl::Status DotToSvg(const std::string& dot, const std::string& output) {
  const std::string dot_path = output + ".dot.tmp";
  if (auto s = WriteFile(dot_path, dot); !s.ok()) return s;
  const std::string command = absl::StrCat("dot -Tsvg -o '", output, "' '",
                                           dot_path, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  std::string messages;
  if (pipe != nullptr) {
    char buffer[256];
    while (fgets(buffer, sizeof(buffer), pipe) != nullptr) messages += buffer;
  }
  const int status = pipe == nullptr ? -1 : pclose(pipe);
  std::remove(dot_path.c_str());
  if (status != 0) {
    return absl::UnavailableError(absl::StrCat(
        "graphviz 'dot' failed (is the graphviz package installed? "
        "deploy/install_deps.sh installs it; --format=dot needs no graphviz)",
        messages.empty() ? "" : ": ", messages));
  }
  return absl::OkStatus();
}

int Dot(const std::vector<std::string>& args) {
  std::string format = FLAGS_format;
  if (format.empty()) {
    format = absl::EndsWith(FLAGS_output, ".svg") ? "svg" : "dot";
  }
  if (format != "dot" && format != "svg") {
    std::cerr << "genotype dot: --format must be dot or svg, got '" << format
              << "'\n";
    return kExitUsage;
  }
  if (format == "svg" && FLAGS_output.empty()) {
    std::cerr << "genotype dot: --format=svg needs --output=FILE.svg\n";
    return kExitUsage;
  }
  if (FLAGS_cell != "both" && FLAGS_cell != "normal" &&
      FLAGS_cell != "reduction") {
    std::cerr << "genotype dot: --cell must be normal, reduction or both, got '"
              << FLAGS_cell << "'\n";
    return kExitUsage;
  }
  if (args.size() > 1) {
    std::cerr << "genotype dot: draws one genotype, got " << args.size()
              << "\n";
    return kExitUsage;
  }
  int drawn = 0;
  const int code = ForEachGenotype("genotype dot", args, [&](const Genotype& g) {
    if (++drawn > 1) {
      std::cerr << "genotype dot: draws one genotype; ignoring the rest\n";
      return kExitUsage;
    }
    std::string dot;
    if (FLAGS_cell == "normal") {
      dot = CellToDot(g.normal, CellType::kNormal);
    } else if (FLAGS_cell == "reduction") {
      dot = CellToDot(g.reduction, CellType::kReduction);
    } else {
      dot = GenotypeToDot(g);
    }
    if (FLAGS_output.empty()) {
      std::cout << dot;
      return kExitOk;
    }
    const absl::Status written = format == "svg"
                                     ? DotToSvg(dot, FLAGS_output)
                                     : WriteFile(FLAGS_output, dot);
    if (!written.ok()) {
      std::cerr << "genotype dot: " << written.message() << "\n";
      return kExitEnvironment;
    }
    std::cerr << "wrote " << FLAGS_output << "\n";
    return kExitOk;
  });
  return code;
}

int Known() {
  for (const std::string& name : KnownGenotypeNames()) {
    std::cout << name << "\t" << FormatGenotype(KnownGenotype(name).value())
              << "\n";
  }
  return kExitOk;
}

}  // namespace

std::string GenotypeUsage() {
  return R"(usage: amoeba genotype COMMAND [flags] [GENOTYPE...]

A GENOTYPE is a published name (amoebanet-a, nasnet-a), a text
('normal: OP(IN)+OP(IN) x5 [concat(S,...)]; reduction: ...'), or a file
holding one. With no GENOTYPE (or '-'), every non-empty line of stdin is one.

commands:
  random    [--seed=S] [--count=K]        print K random genotypes
  mutate    [--seed=S] [--steps=K] [G]    print K chained mutations of G
                                          (what changed goes to stderr)
  show      [G...]                        fingerprint, canonical text, cells
  validate  [G...]                        'ok FINGERPRINT' per valid genotype
  dot       [--cell=normal|reduction|both] [--output=F.svg|F.dot] [G]
                                          Graphviz drawing (SVG needs graphviz)
  known                                   the published genotypes

exit codes: 0 ok, 1 invalid genotype, 2 usage error, 3 environment error
)";
}

int RunGenotypeCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << GenotypeUsage();
    return kExitUsage;
  }
  const std::string& command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "random") {
    if (!rest.empty()) {
      std::cerr << "genotype random: takes no arguments, got '" << rest[0]
                << "'\n";
      return kExitUsage;
    }
    return Random();
  }
  if (command == "mutate") return Mutate(rest);
  if (command == "show") return Show(rest);
  if (command == "validate") return Validate(rest);
  if (command == "dot") return Dot(rest);
  if (command == "known") return Known();
  if (command == "help") {
    std::cout << GenotypeUsage();
    return kExitOk;
  }
  std::cerr << "amoeba genotype: unknown command '" << command << "'\n\n"
            << GenotypeUsage();
  return kExitUsage;
}

}  // namespace amoeba
