"""One place to get a split as numpy arrays, with or without TensorFlow.

Training and evaluation call `load_arrays`; it reads a prepared .npz when one
is given (no TensorFlow needed) and otherwise goes through the TFDS builders, or,
where TensorFlow is not installed (the runtime-only install), through the same
parsers straight from the downloaded files.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import numpy as np

from ferjax.data import npz
from ferjax.data.errors import DataError, MissingSplit

DATASETS = ("fer2013", "ferplus", "rafdb", "expw", "kdef", "jaffe")
READERS = ("auto", "tfds", "files")


def _remove_if_no_data(path: str) -> None:
  """Removes a dataset folder left by a failed prepare if it holds no prepared data.

  Only for a folder the failed prepare created (see `load_tfds`). TFDS already
  deletes its incomplete files; what stays behind is empty folders and the
  builder-config note in `.config/`.
  """
  if not os.path.isdir(path):
    return
  for root, dirs, files in os.walk(path):
    dirs[:] = [d for d in dirs if d != ".config"]
    if files:
      return
  shutil.rmtree(path)


def check_manual_data(builder, manual_dir: str | os.PathLike) -> None:
  """Raises the dataset's own DataError (with instructions) if its files are missing.

  Run before TFDS starts preparing, so a missing download is reported at once.
  """
  from ferjax.data import expw, fer2013, jaffe, kdef, rafdb  # pylint: disable=g-import-not-at-top
  name = builder.name
  if name in ("fer2013", "ferplus"):
    fer2013.check_manual_dir(manual_dir, ferplus=name == "ferplus")
  elif name == "rafdb":
    rafdb.find_images(manual_dir)
  elif name == "expw":
    expw.find_faces(manual_dir)
  elif name == "kdef":
    kdef.find_images(manual_dir, builder.builder_config.angles)
  elif name == "jaffe":
    jaffe.find_images(manual_dir)


def load_tfds(name: str, split: str, *, data_dir: str | None = None,
              manual_dir: str | None = None, config: str | None = None):
  """Prepares (once) and loads a split with TFDS; returns a `tf.data.Dataset`.

  Errors from bad or missing manual data come back as `DataError`, before
  TFDS starts preparing when the files are missing.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  # Registers the builders with TFDS.
  import ferjax.datasets  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import

  if name not in DATASETS:
    raise DataError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
  full_name = f"{name}/{config}" if config else name
  manual_dir = os.path.expanduser(manual_dir) if manual_dir else None
  download_config = tfds.download.DownloadConfig(manual_dir=manual_dir)
  builder = tfds.builder(full_name, data_dir=data_dir)
  dataset_dir = os.path.join(os.fspath(builder.data_dir_root), name)
  # Prepared data has dataset_info.json (builder.is_prepared() says the same, with a warning).
  if not os.path.exists(os.path.join(os.fspath(builder.data_path), "dataset_info.json")):
    # TFDS's own default: <data_dir>/downloads/manual.
    check_manual_data(builder, manual_dir or os.path.join(
        os.fspath(builder.data_dir_root), "downloads", "manual"))
  created = not os.path.exists(dataset_dir)  # Only a folder made here is cleaned up.
  try:
    builder.download_and_prepare(download_config=download_config)
  except AssertionError as e:  # TFDS's missing/empty manual dir
    if created:
      _remove_if_no_data(dataset_dir)
    raise DataError(f"{name}: {e}") from None
  except DataError:
    if created:
      _remove_if_no_data(dataset_dir)
    raise
  if split not in builder.info.splits:
    raise MissingSplit(f"{name}: the manual download holds no {split!r} split "
                       f"(it has {', '.join(builder.info.splits)})")
  return builder.as_dataset(split=split)


def has_tfds() -> bool:
  """Whether TensorFlow Datasets (and TensorFlow) are installed: the training extra."""
  return all(importlib.util.find_spec(m) for m in ("tensorflow", "tensorflow_datasets"))


def use_files(reader: str) -> bool:
  """Whether `reader` (auto, tfds or files) reads the downloaded files directly."""
  if reader not in READERS:
    raise DataError(f"unknown reader {reader!r}; choose from {', '.join(READERS)}")
  if reader == "tfds" and not has_tfds():
    raise DataError('the TFDS reader needs TensorFlow Datasets: pip install "ferjax[train]"')
  return reader == "files" or (reader == "auto" and not has_tfds())


def load_arrays(name: str, split: str, *, data_dir: str | None = None,
                manual_dir: str | None = None, npz_path: str | None = None,
                config: str | None = None, reader: str = "auto") -> dict[str, np.ndarray]:
  """A whole split as numpy arrays keyed by feature name (`image`, `label`, ...).

  From a prepared .npz when one is given; else through the TFDS builders, or,
  with `reader="files"` (and by default where TensorFlow is not installed), from
  the downloaded files in `manual_dir` by the same parsers, with no TensorFlow.
  """
  if npz_path:
    return npz.load_split(npz_path, split, name)
  if use_files(reader):
    if name not in npz.DATASETS:
      raise DataError(f"{name} is a photo dataset: its faces are cut from the photos "
                      "(ferjax.evaluation.evaluator), not read as arrays")
    if not manual_dir:
      raise DataError(f"{name} without TensorFlow Datasets is read from the downloaded "
                      "files: pass --manual_dir (or a prepared --npz)")
    arrays = npz.select_split(npz.from_manual_dir(name, os.path.expanduser(manual_dir)),
                              split, name, os.fspath(manual_dir))
    if not len(arrays["label"]):
      raise MissingSplit(f"{name}: the manual download holds no {split!r} split")
    return arrays
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  dataset = load_tfds(name, split, data_dir=data_dir, manual_dir=manual_dir, config=config)
  return tfds.as_numpy(dataset.batch(1 << 30).get_single_element())
