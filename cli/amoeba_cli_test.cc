// Runs the `amoeba` binary the way a person does and checks what it prints
// and its exit codes.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "catch2/catch.hpp"
#include "testing/test_files.h"

namespace {

using amoeba::ReadWholeFile;
using amoeba::TestTempDir;

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

// Runs the shell command line `command_line` with `input` on stdin.
Result RunShell(const std::string& command_line, const std::string& input = "") {
  const std::string dir = TestTempDir();
  {
    std::ofstream(dir + "/stdin.txt") << input;
  }
  const std::string command = command_line + " < " + dir +
                              "/stdin.txt > " + dir + "/stdout.txt 2> " + dir +
                              "/stderr.txt";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return {WEXITSTATUS(status), ReadWholeFile(dir + "/stdout.txt"),
          ReadWholeFile(dir + "/stderr.txt")};
}

// Runs `cli/amoeba ARGS` with `input` on stdin.
Result Run(const std::string& args, const std::string& input = "") {
  return RunShell("cli/amoeba " + args, input);
}

int CountLines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

TEST_CASE("random is deterministic for a seed and prints valid genotypes") {
  const Result a = Run("genotype random --seed=5 --count=3");
  const Result b = Run("genotype random --seed=5 --count=3");
  REQUIRE(a.exit_code == 0);
  CHECK(a.out == b.out);
  CHECK(CountLines(a.out) == 3);
  const Result validated = Run("genotype validate", a.out);
  CHECK(validated.exit_code == 0);
  CHECK(CountLines(validated.out) == 3);
  CHECK(validated.out.rfind("ok ", 0) == 0);
  CHECK(Run("genotype random --seed=6 --count=3").out != a.out);
}

TEST_CASE("random without a seed prints the seed it picked") {
  const Result r = Run("genotype random");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("--seed="));
}

TEST_CASE("validate reports each bad line with where it came from") {
  const Result r = Run("genotype validate",
                       "amoebanet-a\n# a comment\n\nnormal: none(0)\n");
  CHECK(r.exit_code == 1);
  CHECK(CountLines(r.out) == 1);
  CHECK_THAT(r.err, Catch::Contains("stdin line 4") &&
                        Catch::Contains("expected '+' between"));
}

TEST_CASE("validate takes arguments and files") {
  const std::string path = TestTempDir() + "/nasnet.txt";
  const Result shown = Run("genotype known");
  REQUIRE(shown.exit_code == 0);
  const std::string nasnet_line = shown.out.substr(shown.out.find("nasnet-a"));
  std::ofstream(path) << "# NASNet-A\n"
                      << nasnet_line.substr(nasnet_line.find('\t') + 1);
  const Result r = Run("genotype validate nasnet-a " + path);
  CHECK(r.exit_code == 0);
  REQUIRE(CountLines(r.out) == 2);
  CHECK(r.out.substr(0, r.out.find('\n')) ==
        r.out.substr(r.out.find('\n') + 1, r.out.find('\n')));

  const Result missing = Run("genotype validate no-such-thing");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("'no-such-thing' is neither"));
}

TEST_CASE("mutate chains and says what changed") {
  const Result r = Run("genotype mutate --seed=3 --steps=4 amoebanet-a");
  REQUIRE(r.exit_code == 0);
  CHECK(CountLines(r.out) == 4);
  CHECK(CountLines(r.err) == 4);
  CHECK_THAT(r.err, Catch::Contains("mutation 1: "));
  CHECK(Run("genotype validate", r.out).exit_code == 0);
  CHECK(Run("genotype mutate --seed=3 --steps=4 amoebanet-a").out == r.out);
  CHECK(Run("genotype mutate --steps=0 amoebanet-a").exit_code == 2);
}

TEST_CASE("show prints fingerprint, canonical text and cells") {
  const Result r = Run("genotype show amoebanet-a");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("fingerprint  353f1cfe8196c311"));
  CHECK_THAT(r.out, Catch::Contains("state 6 = avg_pool_3x3(state 5) + "
                                    "sep_conv_3x3(state 0)"));
  CHECK_THAT(r.out, Catch::Contains("concat of states 1, 3, 4, 6, as listed"));
}

