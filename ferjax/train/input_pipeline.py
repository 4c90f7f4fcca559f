"""Whole splits as host arrays ready for the device: images, hard labels, target distributions.

A training mixture (`config.mixture`) is the concatenation of its datasets' train
splits plus a per-example sampling `weight`: dataset weight, split evenly over the
dataset's examples, optionally re-weighted towards rare classes (`class_balance`).
"""

from __future__ import annotations

import functools

import ml_collections
import numpy as np

from ferjax.train import config_lib
from ferjax.synthetic import stripes
from ferjax.data import loader
from ferjax.data.errors import DataError, MissingSplit
from ferjax.labels import FERPLUS_EMOTIONS

SPLITS = ("train", "validation", "test")


def _npz_for(config: ml_collections.ConfigDict, dataset: str) -> str | None:
  """The prepared .npz among `config.npz_path` that holds `dataset`, if any."""
  paths = [p.strip() for p in config.npz_path.split(",") if p.strip()]
  if not paths:
    return None
  want = "fer2013" if dataset == "ferplus" else dataset  # FER+ votes ride with FER2013.
  for path in paths:
    try:
      with np.load(path, allow_pickle=False) as data:
        holds = str(data["dataset"]) if "dataset" in data.files else "fer2013"
    except (OSError, ValueError, EOFError) as e:
      raise DataError(f"{path}: not a readable ferjax .npz ({e})") from e
    if holds == want:
      return path
  raise DataError(f"none of the npz files {paths} holds {want}; prepare one with "
                  f"`python -m ferjax.data.npz --dataset {want} --manual_dir DIR --out FILE`")


def _targets(config: ml_collections.ConfigDict, dataset: str, arrays: dict[str, np.ndarray],
             num_classes: int) -> np.ndarray:
  """(n, K) float32: one-hot labels, or FER+ votes normalised over the K classes."""
  if dataset == "ferplus" and config.soft_labels:
    votes = arrays["votes"][:, :num_classes].astype(np.float32)
    targets = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1.0)
    weight = config.fer2013_label_weight
    if weight and "fer2013_label" in arrays:
      original = np.eye(num_classes, dtype=np.float32)[arrays["fer2013_label"]]
      targets = (1.0 - weight) * targets + weight * original
    return targets
  return np.eye(num_classes, dtype=np.float32)[arrays["label"]]


@functools.lru_cache(maxsize=1)
def _teacher(model_dir: str):
  """The `distill_from` export, loaded once for all the splits of a run."""
  from ferjax import inference  # pylint: disable=g-import-not-at-top
  try:
    return inference.ExpressionClassifier(model_dir)
  except inference.ModelError as e:
    raise config_lib.ConfigError(f"distill_from: {e}") from None


def teacher_probabilities(config: ml_collections.ConfigDict, num_classes: int,
                          images: np.ndarray) -> np.ndarray:
  """(n, K) emotion probabilities of `config.distill_from` (uncalibrated)."""
  classifier = _teacher(config.distill_from)
  if len(classifier.class_names) != num_classes:
    raise config_lib.ConfigError(
        f"distill_from {config.distill_from} predicts {len(classifier.class_names)} "
        f"classes; this run has {num_classes}")
  return classifier.predict(images, calibrated=False)


def _nonface_split(config: ml_collections.ConfigDict, num_classes: int, split: str
                   ) -> dict[str, np.ndarray]:
  """Face/non-face patches: non-faces target "not a face" (index K); faces the teacher.

  Faces carry no emotion label, so without `distill_from` they are left out.
  """
  from ferjax.data import nonface  # pylint: disable=g-import-not-at-top
  path = _npz_for(config, "nonface")
  if path is None:
    raise DataError("the nonface patches come from an .npz: prepare one with "
                    "`python -m ferjax.data.nonface` and add it to npz_path")
  arrays = nonface.load_split(path, split)
  is_face = arrays["is_face"]
  if not config.distill_from:
    arrays = {k: v[~is_face] for k, v in arrays.items()}
    is_face = arrays["is_face"]
  targets = np.zeros((len(is_face), num_classes + 1), np.float32)
  targets[~is_face, num_classes] = 1.0
  if is_face.any():
    targets[is_face, :num_classes] = teacher_probabilities(config, num_classes,
                                                           arrays["image"][is_face])
  return {"image": arrays["image"], "label": targets.argmax(axis=1).astype(np.int32),
          "target": targets}


