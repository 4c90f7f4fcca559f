"""Training configuration: every key with its default, and validation.

Recipes in `experiments/` start from `base_config()` and override fields, so a
misspelt key or an unknown value is caught by `validate` before any work.
"""

from __future__ import annotations

import ml_collections

from ferjax.labels import EMOTIONS, FERPLUS_EMOTIONS
from ferjax.models import MODEL_NAMES

DATASETS = ("fer2013", "ferplus", "synthetic")
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
  c.data_dir = ""  # TFDS data_dir ("" = TFDS default).
  c.manual_dir = ""  # Folder with fer2013.tar.gz [+ fer2013new.csv].
  c.npz_path = ""  # A prepared .npz (python -m ferjax.data.npz); no TensorFlow needed.
  c.soft_labels = False  # FER+ only: train on normalised votes over the 8 emotions.
  c.synthetic_sizes = (2048, 512, 512)  # train/validation/test sizes for 'synthetic'.

  c.seed = 0
  c.batch_size = 128  # Global batch, split across devices.
  c.total_steps = 10_000
  c.stop_after = 0  # If > 0, stop (checkpointed, resumable) after this step.
  c.init_from = ""  # Workdir (its best model) or export whose weights start a new run.

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
      brightness=0.2, contrast=0.3))

  c.log_every = 50
  c.eval_every = 1000  # Also the checkpoint interval.
  c.eval_batch_size = 512
  c.keep = 2  # Latest checkpoints kept (the best is kept separately).
  c.tensorboard = True  # Written only when TensorFlow is importable.
  c.export = True  # Export the best model at the end (needs TensorFlow).
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
  _check(not config.soft_labels or config.dataset == "ferplus",
         "soft_labels needs dataset='ferplus' (the votes)")
  for field in ("batch_size", "total_steps", "log_every", "eval_every",
                "eval_batch_size", "keep"):
    _check(int(config[field]) > 0, f"{field} must be > 0, got {config[field]}")
  _check(config.stop_after >= 0, f"stop_after must be >= 0, got {config.stop_after}")
  _check(config.learning_rate > 0, f"learning_rate must be > 0, got {config.learning_rate}")
  _check(0 <= config.warmup_steps < config.total_steps,
         f"warmup_steps must be in [0, total_steps), got {config.warmup_steps}")
  _check(0 <= config.label_smoothing < 1,
         f"label_smoothing must be in [0, 1), got {config.label_smoothing}")
  for field in ("mixup_alpha", "cutmix_alpha", "weight_decay", "grad_clip_norm"):
    _check(config[field] >= 0, f"{field} must be >= 0, got {config[field]}")
  _check(len(config.synthetic_sizes) == 3 and min(config.synthetic_sizes) > 0,
         "synthetic_sizes must be three positive sizes (train, validation, test)")


def num_classes(config: ml_collections.ConfigDict) -> int:
  """7 emotions, or 8 for FER+ (which adds contempt)."""
  return len(FERPLUS_EMOTIONS if config.dataset == "ferplus" else EMOTIONS)
