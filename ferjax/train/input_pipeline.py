"""Whole splits as host arrays ready for the device: images, hard labels, target distributions.

A training mixture (`config.mixture`) is the concatenation of its datasets' train
splits plus a per-example sampling `weight`: dataset weight, split evenly over the
dataset's examples, optionally re-weighted towards rare classes (`class_balance`).
"""

from __future__ import annotations

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
  want = "rafdb" if dataset == "rafdb" else "fer2013"
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


def load_dataset_split(config: ml_collections.ConfigDict, dataset: str, split: str,
                       allow_empty: bool = False) -> dict[str, np.ndarray]:
  """{'image': (n, 48, 48, 1) uint8, 'label': (n,) int32, 'target': (n, K) float32}.

  A 7-class run on FER+ drops the rows whose majority is contempt. Raises
  DataError (with download instructions) when the data is missing, and
  ConfigError when TFDS is needed but not installed.
  """
  num_classes = config_lib.num_classes(config)
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
  return {"image": images, "label": labels,
          "target": _targets(config, dataset, arrays, num_classes)}


def load_split(config: ml_collections.ConfigDict, split: str) -> dict[str, np.ndarray]:
  """`config.dataset`'s split (see `load_dataset_split`)."""
  return load_dataset_split(config, config.dataset, split)


def sampling_weights(labels: np.ndarray, dataset_weight: float, class_balance: float,
                     num_classes: int) -> np.ndarray:
  """Per-example weights summing to `dataset_weight`, rare classes up-weighted."""
  counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
  per_class = np.where(counts > 0, np.maximum(counts, 1.0) ** -class_balance, 0.0)
  weights = per_class[labels]
  return (dataset_weight * weights / weights.sum()).astype(np.float32)


def load_train_mixture(config: ml_collections.ConfigDict) -> dict[str, np.ndarray]:
  """The concatenated train splits of the mixture, with a sampling `weight` each.

  Weights are returned only when sampling is not uniform over the examples
  (a real mixture or class balancing); otherwise each epoch is a permutation.
  """
  parts = config_lib.mixture(config)
  splits = [load_dataset_split(config, name, "train") for name, _ in parts]
  out = {k: np.concatenate([s[k] for s in splits]) for k in ("image", "label", "target")}
  if len(parts) > 1 or config.class_balance > 0:
    total = sum(w for _, w in parts)
    out["weight"] = np.concatenate([
        sampling_weights(s["label"], w / total, config.class_balance,
                         config_lib.num_classes(config))
        for s, (_, w) in zip(splits, parts)])
  return out


def load_eval_splits(config: ml_collections.ConfigDict, split: str
                     ) -> dict[str, dict[str, np.ndarray]]:
  """{dataset: arrays} for every mixture dataset with a non-empty `split`.

  A withheld split (e.g. RAF-DB's test set) is left out; a missing one for
  every dataset is an error.
  """
  out = {}
  for name, _ in config_lib.mixture(config):
    try:
      arrays = load_dataset_split(config, name, split, allow_empty=True)
    except MissingSplit:
      continue
    if len(arrays["label"]):
      out[name] = arrays
  if not out:
    raise DataError(f"split {split!r} is empty for every dataset of the run")
  return out