def load_dataset_split(config: ml_collections.ConfigDict, spec: config_lib.RunSpec,
                       dataset: str, split: str, allow_empty: bool = False
                       ) -> dict[str, np.ndarray]:
  """{'image': (n, 48, 48, 1) uint8, 'label': (n,) int32, 'target': (n, outputs) float32}.

  A 7-class run on FER+ drops the rows whose majority is contempt. With
  `face_output` the targets gain a "not a face" column (0 for faces); with
  `distill_from` a train split's targets are blended with the teacher's output.
  Raises DataError (with download instructions) when the data is missing, and
  ConfigError when TFDS is needed but not installed.
  """
  num_classes = spec.num_classes
  if dataset == "nonface":
    return _nonface_split(config, num_classes, split)
  if dataset == "synthetic":
    sizes = dict(zip(SPLITS, config.synthetic_sizes))
    arrays = stripes.make_split(split, sizes[split], num_classes)
  else:
    try:
      arrays = loader.load_arrays(dataset, split, data_dir=config.data_dir or None,
                                  manual_dir=config.manual_dir or None,
                                  npz_path=_npz_for(config, dataset))
    except ImportError as e:
      raise config_lib.ConfigError(
          f"reading {dataset} without npz_path needs tensorflow-datasets ({e}); "
          "on this machine prepare an .npz elsewhere with `python -m ferjax.data.npz "
          "--manual_dir DIR --out FILE` and pass --config.npz_path=FILE") from None
  arrays = {k: np.asarray(v) for k, v in arrays.items()}
  keep = arrays["label"] < num_classes  # FER+ contempt in a 7-class run.
  if dataset == "ferplus" and num_classes < len(FERPLUS_EMOTIONS):
    keep &= arrays["votes"][:, :num_classes].sum(axis=1) > 0
  arrays = {k: v[keep] for k, v in arrays.items()}
  images = np.asarray(arrays["image"], np.uint8)
  if images.ndim == 3:
    images = images[..., None]
  labels = np.asarray(arrays["label"], np.int32)
  if len(labels) == 0 and not allow_empty:
    raise DataError(f"{dataset}: split {split!r} is empty")
  targets = _targets(config, dataset, arrays, num_classes)
  if config.distill_from and split == "train" and len(labels):
    weight = config.distill_weight
    targets = (1 - weight) * targets + weight * teacher_probabilities(config, num_classes,
                                                                       images)
  if spec.face_output:
    targets = np.pad(targets, ((0, 0), (0, 1)))
  return {"image": images, "label": labels, "target": targets.astype(np.float32)}


def sampling_weights(labels: np.ndarray, dataset_weight: float, class_balance: float,
                     num_classes: int) -> np.ndarray:
  """Per-example weights summing to `dataset_weight`, rare classes up-weighted."""
  counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
  per_class = np.where(counts > 0, np.maximum(counts, 1.0) ** -class_balance, 0.0)
  weights = per_class[labels]
  return (dataset_weight * weights / weights.sum()).astype(np.float32)


def load_train_mixture(config: ml_collections.ConfigDict, spec: config_lib.RunSpec
                       ) -> dict[str, np.ndarray]:
  """The concatenated train splits of the mixture, with a sampling `weight` each.

  Weights are returned only when sampling is not uniform over the examples
  (a real mixture or class balancing); otherwise each epoch is a permutation.
  """
  parts = spec.mixture
  splits = [load_dataset_split(config, spec, name, "train") for name, _ in parts]
  out = {k: np.concatenate([s[k] for s in splits]) for k in ("image", "label", "target")}
  if len(parts) > 1 or config.class_balance > 0:
    total = sum(w for _, w in parts)
    out["weight"] = np.concatenate([
        sampling_weights(s["label"], w / total, config.class_balance,
                         spec.num_outputs)
        for s, (_, w) in zip(splits, parts)])
  return out


def load_eval_splits(config: ml_collections.ConfigDict, spec: config_lib.RunSpec,
                     split: str) -> dict[str, dict[str, np.ndarray]]:
  """{dataset: arrays} for every mixture dataset with a non-empty `split`.

  A withheld split (e.g. RAF-DB's test set) is left out; a missing one for
  every dataset is an error.
  """
  out = {}
  for name in spec.datasets:
    try:
      arrays = load_dataset_split(config, spec, name, split, allow_empty=True)
    except MissingSplit:
      continue
    if len(arrays["label"]):
      out[name] = arrays
  if not out:
    raise DataError(f"split {split!r} is empty for every dataset of the run")
  return out
