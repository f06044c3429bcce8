#include "settings/recipes.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "trainer/train_options.h"

namespace amoeba {

v1::TrainingRecipe DefaultRecipe() {
  v1::TrainingRecipe r;
  r.set_name("");
  r.set_optimizer("momentum");
  r.set_momentum(0.9);
  r.set_rmsprop_decay(0.9);
  r.set_rmsprop_epsilon(1.0);
  r.set_schedule("cosine");
  r.set_lr_decay(0.97);
  r.set_lr_decay_epochs(2.4);
  r.set_warmup_epochs(0);
  r.set_label_smoothing(0);
  r.set_grad_clip_norm(0);
  r.set_aux_head(false);
  r.set_aux_weight(0.4);
  r.set_drop_path(0);
  r.set_drop_path_schedule("time-and-depth");
  r.set_ema_decay(0);
  r.set_precision("auto");
  r.set_dropout(0);
  r.set_augment("default");
  r.set_cutout(0);
  r.set_stem("cifar");
  r.set_image_size(64);
  return r;
}

v1::TrainingRecipe CompleteRecipe(const v1::TrainingRecipe& given) {
  v1::TrainingRecipe r = DefaultRecipe();
  r.MergeFrom(given);
  return r;
}

bool NeedsRecipeSupport(const v1::TrainingRecipe& recipe) {
  v1::TrainingRecipe complete = CompleteRecipe(recipe);
  complete.clear_name();
  v1::TrainingRecipe defaults = DefaultRecipe();
  defaults.clear_name();
  return complete.SerializeAsString() != defaults.SerializeAsString();
}

namespace {

// The shortest text that reads back as exactly `value` (0.3, not
// 0.29999999999999999): for people and for keys alike.
std::string Number(double value) {
  for (int digits = 6; digits < 17; ++digits) {
    const std::string text = absl::StrFormat("%.*g", digits, value);
    if (std::strtod(text.c_str(), nullptr) == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

// The released ImageNet code's training recipe (tensorflow/tpu
// models/official/amoeba_net): amoeba_net_model.py's imagenet_hparams and
// RMSPROP_* constants, model_builder.py's aux loss weight. The training
// values are the trainer's ImageNetRecipe (trainer/train_options.h), so
// they are written in one place; dropout and drop path are the network's.
void AddImageNetTraining(RecipePreset& p) {
  TrainOptions base;
  base.epochs = 1000;  // long enough that the warm-up is not capped
  const TrainOptions o = ImageNetRecipe(base);
  v1::TrainingSettings& s = p.settings;
  v1::TrainingRecipe& r = *s.mutable_recipe();
  r.set_optimizer(o.optimizer == OptimizerKind::kRmsProp ? "rmsprop"
                                                         : "momentum");
  r.set_rmsprop_decay(o.rmsprop_decay);
  r.set_momentum(o.momentum);
  r.set_rmsprop_epsilon(o.rmsprop_epsilon);
  s.set_learning_rate(o.learning_rate);
  r.set_schedule(o.schedule == LrSchedule::kExponential ? "exponential"
                                                        : "cosine");
  r.set_lr_decay(o.lr_decay);
  r.set_lr_decay_epochs(o.lr_decay_epochs);
  r.set_warmup_epochs(o.warmup_epochs);
  r.set_label_smoothing(o.label_smoothing);
  r.set_grad_clip_norm(o.grad_clip_norm);
  s.set_weight_decay(o.weight_decay);
  r.set_aux_weight(o.aux_weight);
  r.set_ema_decay(o.ema_decay);
  r.set_dropout(0.5);
  r.set_drop_path(0.3);
  r.set_drop_path_schedule("time");
  const std::string model = "amoeba_net_model.py ";
  p.sources.insert(
      p.sources.end(),
      {{"optimizer", model + "_build_optimizer, optimizer='rmsprop' (TF1's "
                             "RMSProp: trainer/rmsprop.h)"},
       {"rmsprop_decay", model + "RMSPROP_DECAY"},
       {"momentum", model + "RMSPROP_MOMENTUM"},
       {"rmsprop_epsilon", model + "RMSPROP_EPSILON"},
       {"lr", model + "imagenet_hparams lr (for batch 32)"},
       {"lr_schedule", model + "lr_decay_method='exponential' (staircase)"},
       {"lr_decay", model + "lr_decay_value"},
       {"lr_decay_epochs", model + "lr_num_epochs_per_decay"},
       {"warmup_epochs", model + "lr_warmup_epochs (capped at the epochs)"},
       {"label_smoothing", model + "label_smoothing"},
       {"grad_clip", model + "gradient_clipping_by_global_norm"},
       {"weight_decay", model + "weight_decay"},
       {"aux_weight", "model_builder.py _build_loss, weights=0.4"},
       {"ema_decay", model + "moving_average_decay (evaluated through "
                             "LoadEMAHook)"},
       {"dropout", model + "dense_dropout_keep_prob=0.5"},
       {"drop_path", model + "drop_connect_keep_prob=0.7 (a drop "
                             "probability of 0.3)"},
       {"drop_path_schedule",
        model + "drop_connect_version='v1'; network_utils.py "
                "_apply_drop_path grows it with the step only"}});
}

std::vector<RecipePreset> BuildPresets() {
  std::vector<RecipePreset> presets;

  RecipePreset search;
  search.name = "search";
  search.summary =
      "a search child's defaults: nothing set (Fashion-MNIST, N=1 F=8, one "
      "epoch of at most 2,000 images, momentum SGD, cosine)";
  search.notes = "The defaults of settings/training_flags.h and "
                 "settings/recipes.h: sized to run on two CPU cores.";
  presets.push_back(search);

  const std::string paper = "the paper (Real et al. 2019, AmoebaNet)";
  RecipePreset paper_search;
  paper_search.name = "paper-search";
  paper_search.summary =
      "the paper's search phase: CIFAR-10, N=3 F=24, 25 epochs, 5,000 "
      "training images held out for the fitness";
  {
    v1::TrainingSettings& s = paper_search.settings;
    s.set_dataset("cifar10");
    s.set_cells_per_stack(3);
    s.set_filters(24);
    s.set_epochs(25);
    s.set_batch_size(128);
    s.set_learning_rate(0.024);
    s.set_weight_decay(5e-4);
    s.set_validation_images(5000);
    s.set_max_train_images(0);
    s.mutable_recipe()->set_optimizer("momentum");
    s.mutable_recipe()->set_momentum(0.9);
    s.mutable_recipe()->set_schedule("cosine");
  }
  paper_search.sources = {
      {"dataset", paper + ", search experiments on CIFAR-10"},
      {"N", paper + ", methods: search-phase models N=3"},
      {"F", paper + ", methods: search-phase models F=24"},
      {"epochs", paper + ", methods: each child trains 25 epochs"},
      {"batch_size", paper + ", methods: batch 128"},
      {"lr", paper + ": peak of the cosine schedule of its final runs "
                     "(0.024), used for the children too"},
      {"weight_decay", paper + ", methods: weight decay 5e-4"},
      {"validation_images", paper + ": 5k of the 50k training images are "
                                    "the validation set"},
      {"max_train_images", "all the rest (45,000)"},
      {"optimizer", paper + ": SGD with momentum 0.9"},
      {"momentum", paper + ": 0.9"},
      {"lr_schedule", paper + ": cosine decay"}};
  paper_search.notes =
      "CIFAR-10 is not on Debian: pass --data_dir with the "
      "cifar-10-batches-bin files. On two CPU cores a child of this size "
      "takes hours; see the search preset for CI-sized runs.";
  presets.push_back(paper_search);

  RecipePreset cifar_final;
  cifar_final.name = "cifar-final";
  cifar_final.summary =
      "the paper's CIFAR-10 final model: N=6 F=36, 600 epochs on all 50,000 "
      "training images, aux head, drop path, cutout (3.34% test error "
      "reported for AmoebaNet-A)";
  {
    v1::TrainingSettings& s = cifar_final.settings;
    s.set_dataset("cifar10");
    s.set_cells_per_stack(6);
    s.set_filters(36);
    s.set_epochs(600);
    s.set_batch_size(128);
    s.set_learning_rate(0.024);
    s.set_weight_decay(5e-4);
    s.set_max_train_images(0);
    v1::TrainingRecipe& r = *s.mutable_recipe();
    r.set_optimizer("momentum");
    r.set_momentum(0.9);
    r.set_schedule("cosine");
    r.set_aux_head(true);
    r.set_aux_weight(0.4);
    r.set_drop_path(0.3);
    r.set_drop_path_schedule("time");
    r.set_cutout(16);
  }
  cifar_final.sources = {
      {"dataset", paper + ", Table 1 (CIFAR-10)"},
      {"N", paper + ", Table 1: AmoebaNet-A (N=6, F=36), 3.2M parameters"},
      {"F", paper + ", Table 1"},
      {"epochs", paper + ", methods: final models train 600 epochs"},
      {"batch_size", paper + ", methods: batch 128"},
      {"lr", paper + ", methods: peak learning rate 0.024, cosine"},
      {"weight_decay", paper + ", methods: weight decay 5e-4"},
      {"max_train_images", "all 50,000 (a final model holds nothing out)"},
      {"optimizer", paper + ": SGD with momentum 0.9"},
      {"momentum", paper + ": 0.9"},
      {"lr_schedule", paper + ": cosine decay"},
      {"aux_head", paper + ", methods: auxiliary head"},
      {"aux_weight", paper + ": auxiliary loss weight 0.4 (also "
                             "model_builder.py)"},
      {"drop_path", "released amoeba_net code: drop_connect_keep_prob=0.7, "
                    "a drop probability of 0.3"},
      {"drop_path_schedule",
       "ScheduledDropPath as NASNet (Zoph et al. 2018) defines it: the "
       "probability rises linearly over training; the released code's "
       "drop_connect_version='v1'"},
      {"cutout", "the paper names cutout (DeVries & Taylor 2017) without a "
                 "size; 16 is that paper's CIFAR-10 size"}};
  cifar_final.notes =
      "slim's NASNet CIFAR configuration keeps paths with 0.6 and also "
      "scales them with depth (--drop_path=0.4 "
      "--drop_path_schedule=time-and-depth).";
  presets.push_back(cifar_final);

  RecipePreset imagenet;
  imagenet.name = "imagenet";
  imagenet.summary =
      "the released ImageNet code's training recipe only (RMSProp, "
      "exponential decay, warm-up, smoothing, clipping, dropout, drop "
      "path, evaluation of the weights' moving average); the network and "
      "data stay as given";
  AddImageNetTraining(imagenet);
  imagenet.notes =
      "Not reproduced: L2 decay of convolution and linear weights only "
      "(amoeba decays every parameter). The moving average starts at the "
      "initial weights and its decay is min(0.9999, (1+t)/(10+t)) at step "
      "t, as TensorFlow's with num_updates.";
  presets.push_back(imagenet);

  RecipePreset imagenet_final;
  imagenet_final.name = "imagenet-final";
  imagenet_final.summary =
      "the paper's ImageNet model: the imagenet recipe with the ImageNet "
      "stem at N=6 F=190 on 331-pixel photos (86.7M parameters, 23.1B "
      "multiply-adds), aux head; on a photo folder";
  AddImageNetTraining(imagenet_final);
  {
    v1::TrainingSettings& s = imagenet_final.settings;
    s.set_dataset("folder");
    s.set_cells_per_stack(6);
    s.set_filters(190);
    s.set_max_train_images(0);
    v1::TrainingRecipe& r = *s.mutable_recipe();
    r.set_stem("imagenet");
    r.set_image_size(331);
    r.set_aux_head(true);
  }
  imagenet_final.sources.insert(
      imagenet_final.sources.end(),
      {{"dataset", "a photo folder: DIR/train/CLASS, DIR/val/CLASS"},
       {"N", paper + ", ImageNet results: AmoebaNet-A (N=6, F=190)"},
       {"F", paper + ", ImageNet results: 86.7M parameters "
                     "(trainer/network_test.cc checks the count)"},
       {"max_train_images", "every training image"},
       {"stem", "released amoeba_net code: the ImageNet stem "
                "(stem_reduction_size=32)"},
       {"image_size", "331 x 331: 23.1B multiply-adds at F=190 "
                        "(trainer/network_test.cc)"},
       {"aux_head", "amoeba_net.py use_aux_head=True (aux_scaling 0.4)"}});
  imagenet_final.notes =
      imagenet.notes +
      " Epochs are not set: the released code counts steps at its batch "
      "(amoeba_net.py num_epochs=48 at batch 256); give --epochs.";
  presets.push_back(imagenet_final);
  return presets;
}

}  // namespace

const std::vector<RecipePreset>& RecipePresets() {
  static const std::vector<RecipePreset>* presets =
      new std::vector<RecipePreset>(BuildPresets());
  return *presets;
}

const RecipePreset* FindRecipePreset(absl::string_view name) {
  for (const RecipePreset& p : RecipePresets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string RecipePresetNames() {
  std::vector<std::string> names;
  for (const RecipePreset& p : RecipePresets()) names.push_back(p.name);
  return absl::StrJoin(names, ", ");
}

std::vector<std::pair<std::string, std::string>> SetTrainingFields(
    const v1::TrainingSettings& s) {
  std::vector<std::pair<std::string, std::string>> f;
  auto add = [&](bool has, const char* flag, std::string value) {
    if (has) f.emplace_back(flag, std::move(value));
  };
  add(s.has_dataset(), "dataset", s.dataset());
  add(s.has_cells_per_stack(), "N", absl::StrCat(s.cells_per_stack()));
  add(s.has_filters(), "F", absl::StrCat(s.filters()));
  add(s.has_epochs(), "epochs", absl::StrCat(s.epochs()));
  add(s.has_batch_size(), "batch_size", absl::StrCat(s.batch_size()));
  add(s.has_learning_rate(), "lr", Number(s.learning_rate()));
  add(s.has_weight_decay(), "weight_decay", Number(s.weight_decay()));
  add(s.has_validation_images(), "validation_images",
      absl::StrCat(s.validation_images()));
  add(s.has_max_train_images(), "max_train_images",
      absl::StrCat(s.max_train_images()));
  add(s.has_seed(), "training_seed", absl::StrCat(s.seed()));
  add(s.has_checkpoint_every(), "checkpoint_every",
      absl::StrCat(s.checkpoint_every()));
  const v1::TrainingRecipe& r = s.recipe();
  add(r.has_optimizer(), "optimizer", r.optimizer());
  add(r.has_momentum(), "momentum", Number(r.momentum()));
  add(r.has_rmsprop_decay(), "rmsprop_decay", Number(r.rmsprop_decay()));
  add(r.has_rmsprop_epsilon(), "rmsprop_epsilon", Number(r.rmsprop_epsilon()));
  add(r.has_schedule(), "lr_schedule", r.schedule());
  add(r.has_lr_decay(), "lr_decay", Number(r.lr_decay()));
  add(r.has_lr_decay_epochs(), "lr_decay_epochs", Number(r.lr_decay_epochs()));
  add(r.has_warmup_epochs(), "warmup_epochs", Number(r.warmup_epochs()));
  add(r.has_label_smoothing(), "label_smoothing", Number(r.label_smoothing()));
  add(r.has_grad_clip_norm(), "grad_clip", Number(r.grad_clip_norm()));
  add(r.has_aux_head(), "aux_head", r.aux_head() ? "true" : "false");
  add(r.has_aux_weight(), "aux_weight", Number(r.aux_weight()));
  add(r.has_drop_path(), "drop_path", Number(r.drop_path()));
  add(r.has_drop_path_schedule(), "drop_path_schedule",
      r.drop_path_schedule());
  add(r.has_ema_decay(), "ema_decay", Number(r.ema_decay()));
  add(r.has_precision(), "precision", r.precision());
  add(r.has_dropout(), "dropout", Number(r.dropout()));
  add(r.has_augment(), "augment", r.augment());
  add(r.has_cutout(), "cutout", absl::StrCat(r.cutout()));
  add(r.has_stem(), "stem", r.stem());
  add(r.has_image_size(), "image_size", absl::StrCat(r.image_size()));
  return f;
}

std::vector<std::pair<std::string, std::string>> RecipeFields(
    const v1::TrainingRecipe& recipe) {
  v1::TrainingSettings recipe_only;
  *recipe_only.mutable_recipe() = CompleteRecipe(recipe);
  return SetTrainingFields(recipe_only);
}

std::string RecipeSummary(const v1::TrainingRecipe& recipe) {
  const auto default_fields = RecipeFields(v1::TrainingRecipe());
  std::string changed;
  for (const auto& field : RecipeFields(recipe)) {
    if (std::find(default_fields.begin(), default_fields.end(), field) ==
        default_fields.end()) {
      absl::StrAppend(&changed, " --", field.first, "=", field.second);
    }
  }
  const std::string name =
      recipe.name().empty() ? "" : absl::StrCat(" ", recipe.name());
  if (changed.empty()) return absl::StrCat("default recipe", name);
  return absl::StrCat("recipe", name, ":", changed);
}

std::string DescribeRecipePreset(const RecipePreset& preset) {
  std::string text = absl::StrCat(preset.name, ": ", preset.summary, "\n");
  for (const auto& [flag, value] : SetTrainingFields(preset.settings)) {
    std::string source;
    for (const auto& [f, s] : preset.sources) {
      if (f == flag) source = s;
    }
    absl::StrAppend(&text, absl::StrFormat("  --%s=%s", flag, value),
                    source.empty() ? "" : absl::StrCat("    # ", source),
                    "\n");
  }
  if (!preset.notes.empty()) absl::StrAppend(&text, preset.notes, "\n");
  return text;
}

}  // namespace amoeba
