"""RAF-DB basic (Real-world Affective Faces, Li, Deng & Du, CVPR 2017): the two common layouts.

Official ``basic/`` layout::

    EmoLabel/list_patition_label.txt    "train_00001.jpg 5" per line (1-based labels)
    Image/aligned/train_00001_aligned.jpg   100x100 aligned faces
    Image/original/train_00001.jpg          full photos (used when aligned is absent)

The common re-packaging::

    DATASET/train/<1..7>/train_00001_aligned.jpg   (+ DATASET/test/...)
    train_labels.csv, test_labels.csv              "image,label" (1-based)

Splits: the official `test` (3,068 images, may be withheld), and the official
training images divided into `train` and a fixed `validation` part
(`VALIDATION_FRACTION`, chosen by a hash of the file name, so it does not
depend on the order or on which other files exist).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
from collections.abc import Sequence

import numpy as np

from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS

LABEL_FILE = "list_patition_label.txt"
VALIDATION_FRACTION = 0.1
SPLITS = ("train", "validation", "test")

# RAF-DB's 1-based label order -> ferjax emotion.
RAF_LABELS: dict[int, str] = {
    1: "surprise", 2: "fear", 3: "disgust", 4: "happy", 5: "sad", 6: "angry", 7: "neutral"}

INSTRUCTIONS = """\
RAF-DB is not downloaded automatically (its licence forbids redistribution).
Request the basic set from the authors (whdeng.cn/RAF/model1.html), extract it and
put the `basic` folder (EmoLabel/list_patition_label.txt + Image/aligned/) or the
re-packaged `DATASET/` folder with train_labels.csv in the manual directory
(default ~/tensorflow_datasets/downloads/manual/, or pass --manual_dir)."""


@dataclasses.dataclass(frozen=True)
class RafImage:
  path: str
  name: str     # official name, e.g. train_00001.jpg
  label: int    # index into EMOTIONS
  split: str    # train / validation / test


def to_emotion_index(raw: str, where: str) -> int:
  """Maps a 1-based RAF-DB label to an index into EMOTIONS; DataError names `where`."""
  try:
    value = int(raw)
  except ValueError:
    value = 0
  if value not in RAF_LABELS:
    raise DataError(f"{where}: label {raw.strip()!r} is not a RAF-DB basic label (1..7)")
  return EMOTIONS.index(RAF_LABELS[value])


def split_of(name: str) -> str:
  """`test` for test images; train images go to `validation` by a stable name hash."""
  if name.startswith("test"):
    return "test"
  digest = hashlib.sha256(name.encode()).digest()
  return "validation" if digest[0] < 256 * VALIDATION_FRACTION else "train"


def _find(root: str, name: str, want_dir: bool = False) -> str | None:
  """Shallowest file (or folder) called `name` below `root`."""
  for current, dirs, files in os.walk(root):
    dirs.sort()
    if (name in dirs) if want_dir else (name in files):
      return os.path.join(current, name)
  return None


def _official(label_file: str) -> list[RafImage]:
  image_dir = os.path.join(os.path.dirname(os.path.dirname(label_file)), "Image")
  images = []
  with open(label_file, encoding="utf-8-sig") as f:
    for line_number, line in enumerate(f, 1):
      if not line.strip():
        continue
      where = f"{label_file}:{line_number}"
      fields = line.split()
      if len(fields) != 2:
        raise DataError(f"{where}: expected 'name label', got {line.strip()!r}")
      name, raw = fields
      stem, ext = os.path.splitext(name)
      candidates = [os.path.join(image_dir, "aligned", f"{stem}_aligned{ext}"),
                    os.path.join(image_dir, "original", name)]
      path = next((p for p in candidates if os.path.isfile(p)), None)
      if path is None:
        raise DataError(f"{where}: image {name} is listed but neither "
                        f"{candidates[0]} nor {candidates[1]} exists")
      images.append(RafImage(path, name, to_emotion_index(raw, where), split_of(name)))
  return images


def _repackaged(dataset_dir: str) -> list[RafImage]:
  root = os.path.dirname(dataset_dir)
  images = []
  for part in ("train", "test"):
    labels_csv = _find(root, f"{part}_labels.csv")
    if labels_csv is None:
      continue
    with open(labels_csv, newline="", encoding="utf-8-sig") as f:
      reader = csv.reader(f)
      header = next(reader, None)
      if header is None or [h.strip() for h in header[:2]] != ["image", "label"]:
        raise DataError(f"{labels_csv}:1: expected the header 'image,label'")
      for fields in reader:
        if not fields or not "".join(fields).strip():
          continue
        where = f"{labels_csv}:{reader.line_num}"
        if len(fields) < 2:
          raise DataError(f"{where}: expected 'image,label'")
        file_name, raw = fields[0].strip(), fields[1]
        label = to_emotion_index(raw, where)
        path = os.path.join(dataset_dir, part, raw.strip(), file_name)
        if not os.path.isfile(path):
          raise DataError(f"{where}: image {file_name} is listed but {path} does not exist")
        name = file_name.replace("_aligned", "")
        images.append(RafImage(path, name, label, split_of(name)))
  return images


def find_images(manual_dir: str | os.PathLike) -> list[RafImage]:
  """Every listed RAF-DB basic image below `manual_dir`, sorted by name."""
  manual_dir = os.fspath(manual_dir)
  if not os.path.isdir(manual_dir):
    raise DataError(f"manual directory {manual_dir!r} does not exist.\n" + INSTRUCTIONS)
  label_file = _find(manual_dir, LABEL_FILE)
  if label_file is not None:
    images = _official(label_file)
  else:
    dataset_dir = _find(manual_dir, "DATASET", want_dir=True)
    if dataset_dir is None:
      raise DataError(f"no RAF-DB label file ({LABEL_FILE}, or DATASET/ with "
                      f"train_labels.csv) found in {manual_dir!r}.\n" + INSTRUCTIONS)
    images = _repackaged(dataset_dir)
  if not images:
    raise DataError(f"{manual_dir!r}: the RAF-DB label file lists no images")
  return sorted(images, key=lambda image: image.name)


def face_crops(images: list[RafImage], detector: str = "default",
               train_fills: Sequence[str] = ("replicate",)
               ) -> tuple[np.ndarray, np.ndarray]:
  """((n, 48, 48) uint8 faces, (n,) bool found): each image as the live tool frames it.

  RAF-DB's aligned images are tight crops; `faces.photo.PhotoFaces` pads them
  before detecting, so the training crops match live and eval crops. About a fifth
  of a crop lies beyond the aligned photo: validation and test crops fill it as the
  live tool does (the edge repeated); a training crop takes one of `train_fills`
  (`faces.photo.OUTSIDE_FILLS`), fixed by its name.
  """
  from ferjax.data.images import read_image  # pylint: disable=g-import-not-at-top
  from ferjax.faces import photo  # pylint: disable=g-import-not-at-top
  finder = photo.PhotoFaces(detector)
  faces = np.zeros((len(images), photo.FACE_SIZE, photo.FACE_SIZE), np.uint8)
  found = np.zeros(len(images), bool)
  for i, image in enumerate(images):
    bgr = read_image(image.path, "RGB")[..., ::-1].copy()
    fill = (photo.fill_for(image.name, train_fills) if image.split == "train"
            else "replicate")
    faces[i], found[i] = finder.crop(bgr, fill)
  return faces, found
