"""Whole splits as host arrays ready for the device: images, hard labels, target distributions."""

from __future__ import annotations

import ml_collections
import numpy as np

from ferjax import config_lib
from ferjax import synthetic
from ferjax.data import loader
from ferjax.data.errors import DataError
from ferjax.labels import FERPLUS_EMOTIONS

SPLITS = ("train", "validation", "test")


def _targets(arrays: dict[str, np.ndarray], num_classes: int, soft: bool) -> np.ndarray:
  """(n, K) float32: one-hot labels, or FER+ votes normalised over the emotions."""
  if soft:
    votes = arrays["votes"][:, :len(FERPLUS_EMOTIONS)].astype(np.float32)
    return votes / np.maximum(votes.sum(axis=1, keepdims=True), 1.0)
  return np.eye(num_classes, dtype=np.float32)[arrays["label"]]


def load_split(config: ml_collections.ConfigDict, split: str) -> dict[str, np.ndarray]:
  """{'image': (n, 48, 48, 1) uint8, 'label': (n,) int32, 'target': (n, K) float32}.

  Raises DataError (with download instructions) when the data is missing, and
  ConfigError when TFDS is needed but not installed.
  """
  num_classes = config_lib.num_classes(config)
  if config.dataset == "synthetic":
    sizes = dict(zip(SPLITS, config.synthetic_sizes))
    arrays = synthetic.make_split(split, sizes[split], num_classes)
  else:
    try:
      arrays = loader.load_arrays(config.dataset, split, data_dir=config.data_dir or None,
                                  manual_dir=config.manual_dir or None,
                                  npz_path=config.npz_path or None)
    except ImportError as e:
      raise config_lib.ConfigError(
          f"reading {config.dataset} without npz_path needs tensorflow-datasets ({e}); "
          "on this machine prepare an .npz elsewhere with `python -m ferjax.data.npz "
          "--manual_dir DIR --out FILE` and pass --config.npz_path=FILE") from None
  images = np.asarray(arrays["image"], np.uint8)
  if images.ndim == 3:
    images = images[..., None]
  labels = np.asarray(arrays["label"], np.int32)
  if len(labels) == 0:
    raise DataError(f"{config.dataset}: split {split!r} is empty")
  return {"image": images, "label": labels,
          "target": _targets(arrays, num_classes, config.soft_labels)}