TEST_CASE("dot writes DOT and SVG") {
  const Result dot = Run("genotype dot --cell=normal nasnet-a");
  REQUIRE(dot.exit_code == 0);
  CHECK(dot.out.rfind("digraph normal_cell {", 0) == 0);

  const std::string svg = TestTempDir() + "/g.svg";
  const Result r = Run("genotype dot --output=" + svg + " amoebanet-a");
  REQUIRE(r.exit_code == 0);
  const std::string content = ReadWholeFile(svg);
  CHECK_THAT(content, Catch::Contains("<svg"));
  CHECK_THAT(content, Catch::Contains("sep_conv_5x5"));
  CHECK_THAT(content, Catch::Contains("reduction cell"));

  CHECK(Run("genotype dot --format=png amoebanet-a").exit_code == 2);
  CHECK(Run("genotype dot --cell=middle amoebanet-a").exit_code == 2);
}

TEST_CASE("usage errors exit 2 with a message") {
  const Result none = Run("");
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.out, Catch::Contains("usage: amoeba"));
  const Result group = Run("frobnicate");
  CHECK(group.exit_code == 2);
  CHECK_THAT(group.err, Catch::Contains("unknown group 'frobnicate'"));
  const Result command = Run("genotype frobnicate");
  CHECK(command.exit_code == 2);
  CHECK_THAT(command.err, Catch::Contains("unknown command 'frobnicate'"));
  CHECK(Run("genotype validate", "").exit_code == 2);
  CHECK(Run("genotype random --count=-1").exit_code == 2);
}

TEST_CASE("every group answers help and --help with its own usage only") {
  for (const std::string group :
       {"genotype", "train", "evaluate", "recipe", "status", "pause", "resume",
        "stop", "report", "export", "store"}) {
    for (const std::string help : {" help", " --help"}) {
      const Result r = Run(group + help);
      INFO(group + help);
      CHECK(r.exit_code == 0);
      CHECK(r.out.find("usage: amoeba") == 0);
      CHECK(r.out.find("caffe2") == std::string::npos);
      CHECK(r.out.size() < 4000);
    }
  }
}

TEST_CASE("amoeba loads no LibTorch; train needs amoeba-train and says so") {
  const Result libs = RunShell("ldd cli/amoeba");
  REQUIRE(libs.exit_code == 0);
  CHECK(libs.out.find("libc.so") != std::string::npos);  // a real listing
  CHECK(libs.out.find("libtorch") == std::string::npos);
  CHECK(libs.out.find("libc10") == std::string::npos);

  // amoeba alone in a folder, and nothing on PATH.
  const std::string dir = TestTempDir() + "/alone";
  std::filesystem::create_directories(dir + "/empty");
  std::filesystem::copy_file("cli/amoeba", dir + "/amoeba");
  const std::string alone = "PATH=" + dir + "/empty " + dir + "/amoeba ";
  CHECK(RunShell(alone + "genotype show amoebanet-a").exit_code == 0);
  const Result train = RunShell(alone + "train --epochs=1 amoebanet-a");
  CHECK(train.exit_code == 3);
  CHECK_THAT(train.err, Catch::Contains("`amoeba train` needs amoeba-train"));
  CHECK_THAT(train.err, Catch::Contains(dir + "/amoeba-train"));
  CHECK(RunShell(alone + "evaluate model.pt").exit_code == 3);
}

TEST_CASE("recipe lists the presets and shows each value with its source") {
  const Result list = Run("recipe list");
  CHECK(list.exit_code == 0);
  for (const char* name :
       {"search ", "paper-search ", "cifar-final ", "imagenet ", "imagenet-final "}) {
    CHECK_THAT(list.out, Catch::Contains(name));
  }
  const Result show = Run("recipe show cifar-final");
  CHECK(show.exit_code == 0);
  CHECK_THAT(show.out, Catch::Contains("--F=36"));
  CHECK_THAT(show.out, Catch::Contains("--cutout=16    # "));
  const Result unknown = Run("recipe show cifar-100");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown recipe 'cifar-100'; known: search, "));
  CHECK(Run("recipe").exit_code == 2);
  // The flag refuses an unknown name before anything runs.
  const Result flag = Run("search create --recipe=cifar-100 --controller=127.0.0.1:1");
  CHECK(flag.exit_code != 0);
  CHECK_THAT(flag.err, Catch::Contains("unknown recipe 'cifar-100'"));
  // amoeba train checks its recipe before it loads any data.
  const Result stem = Run("train --stem=imagenet --data_dir=/nonexistent amoebanet-a");
  CHECK(stem.exit_code == 2);
  CHECK_THAT(stem.err, Catch::Contains("at least 64 with the ImageNet stem"));
}

