"""Tiny synthetic copies of the official dataset layouts, built by the tests."""

from __future__ import annotations

import io
import os
import tarfile

import numpy as np
from PIL import Image

from ferjax.data import fer2013

USAGES = ("Training", "Training", "Training", "Training", "PublicTest",
          "PublicTest", "PrivateTest", "PrivateTest", "PrivateTest", "Training")

FERPLUS_HEADER = "Usage,Image name," + ",".join(fer2013.FERPLUS_VOTE_COLUMNS)


def fer2013_rows(num_rows: int = len(USAGES), seed: int = 0):
  """Deterministic (label, image, usage) rows."""
  rng = np.random.default_rng(seed)
  for i in range(num_rows):
    image = rng.integers(0, 256, size=(48, 48), dtype=np.uint8)
    yield i % 7, image, USAGES[i % len(USAGES)]


def fer2013_csv_text(rows) -> str:
  lines = ["emotion,pixels,Usage"]
  for label, image, usage in rows:
    lines.append(f"{label},{' '.join(map(str, image.ravel()))},{usage}")
  return "\n".join(lines) + "\n"


def write_fer2013_archive(directory: str, text: str) -> str:
  """Writes `text` as fer2013/fer2013.csv inside fer2013.tar.gz, like the Kaggle archive."""
  os.makedirs(directory, exist_ok=True)
  path = os.path.join(directory, fer2013.ARCHIVE_NAME)
  data = text.encode()
  with tarfile.open(path, "w:gz") as tar:
    info = tarfile.TarInfo("fer2013/fer2013.csv")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
  return path


def write_ferplus_csv(directory: str, votes_in_file_order: list[list[int]]) -> str:
  path = os.path.join(directory, fer2013.FERPLUS_CSV_NAME)
  with open(path, "w") as f:
    f.write(FERPLUS_HEADER + "\n")
    for i, votes in enumerate(votes_in_file_order):
      usage = USAGES[i % len(USAGES)]
      f.write(f"{usage},fer{i:07d}.png,{','.join(map(str, votes))}\n")
  return path


def write_image(path: str, size=(40, 30), mode="RGB", seed: int = 0) -> None:
  rng = np.random.default_rng(seed)
  channels = {"RGB": (3,), "L": ()}[mode]
  pixels = rng.integers(0, 256, size=(size[1], size[0], *channels), dtype=np.uint8)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(pixels, mode).save(path)


def write_kdef_tree(root: str, subjects=("AF01", "BM02"),
                    expressions=("AF", "AN", "HA"), angles=("S", "HL", "FR")) -> str:
  """KDEF/<subject>/<subject><expr><angle>.JPG, as in the official archive."""
  kdef_dir = os.path.join(root, "KDEF")
  for s, subject in enumerate(subjects):
    for e, expression in enumerate(expressions):
      for a, angle in enumerate(angles):
        name = f"{subject}{expression}{angle}.JPG"
        write_image(os.path.join(kdef_dir, subject, name), seed=s * 100 + e * 10 + a)
  # Files that are not KDEF images are ignored.
  with open(os.path.join(kdef_dir, "README.txt"), "w") as f:
    f.write("not an image")
  return kdef_dir


def write_jaffe_tree(root: str, names=("KA.AN1.39.tiff", "KA.HA2.30.tiff",
                                       "NA.FE1.219.tiff", "YM.SU3.60.tiff")) -> str:
  folder = os.path.join(root, "jaffedbase")
  for i, name in enumerate(names):
    write_image(os.path.join(folder, name), size=(32, 32), mode="L", seed=i)
  with open(os.path.join(folder, "README"), "w") as f:
    f.write("not an image")
  return folder


# RAF-DB: (official name, 1-based RAF label) of a tiny tree.
RAF_ENTRIES = (("train_00001.jpg", 1), ("train_00002.jpg", 4), ("train_00003.jpg", 7),
               ("train_00004.jpg", 3), ("test_0001.jpg", 6), ("test_0002.jpg", 5))


def write_rafdb_official(root: str, entries=RAF_ENTRIES, missing=()) -> str:
  """basic/EmoLabel/list_patition_label.txt + basic/Image/aligned/*_aligned.jpg."""
  basic = os.path.join(root, "basic")
  os.makedirs(os.path.join(basic, "EmoLabel"), exist_ok=True)
  with open(os.path.join(basic, "EmoLabel", "list_patition_label.txt"), "w") as f:
    for i, (name, label) in enumerate(entries):
      f.write(f"{name} {label}\n")
      if name not in missing:
        stem = name[:-len(".jpg")]
        write_image(os.path.join(basic, "Image", "aligned", f"{stem}_aligned.jpg"),
                    size=(100, 100), seed=i)
  return basic


def write_rafdb_repackaged(root: str, entries=RAF_ENTRIES) -> str:
  """DATASET/<train|test>/<1..7>/<name>_aligned.jpg + train_labels.csv, test_labels.csv."""
  for part in ("train", "test"):
    rows = [(n, l) for n, l in entries if n.startswith(part)]
    with open(os.path.join(root, f"{part}_labels.csv"), "w") as f:
      f.write("image,label\n")
      for i, (name, label) in enumerate(rows):
        file_name = name.replace(".jpg", "_aligned.jpg")
        f.write(f"{file_name},{label}\n")
        write_image(os.path.join(root, "DATASET", part, str(label), file_name),
                    size=(100, 100), seed=i)
  return os.path.join(root, "DATASET")
