"""FER2013 / FER+ or RAF-DB as a single .npz file, for machines without TensorFlow.

`prepare` parses the manual directory with the same code as the TFDS builders
(`ferjax.data.fer2013`, `ferjax.data.rafdb`) and writes every row; `load_split`
returns one split as arrays with the same feature names as the builders.

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz
    python -m ferjax.data.npz --dataset rafdb --manual_dir ~/data/rafdb --out rafdb.npz
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ferjax.data import fer2013
from ferjax.data import rafdb
from ferjax.data.errors import DataError

DATASETS = ("fer2013", "ferplus", "rafdb")


def _fer2013_arrays(manual_dir: str | os.PathLike, with_ferplus: bool) -> dict:
  table = fer2013.read_fer2013(manual_dir)
  arrays = {"dataset": np.asarray("fer2013"), "images": table.images,
            "labels": table.labels, "splits": table.splits}
  if with_ferplus and fer2013.find_file(manual_dir, fer2013.FERPLUS_CSV_NAME):
    arrays["votes"] = fer2013.read_ferplus_votes(manual_dir, len(table.labels))
  return arrays


def _rafdb_arrays(manual_dir: str | os.PathLike) -> dict:
  images = rafdb.find_images(manual_dir)
  faces, found = rafdb.face_crops(images)
  return {"dataset": np.asarray("rafdb"), "images": faces,
          "labels": np.asarray([i.label for i in images], np.int64),
          "splits": np.asarray([i.split for i in images]),
          "names": np.asarray([i.name for i in images]), "face_found": found}


def prepare(manual_dir: str | os.PathLike, out_path: str | os.PathLike,
            with_ferplus: bool = True, dataset: str = "fer2013") -> str:
  """Writes every row of `dataset` (fer2013 [+ FER+ votes] or rafdb) to `out_path`."""
  if dataset == "rafdb":
    arrays = _rafdb_arrays(manual_dir)
  elif dataset in ("fer2013", "ferplus"):
    arrays = _fer2013_arrays(manual_dir, with_ferplus)
  else:
    raise DataError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
  out_path = os.fspath(out_path)
  directory = os.path.dirname(os.path.abspath(out_path))
  os.makedirs(directory, exist_ok=True)
  # Write beside the target and rename, so a failure leaves no partial file.
  fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
  try:
    with os.fdopen(fd, "wb") as f:
      np.savez_compressed(f, **arrays)
    os.replace(tmp, out_path)
  except BaseException:
    os.unlink(tmp)
    raise
  return out_path


def load_split(npz_path: str | os.PathLike, split: str,
               dataset: str = "fer2013") -> dict[str, np.ndarray]:
  """One split as arrays: `image` (n, 48, 48, 1) uint8, `label`, `row` [, `votes`].

  For `ferplus` the rows follow the builder: FER+ majority labels (indices
  into FERPLUS_EMOTIONS), rows without a majority dropped, `votes` included.
  """
  if dataset not in DATASETS:
    raise DataError(f"unknown dataset {dataset!r}; the npz holds {DATASETS}")
  try:
    with np.load(npz_path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except (OSError, ValueError, EOFError) as e:
    raise DataError(f"{os.fspath(npz_path)}: not a readable ferjax .npz ({e})") from e
  missing = {"images", "labels", "splits"} - set(arrays)
  if missing:
    raise DataError(f"{os.fspath(npz_path)}: missing arrays {sorted(missing)}")
  holds = str(arrays.get("dataset", "fer2013"))
  if (holds == "rafdb") != (dataset == "rafdb"):
    raise DataError(f"{os.fspath(npz_path)} holds {holds}, not {dataset}; prepare one "
                    f"with `python -m ferjax.data.npz --dataset {dataset}`")
  if dataset == "rafdb":
    rows = np.flatnonzero(arrays["splits"] == split)
    return {"image": arrays["images"][rows][..., None], "label": arrays["labels"][rows],
            "row": rows, "name": arrays["names"][rows]}
  table = fer2013.Fer2013Table(arrays["images"], arrays["labels"], arrays["splits"])
  rows = table.split_rows(split)
  labels = table.labels
  out = {}
  if dataset == "ferplus":
    if "votes" not in arrays:
      raise DataError(f"{os.fspath(npz_path)}: has no FER+ votes; prepare it "
                      f"with {fer2013.FERPLUS_CSV_NAME} in the manual directory")
    labels = fer2013.ferplus_majority(arrays["votes"])
    rows = rows[labels[rows] >= 0]
    out["votes"] = arrays["votes"][rows]
    out["fer2013_label"] = table.labels[rows]
  out.update(image=table.images[rows][..., None], label=labels[rows], row=rows)
  return out


def main(argv: list[str]) -> None:
  del argv
  try:
    path = prepare(FLAGS.manual_dir, FLAGS.out, dataset=FLAGS.dataset)
  except DataError as e:
    raise SystemExit(f"error: {e}") from None
  print(f"wrote {path}")


if __name__ == "__main__":
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("manual_dir", None, "Folder with fer2013.tar.gz or fer2013.csv "
                      "(and fer2013new.csv for FER+).", required=True)
  flags.DEFINE_string("out", "fer2013.npz", "Output .npz path.")
  flags.DEFINE_enum("dataset", "fer2013", ["fer2013", "rafdb"],
                    "fer2013 (with FER+ votes when fer2013new.csv is there) or rafdb.")
  FLAGS = flags.FLAGS
  app.run(main)
