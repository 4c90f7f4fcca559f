"""Training configuration: every key with its default, and validation.

Recipes in `experiments/` start from `base_config()` and override fields, so a
misspelt key or an unknown value is caught by `validate` before any work.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import types

import ml_collections

from ferjax.labels import EMOTIONS, FACE_SIZE, FERPLUS_EMOTIONS
from ferjax.models import MODEL_NAMES

DATASETS = ("fer2013", "ferplus", "rafdb", "expw", "synthetic", "nonface")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "constant")
DTYPES = ("float32", "bfloat16")


class ConfigError(ValueError):
  """A configuration the trainer cannot run; the message says which field."""


def base_config() -> ml_collections.ConfigDict:
  """All training fields with defaults (a small CPU-sized run of the compact model)."""
  c = ml_collections.ConfigDict()
  c.model = "mini_xception"
  c.model_kwargs = ml_collections.ConfigDict()  # Passed to the model constructor.
  c.dtype = "float32"  # Compute dtype; parameters stay float32.

  c.dataset = "fer2013"
  # Training mixture "name:weight,name:weight" (e.g. "ferplus:0.6,rafdb:0.4"): each
  # step samples a dataset's train examples with probability proportional to its
  # weight. Validation accuracy (model selection) is the mean over the mixture's
  # datasets; each test split is evaluated once. "" = `dataset` alone.
  c.mixture = ""
  c.num_classes = 0  # 0: 8 for FER+ alone (adds contempt), else the 7 emotions.
  c.data_dir = ""  # TFDS data_dir ("" = TFDS default).
  c.manual_dir = ""  # Folder with the downloads (fer2013.tar.gz, fer2013new.csv, RAF-DB).
  c.npz_path = ""  # Prepared .npz file(s), comma-separated (python -m ferjax.data.npz).
  c.soft_labels = False  # FER+: train on the crowd votes normalised over the classes.
  c.fer2013_label_weight = 0.0  # FER+ soft labels: share of FER2013's original label.
  # Class-balanced sampling within each dataset: an example of class c is drawn with
  # weight count(c)^-class_balance (0: as in the data, 1: every class equally).
  c.class_balance = 0.0
  c.synthetic_sizes = (2048, 512, 512)  # train/validation/test sizes for 'synthetic'.
  # One more output, "not a face", trained on the `nonface` patches
  # (python -m ferjax.data.nonface); the export turns it into P(face).
  c.face_output = False
  # An export whose (mean) softmax output is a soft target (knowledge distillation):
  # target = (1 - distill_weight) * labels + distill_weight * teacher. It also
  # labels the unlabelled faces of `nonface`.
  c.distill_from = ""
  c.distill_weight = 0.5

  c.seed = 0
  c.batch_size = 128  # Global batch, split across devices.
  c.total_steps = 10_000
  # Durations in epochs of the (mixed) train split, converted to steps at start;
  # 0 keeps the step counts (total_steps, warmup_steps, eval_every).
  c.num_epochs = 0.0
  c.warmup_epochs = 0.0
  c.eval_every_epochs = 0.0
  c.stop_after = 0  # If > 0, stop (checkpointed, resumable) after this step.
  c.init_from = ""  # Workdir (its best model) or export whose weights start a new run.
  c.init_member = 0  # For an ensemble export in init_from: which member's weights.

  c.optimizer = "sgd"
  c.learning_rate = 0.05  # Peak, for a batch of `batch_size`.
  c.momentum = 0.9
  c.nesterov = True
  c.weight_decay = 5e-4  # On kernels only.
  c.grad_clip_norm = 5.0  # 0 disables clipping.
  c.schedule = "cosine"
  c.warmup_steps = 500

  c.label_smoothing = 0.0
  c.mixup_alpha = 0.0
  c.cutmix_alpha = 0.0
  c.augment = ml_collections.ConfigDict(dict(
      flip=True, rotate_degrees=10.0, scale=0.1, shift_pixels=4.0,
      brightness=0.2, contrast=0.3,
      # Classroom-camera degradation, applied to a `degrade` share of the images:
      # down-sampling to min_face_px..48 px and back, blur, noise, low contrast.
      degrade=0.0, min_face_px=12, max_blur_sigma=1.0, max_noise_std=6.0,
      min_contrast=0.5))

  c.log_every = 50
  c.eval_every = 1000  # Also the checkpoint interval.
  c.eval_batch_size = 512
  c.keep = 2  # Latest checkpoints kept (the best is kept separately).
  c.tensorboard = True  # Written only when TensorFlow is importable.
  c.export = True  # Export the best model at the end (needs TensorFlow).
  # Evaluate the test split once at the end; off for ablations scored on validation only.
  c.test = True
  return c


def _check(ok: bool, message: str) -> None:
  if not ok:
    raise ConfigError(message)


def _unknown_keys(config: ml_collections.ConfigDict, reference: ml_collections.ConfigDict,
                  prefix: str = "") -> list[str]:
  unknown = []
  for key, value in config.items():
    if key not in reference:
      unknown.append(prefix + key)
    elif (isinstance(value, ml_collections.ConfigDict) and key != "model_kwargs"):
      unknown += _unknown_keys(value, reference[key], prefix + key + ".")
  return unknown


def validate(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming the first bad field."""
  unknown = _unknown_keys(config, base_config())
  _check(not unknown, f"unknown config key(s): {', '.join(unknown)}")
  _check(config.model in MODEL_NAMES,
         f"unknown model {config.model!r}; choose from {', '.join(MODEL_NAMES)}")
  _check(config.dataset in DATASETS,
         f"unknown dataset {config.dataset!r}; choose from {', '.join(DATASETS)}")
  _check(config.optimizer in OPTIMIZERS,
         f"unknown optimizer {config.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
  _check(config.schedule in SCHEDULES,
         f"unknown schedule {config.schedule!r}; choose from {', '.join(SCHEDULES)}")
  _check(config.dtype in DTYPES,
         f"unknown dtype {config.dtype!r}; choose from {', '.join(DTYPES)}")
  names = [name for name, _ in mixture(config)]
  for name in names:
    _check(name in DATASETS,
           f"unknown dataset {name!r} in mixture; choose from {', '.join(DATASETS)}")
  _check(config.face_output or "nonface" not in names,
         "the nonface patches train the 'not a face' output: set face_output=True")
  _check(0 <= config.distill_weight <= 1,
         f"distill_weight must be in [0, 1], got {config.distill_weight}")
  _check(not config.soft_labels or "ferplus" in names,
         "soft_labels needs dataset='ferplus' (the votes)")
  _check(config.num_classes in (0, len(EMOTIONS), len(FERPLUS_EMOTIONS)),
         f"num_classes must be 0, 7 or 8, got {config.num_classes}")
  _check(0 <= config.fer2013_label_weight <= 1,
         f"fer2013_label_weight must be in [0, 1], got {config.fer2013_label_weight}")
  _check(config.class_balance >= 0, f"class_balance must be >= 0, got {config.class_balance}")
  _check(0 <= config.augment.degrade <= 1,
         f"augment.degrade must be in [0, 1], got {config.augment.degrade}")
  _check(4 <= config.augment.min_face_px <= FACE_SIZE,
         f"augment.min_face_px must be in 4..{FACE_SIZE}, got {config.augment.min_face_px}")
  for field in ("num_epochs", "warmup_epochs", "eval_every_epochs"):
    _check(config[field] >= 0, f"{field} must be >= 0, got {config[field]}")
  for field in ("batch_size", "total_steps", "log_every", "eval_every",
                "eval_batch_size", "keep"):
    _check(int(config[field]) > 0, f"{field} must be > 0, got {config[field]}")
  _check(config.stop_after >= 0, f"stop_after must be >= 0, got {config.stop_after}")
  _check(config.init_member >= 0, f"init_member must be >= 0, got {config.init_member}")
  _check(config.learning_rate > 0, f"learning_rate must be > 0, got {config.learning_rate}")
  _check(0 <= config.warmup_steps < config.total_steps,
         f"warmup_steps must be in [0, total_steps), got {config.warmup_steps}")
  _check(0 <= config.label_smoothing < 1,
         f"label_smoothing must be in [0, 1), got {config.label_smoothing}")
  for field in ("mixup_alpha", "cutmix_alpha", "weight_decay", "grad_clip_norm"):
    _check(config[field] >= 0, f"{field} must be >= 0, got {config[field]}")
  _check(len(config.synthetic_sizes) == 3 and min(config.synthetic_sizes) > 0,
         "synthetic_sizes must be three positive sizes (train, validation, test)")


def mixture(config: ml_collections.ConfigDict) -> list[tuple[str, float]]:
  """The training datasets and their sampling weights; `dataset` alone if no mixture."""
  if not config.get("mixture"):  # Also configs saved before mixtures existed.
    return [(config.dataset, 1.0)]
  out = []
  for part in config.mixture.split(","):
    name, _, weight = part.strip().partition(":")
    try:
      value = float(weight) if weight else 1.0
    except ValueError:
      value = -1.0
    _check(value > 0, f"mixture entry {part.strip()!r}: the weight must be a number > 0")
    out.append((name.strip(), value))
  _check(len({n for n, _ in out}) == len(out), f"mixture names a dataset twice: {config.mixture}")
  return out


@dataclasses.dataclass(frozen=True)
class RunSpec:
  """What a run's config resolves to: derived once (`run_spec`), then passed down."""
  mixture: tuple[tuple[str, float], ...]  # (dataset, sampling weight) of the train mixture.
  num_classes: int                         # Emotion classes.
  face_output: bool                        # Plus one "not a face" output.

  @property
  def num_outputs(self) -> int:
    return self.num_classes + int(self.face_output)

  @property
  def datasets(self) -> tuple[str, ...]:
    return tuple(name for name, _ in self.mixture)


def run_spec(config: ml_collections.ConfigDict) -> RunSpec:
  """The mixture, the classes (`config.num_classes`, else 8 for FER+ alone, which adds
  contempt, else 7) and the outputs of `config`."""
  parts = tuple(mixture(config))
  classes = int(config.get("num_classes") or 0)
  if not classes:
    only_ferplus = [name for name, _ in parts] == ["ferplus"]
    classes = len(FERPLUS_EMOTIONS if only_ferplus else EMOTIONS)
  return RunSpec(parts, classes, bool(config.get("face_output")))


def with_steps(config: ml_collections.ConfigDict, num_train: int
               ) -> ml_collections.ConfigDict:
  """A copy whose step counts come from the epoch fields (where set) and `num_train`."""
  config = ml_collections.ConfigDict(config.to_dict())
  steps_per_epoch = max(1, num_train // config.batch_size)
  if config.num_epochs:
    config.total_steps = max(1, round(config.num_epochs * steps_per_epoch))
  if config.warmup_epochs:
    config.warmup_steps = round(config.warmup_epochs * steps_per_epoch)
  if config.eval_every_epochs:
    config.eval_every = max(1, round(config.eval_every_epochs * steps_per_epoch))
  validate(config)
  return config


def load_module(file_path: str) -> types.ModuleType:
  """A recipe file imported as a module (for its `get_config` and constants)."""
  if not os.path.isfile(file_path):
    raise ConfigError(f"recipe {file_path!r} does not exist")
  name = os.path.splitext(os.path.basename(file_path))[0]
  spec = importlib.util.spec_from_file_location(f"ferjax_recipe_{name}", file_path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_recipe(path: str) -> ml_collections.ConfigDict:
  """The config of a recipe file, `experiments/x.py` or `experiments/x.py:arg`.

  The same rule as `--config`: the file's `get_config()` is called, with `arg`
  when one is given after a colon.
  """
  file_path, _, arg = path.partition(":")
  module = load_module(file_path)
  return module.get_config(arg) if arg else module.get_config()