TEST_CASE("a flag value before the group does not hide train") {
  const Result r = Run("--N 2 train --help");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage: amoeba train") == 0);
}

TEST_CASE("validate reads an over-long line in bounded pieces and names it") {
  const Result r = Run("genotype validate", std::string(5 << 20, 'a') + "\namoebanet-a\n");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("stdin line 1: a line of 5242880 bytes; a genotype text is at most") !=
        std::string::npos);
  CHECK(r.err.size() < 1000);
  CHECK(r.out.find("ok ") == 0);  // the next line still counts
}

TEST_CASE("report and export never write: an empty file stays empty") {
  const std::string empty = TestTempDir() + "/empty.db";
  std::ofstream(empty).close();
  const Result r = Run("report " + empty);
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("empty, not an amoeba store") != std::string::npos);
  CHECK(ReadWholeFile(empty).empty());
  const Result e = Run("export " + empty);
  CHECK(e.exit_code == 3);
  CHECK(ReadWholeFile(empty).empty());
}

TEST_CASE("pause, resume and stop reach no controller: exit 3 and say where") {
  const Result r = Run("pause --controller=127.0.0.1:1");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("amoeba pause:") == 0);
  const Result bad = Run("stop --controller=127.0.0.1:1 --token_file=/no/such/file");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("/no/such/file") != std::string::npos);
}

TEST_CASE("train trains, saves, and evaluate reads the model back") {
  const std::string model = TestTempDir() + "/tiny.pt";
  const Result r = Run(
      "train --epochs=2 --F=4 --max_train_images=256 --validation_images=128 "
      "--threads=2 --save=" + model + " nasnet-a");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("epoch 1/2") &&
                        Catch::Contains("epoch 2/2") &&
                        Catch::Contains("validation accuracy 0.") &&
                        Catch::Contains("multiply-adds"));
  CHECK_THAT(r.out, Catch::Contains("saved " + model));
  const Result e = Run("evaluate --split=validation --validation_images=128 "
                       "--max_train_images=256 " + model);
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  // Same images, same weights: the accuracy the training reported.
  const std::string reported =
      r.out.substr(r.out.find("validation accuracy ") + 20, 6);
  CHECK_THAT(e.out, Catch::Contains("validation accuracy " + reported));
}

TEST_CASE("a training set one image past a whole batch still gets a fitness") {
  // 129 = 2 x 64 + 1: the last one-image batch is left out of the epoch,
  // its validation is not.
  const Result r = Run(
      "train --dataset=fashion_mnist --N=1 --F=4 --epochs=1 --batch_size=64 "
      "--max_train_images=129 --validation_images=200 amoebanet-a");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("validation accuracy 0."));
  CHECK_THAT(r.out, !Catch::Contains("validation accuracy 0.0000"));
}

TEST_CASE("the retraining example drops paths as the released code does") {
  // The released code keeps paths with probability 0.7; --drop_path is a
  // drop probability.
  const Result r = Run("train help");
  CHECK_THAT(r.out + r.err, Catch::Contains("--drop_path=0.3"));
  CHECK_THAT(r.out + r.err, !Catch::Contains("--drop_path=0.7"));
}

TEST_CASE("train and evaluate report bad input with exit codes") {
  CHECK(Run("train --epochs=1 not-a-genotype").exit_code == 1);
  const Result dataset = Run("train --dataset=imagenet amoebanet-a");
  CHECK(dataset.exit_code == 2);
  CHECK_THAT(dataset.err, Catch::Contains("unknown dataset 'imagenet'"));
  const Result cuda = Run("train --device=cuda amoebanet-a");
  CHECK(cuda.exit_code == 3);
  CHECK_THAT(cuda.err, Catch::Contains("no CUDA"));
  const Result data = Run("train --data_dir=/nonexistent amoebanet-a");
  CHECK(data.exit_code == 3);
  CHECK_THAT(data.err, Catch::Contains("/nonexistent/train-images"));
  CHECK(Run("train --batch_size=1 amoebanet-a").exit_code == 2);
  CHECK(Run("evaluate /nonexistent.pt").exit_code == 3);
  CHECK(Run("train").exit_code == 2);
}

}  // namespace
