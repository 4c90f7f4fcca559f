"""FER2013 / FER+, RAF-DB or ExpW as a single .npz file, for machines without TensorFlow.

`prepare` parses the manual directory with the same code as the TFDS builders
(`ferjax.data.fer2013`, `ferjax.data.rafdb`, `ferjax.data.expw`) and writes every
row; `load_split` returns one split as arrays with the same feature names as the
builders. The file's `dataset` array names what it holds (fer2013 for FER+ too).

    python -m ferjax.data.npz --manual_dir ~/data/fer2013 --out fer2013.npz
    python -m ferjax.data.npz --dataset rafdb --manual_dir ~/data/rafdb --out rafdb.npz
    python -m ferjax.data.npz --dataset expw --manual_dir ~/data/expw --out expw.npz
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np

from ferjax.data import expw
from ferjax.data import fer2013
from ferjax.data import rafdb
from ferjax.data.errors import DataError

DATASETS = ("fer2013", "ferplus", "rafdb", "expw")
PHOTO_DATASETS = ("rafdb", "expw")  # Faces cut from photos, one name per face.


def holder(dataset: str) -> str:
  """The `dataset` value of the .npz that holds `dataset` (FER+ is in FER2013's)."""
  return "fer2013" if dataset in ("fer2013", "ferplus") else dataset


def _fer2013_arrays(manual_dir: str | os.PathLike, with_ferplus: bool) -> dict:
  table = fer2013.read_fer2013(manual_dir)
  arrays = {"dataset": np.asarray("fer2013"), "images": table.images,
            "labels": table.labels, "splits": table.splits}
  if with_ferplus and fer2013.find_file(manual_dir, fer2013.FERPLUS_CSV_NAME):
    arrays["votes"] = fer2013.read_ferplus_votes(manual_dir, len(table.labels))
  return arrays


def photo_arrays(dataset: str, items: Sequence, crops: np.ndarray,
                 found: np.ndarray) -> dict[str, np.ndarray]:
  """The arrays of a .npz of faces cut from photos (`PHOTO_DATASETS`): `items` carry
  each face's `label`, `split` and `name`."""
  return {"dataset": np.asarray(dataset), "images": crops,
          "labels": np.asarray([i.label for i in items], np.int64),
          "splits": np.asarray([i.split for i in items]),
          "names": np.asarray([i.name for i in items]), "face_found": np.asarray(found)}


def _rafdb_arrays(manual_dir: str | os.PathLike, train_fills: Sequence[str]) -> dict:
  images = rafdb.find_images(manual_dir)
  return photo_arrays("rafdb", images, *rafdb.face_crops(images, train_fills=train_fills))


def _expw_arrays(manual_dir: str | os.PathLike) -> dict:
  faces = expw.find_faces(manual_dir).faces
  return photo_arrays("expw", faces, *expw.face_crops(faces))


def from_manual_dir(dataset: str, manual_dir: str | os.PathLike,
                    with_ferplus: bool = True, train_fills: Sequence[str] = ("replicate",)
                    ) -> dict[str, np.ndarray]:
  """Every row of `dataset` (fer2013 [+ FER+ votes], rafdb, expw) read from the
  downloaded files, as the arrays a prepared .npz holds. `train_fills`: RAF-DB's
  training crops beyond the aligned photo (`rafdb.face_crops`)."""
  if dataset == "rafdb":
    return _rafdb_arrays(manual_dir, train_fills)
  if dataset == "expw":
    return _expw_arrays(manual_dir)
  if dataset in ("fer2013", "ferplus"):
    return _fer2013_arrays(manual_dir, with_ferplus)
  raise DataError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")


def prepare(manual_dir: str | os.PathLike, out_path: str | os.PathLike,
            with_ferplus: bool = True, dataset: str = "fer2013",
            train_fills: Sequence[str] = ("replicate",)) -> str:
  """Writes every row of `dataset` (fer2013 [+ FER+ votes], rafdb, expw) to `out_path`."""
  return write(from_manual_dir(dataset, manual_dir, with_ferplus, train_fills), out_path)


def write(arrays: dict[str, np.ndarray], out_path: str | os.PathLike) -> str:
  """Writes `arrays` as one compressed .npz, whole or not at all; returns its path."""
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
  """One split as arrays: `image` (n, 48, 48, 1) uint8, `label`, `row`; FER+ adds
  `votes`, RAF-DB and ExpW add `name`.

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
  if holds != holder(dataset):
    raise DataError(f"{os.fspath(npz_path)} holds {holds}, not {dataset}; prepare one "
                    f"with `python -m ferjax.data.npz --dataset {holder(dataset)}`")
  return select_split(arrays, split, dataset, os.fspath(npz_path))


def select_split(arrays: dict[str, np.ndarray], split: str, dataset: str,
                 where: str) -> dict[str, np.ndarray]:
  """One split of the arrays of a .npz (or of `from_manual_dir`), as `load_split` says;
  `where` names their source in errors."""
  if dataset in PHOTO_DATASETS:
    rows = np.flatnonzero(arrays["splits"] == split)
    return {"image": arrays["images"][rows][..., None], "label": arrays["labels"][rows],
            "row": rows, "name": arrays["names"][rows]}
  table = fer2013.Fer2013Table(arrays["images"], arrays["labels"], arrays["splits"])
  rows = table.split_rows(split)
  labels = table.labels
  out = {}
  if dataset == "ferplus":
    if "votes" not in arrays:
      raise DataError(f"{where}: has no FER+ votes; add {fer2013.FERPLUS_CSV_NAME} to "
                      "the manual directory")
    labels = fer2013.ferplus_majority(arrays["votes"])
    rows = rows[labels[rows] >= 0]
    out["votes"] = arrays["votes"][rows]
    out["fer2013_label"] = table.labels[rows]
  out.update(image=table.images[rows][..., None], label=labels[rows], row=rows)
  return out


def summary(npz_path: str | os.PathLike) -> str:
  """One line: faces per split (and where the detector found the face)."""
  with np.load(npz_path, allow_pickle=False) as data:
    splits = data["splits"]
    found = data["face_found"] if "face_found" in data.files else None
  names, counts = np.unique(splits, return_counts=True)
  order = {name: i for i, name in enumerate(("train", "validation", "test"))}
  pairs = sorted(zip(names.tolist(), counts.tolist()),
                 key=lambda pair: (order.get(pair[0], len(order)), pair[0]))
  line = ", ".join(f"{name} {count}" for name, count in pairs)
  if found is not None and len(found):
    line += f"; face found by the detector in {found.mean():.1%}"
  return line


def main(argv: list[str]) -> None:
  del argv
  from ferjax.faces import photo  # pylint: disable=g-import-not-at-top
  try:
    fills = photo.parse_fills(FLAGS.train_fills)
  except ValueError as e:
    raise SystemExit(f"error: --train_fills: {e}") from None
  try:
    path = prepare(FLAGS.manual_dir, FLAGS.out, dataset=FLAGS.dataset, train_fills=fills)
  except DataError as e:
    raise SystemExit(f"error: {e}") from None
  print(f"wrote {path}: {summary(path)}")


if __name__ == "__main__":
  from absl import app, flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string("manual_dir", None, "Folder with fer2013.tar.gz or fer2013.csv "
                      "(and fer2013new.csv for FER+), RAF-DB's basic/ or ExpW's "
                      "label/ and image/.", required=True)
  flags.DEFINE_string("out", "fer2013.npz", "Output .npz path.")
  flags.DEFINE_enum("dataset", "fer2013", ["fer2013", "rafdb", "expw"],
                    "fer2013 (with FER+ votes when fer2013new.csv is there), rafdb or "
                    "expw.")
  flags.DEFINE_list("train_fills", ["replicate"], "RAF-DB: what fills the part of a "
                    "training crop beyond the aligned photo, one per face by its name "
                    "('all': every fill of ferjax.faces.photo.OUTSIDE_FILLS); validation "
                    "and test crops repeat the edge, as the live tool does.")
  FLAGS = flags.FLAGS
  app.run(main)
