#include "trainer/training_state.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "trainer/torch_util.h"

namespace amoeba {
namespace {

constexpr int64_t kFormat = 1;
// More tensors than any network or optimizer has (the ImageNet network at
// N=6 has a few thousand).
constexpr int64_t kMaxTensors = int64_t{1} << 20;

torch::Tensor RngTensor(const Rng::State& state) {
  torch::Tensor t = torch::empty({4}, torch::kInt64);
  for (int i = 0; i < 4; ++i) {
    t[i] = static_cast<int64_t>(state[i]);
  }
  return t;
}

Rng::State RngOf(const torch::Tensor& t) {
  Rng::State state{};
  for (int i = 0; i < 4; ++i) {
    state[i] = static_cast<uint64_t>(t[i].item<int64_t>());
  }
  return state;
}

}  // namespace

absl::StatusOr<std::string> SerializeTrainingState(const TrainingState& s) {
  return GuardTorch("writing a training state",
                    [&]() -> absl::StatusOr<std::string> {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(kFormat));
    archive.write("key", c10::IValue(s.key));
    archive.write("epoch", c10::IValue(static_cast<int64_t>(s.epoch)));
    archive.write("epochs", c10::IValue(static_cast<int64_t>(s.epochs)));
    archive.write("step", c10::IValue(s.step));
    archive.write("images_seen", c10::IValue(s.images_seen));
    archive.write("train_seconds", c10::IValue(s.train_seconds));
    archive.write("validation_accuracy", c10::IValue(s.validation_accuracy));
    archive.write("order_rng", RngTensor(s.order_rng));
    archive.write("augment_rng", s.augment_rng);
    archive.write("training_rng", s.training_rng);
    archive.write("optimizer.count",
                  c10::IValue(static_cast<int64_t>(s.optimizer.size())));
    for (size_t i = 0; i < s.optimizer.size(); ++i) {
      if (!s.optimizer[i].defined()) continue;
      archive.write(absl::StrCat("optimizer.", i), s.optimizer[i].cpu());
    }
    archive.write("average.count",
                  c10::IValue(static_cast<int64_t>(s.average.size())));
    for (size_t i = 0; i < s.average.size(); ++i) {
      archive.write(absl::StrCat("average.", i), s.average[i].cpu());
    }
    archive.write("network.count",
                  c10::IValue(static_cast<int64_t>(s.network.size())));
    for (size_t i = 0; i < s.network.size(); ++i) {
      archive.write(absl::StrCat("network.name.", i),
                    c10::IValue(s.network[i].first));
      archive.write(absl::StrCat("network.", i), s.network[i].second.cpu());
    }
    std::ostringstream out;
    archive.save_to(out);
    return out.str();
  });
}

absl::StatusOr<TrainingState> ParseTrainingState(std::string_view bytes) {
  absl::StatusOr<TrainingState> parsed = GuardTorch(
      "reading a training state", [&]() -> absl::StatusOr<TrainingState> {
        torch::serialize::InputArchive archive;
        archive.load_from(bytes.data(), bytes.size());
        auto int_of = [&](const char* key) {
          c10::IValue v;
          archive.read(key, v);
          return v.toInt();
        };
        auto double_of = [&](const char* key) {
          c10::IValue v;
          archive.read(key, v);
          return v.toDouble();
        };
        if (int_of("format") != kFormat) {
          return absl::InvalidArgumentError("unknown training state format");
        }
        TrainingState s;
        c10::IValue key;
        archive.read("key", key);
        s.key = key.toStringRef();
        s.epoch = static_cast<int>(int_of("epoch"));
        s.epochs = static_cast<int>(int_of("epochs"));
        s.step = int_of("step");
        s.images_seen = int_of("images_seen");
        s.train_seconds = double_of("train_seconds");
        s.validation_accuracy = double_of("validation_accuracy");
        torch::Tensor rng;
        archive.read("order_rng", rng);
        if (rng.numel() != 4 || rng.scalar_type() != torch::kInt64) {
          return absl::InvalidArgumentError("damaged data-order RNG state");
        }
        s.order_rng = RngOf(rng);
        archive.read("augment_rng", s.augment_rng);
        archive.read("training_rng", s.training_rng);
        // Counts come from the file: bounded before they size anything.
        // Every entry takes bytes of the archive, so no honest count
        // exceeds its size.
        auto count_of = [&](const char* key) -> absl::StatusOr<int64_t> {
          const int64_t count = int_of(key);
          const int64_t bound =
              std::min<int64_t>(kMaxTensors, static_cast<int64_t>(bytes.size()));
          if (count < 0 || count > bound) {
            return absl::InvalidArgumentError(absl::StrFormat(
                "%s is %d, outside 0..%d", key, count, bound));
          }
          return count;
        };
        absl::StatusOr<int64_t> optimizer_count = count_of("optimizer.count");
        if (!optimizer_count.ok()) return optimizer_count.status();
        s.optimizer.resize(static_cast<size_t>(*optimizer_count));
        for (size_t i = 0; i < s.optimizer.size(); ++i) {
          archive.try_read(absl::StrCat("optimizer.", i), s.optimizer[i]);
        }
        // States written before weight averages existed have none.
        c10::IValue average_count;
        if (archive.try_read("average.count", average_count)) {
          absl::StatusOr<int64_t> count = count_of("average.count");
          if (!count.ok()) return count.status();
          s.average.resize(static_cast<size_t>(*count));
          for (size_t i = 0; i < s.average.size(); ++i) {
            archive.read(absl::StrCat("average.", i), s.average[i]);
          }
        }
        absl::StatusOr<int64_t> network_count = count_of("network.count");
        if (!network_count.ok()) return network_count.status();
        const int64_t tensors = *network_count;
        for (int64_t i = 0; i < tensors; ++i) {
          c10::IValue name;
          archive.read(absl::StrCat("network.name.", i), name);
          torch::Tensor value;
          archive.read(absl::StrCat("network.", i), value);
          s.network.emplace_back(name.toStringRef(), value);
        }
        return s;
      });
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a complete training state: ", parsed.status().message()));
  }
  return parsed;
}

}  // namespace amoeba
