"""Parsing of the FER2013 challenge CSV and the FER+ vote file.

Pure numpy: shared by the TFDS builders (`ferjax.datasets`) and by the numpy
loader used where TensorFlow is not installed (`ferjax.data.npz`).

Layout of the manual directory (the Kaggle challenge archive)::

    <manual_dir>/fer2013.tar.gz          # holds fer2013/fer2013.csv
    <manual_dir>/fer2013.csv             # ...or the extracted CSV (any depth)
    <manual_dir>/fer2013new.csv          # FER+ votes, only for FER+

Both CSVs may start with a byte-order mark (Excel's "CSV UTF-8") and may hold
blank lines (e.g. a trailing one); blank lines are skipped.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import tarfile
from collections.abc import Iterator
from typing import IO

import numpy as np

from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS, FERPLUS_EMOTIONS

IMAGE_SIZE = 48
NUM_PIXELS = IMAGE_SIZE * IMAGE_SIZE
CSV_NAME = "fer2013.csv"
ARCHIVE_NAME = "fer2013.tar.gz"
FERPLUS_CSV_NAME = "fer2013new.csv"

# Usage column value -> split name.
SPLITS: dict[str, str] = {
    "Training": "train", "PublicTest": "validation", "PrivateTest": "test"}

# Columns of fer2013new.csv after `Usage,Image name`, in file order.
FERPLUS_VOTE_COLUMNS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
    "contempt", "unknown", "NF")
# Order of the `votes` feature: the 8 FER+ emotions in ferjax order, then
# unknown and not-a-face.
VOTE_NAMES: tuple[str, ...] = FERPLUS_EMOTIONS + ("unknown", "not_face")
_VOTE_COLUMN_OF = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
    "sad": "sadness", "surprise": "surprise", "neutral": "neutral",
    "contempt": "contempt", "unknown": "unknown", "not_face": "NF"}
_VOTE_COLUMN_INDEX = [FERPLUS_VOTE_COLUMNS.index(_VOTE_COLUMN_OF[n]) for n in VOTE_NAMES]
NUM_VOTES = len(VOTE_NAMES)

FER2013_INSTRUCTIONS = f"""\
FER2013 is not downloaded automatically. Get the Kaggle challenge archive
("Challenges in Representation Learning: Facial Expression Recognition
Challenge", file {ARCHIVE_NAME} holding fer2013/{CSV_NAME}) and put the
archive, or the extracted {CSV_NAME}, in the manual directory
(default ~/tensorflow_datasets/downloads/manual/, or pass --manual_dir)."""

FERPLUS_INSTRUCTIONS = FER2013_INSTRUCTIONS + f"""
FER+ also needs {FERPLUS_CSV_NAME} from the FERPlus repository
(github.com/microsoft/FERPlus) in the same directory."""


@dataclasses.dataclass(frozen=True)
class Fer2013Table:
  """All rows of fer2013.csv, in file order."""
  images: np.ndarray   # (N, 48, 48) uint8
  labels: np.ndarray   # (N,) int64, index into EMOTIONS
  splits: np.ndarray   # (N,) str: train / validation / test

  def split_rows(self, split: str) -> np.ndarray:
    """Row indices of one split, ascending."""
    if split not in SPLITS.values():
      raise DataError(f"unknown split {split!r}; choose from {sorted(SPLITS.values())}")
    return np.flatnonzero(self.splits == split)


def find_file(manual_dir: str | os.PathLike, name: str) -> str | None:
  """Finds `name` in `manual_dir` or below it (shallowest first)."""
  manual_dir = os.fspath(manual_dir)
  direct = os.path.join(manual_dir, name)
  if os.path.isfile(direct):
    return direct
  for root, dirs, files in os.walk(manual_dir):
    dirs.sort()
    if name in files:
      return os.path.join(root, name)
  return None


def _non_blank(reader: Iterator[list[str]]) -> Iterator[list[str]]:
  """The rows of a csv.reader, without blank lines."""
  return (fields for fields in reader if any(f.strip() for f in fields))


def check_manual_dir(manual_dir: str | os.PathLike, ferplus: bool = False) -> None:
  """Raises DataError (with the download instructions) unless the files are there.

  Cheap: looks for the files without reading them.
  """
  instructions = FERPLUS_INSTRUCTIONS if ferplus else FER2013_INSTRUCTIONS
  if not os.path.isdir(manual_dir):
    raise DataError(f"manual directory {os.fspath(manual_dir)!r} does not exist.\n"
                    + instructions)
  if find_file(manual_dir, CSV_NAME) is None and find_file(manual_dir, ARCHIVE_NAME) is None:
    raise DataError(f"neither {CSV_NAME} nor {ARCHIVE_NAME} found in "
                    f"{os.fspath(manual_dir)!r}.\n" + instructions)
  if ferplus and find_file(manual_dir, FERPLUS_CSV_NAME) is None:
    raise DataError(f"{FERPLUS_CSV_NAME} not found in {os.fspath(manual_dir)!r}.\n"
                    + FERPLUS_INSTRUCTIONS)


def _open_csv_text(manual_dir: str | os.PathLike) -> tuple[str, IO[str], list]:
  """Opens fer2013.csv, extracted or inside the archive; returns (name, text, closers)."""
  if not os.path.isdir(manual_dir):
    raise DataError(f"manual directory {os.fspath(manual_dir)!r} does not exist.\n"
                    + FER2013_INSTRUCTIONS)
  path = find_file(manual_dir, CSV_NAME)
  if path is not None:
    f = open(path, newline="", encoding="utf-8-sig")  # pylint: disable=consider-using-with
    return path, f, [f]
  archive = find_file(manual_dir, ARCHIVE_NAME)
  if archive is None:
    raise DataError(f"neither {CSV_NAME} nor {ARCHIVE_NAME} found in "
                    f"{os.fspath(manual_dir)!r}.\n" + FER2013_INSTRUCTIONS)
  try:
    tar = tarfile.open(archive, "r:*")
    member = next((m for m in tar if m.isfile()
                   and os.path.basename(m.name) == CSV_NAME), None)
  except (tarfile.TarError, OSError, EOFError) as e:
    raise DataError(f"{archive}: not a readable tar archive ({e})") from e
  if member is None:
    tar.close()
    raise DataError(f"{archive}: holds no {CSV_NAME}")
  raw = tar.extractfile(member)
  text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
  return f"{archive}:{member.name}", text, [text, tar]


def parse_pixels(text: str, where: str) -> np.ndarray:
  """Parses one `pixels` field into a (48, 48) uint8 image; `where` names file:line."""
  try:
    values = np.fromstring(text, dtype=np.int64, sep=" ")
  except ValueError:
    raise DataError(f"{where}: pixels are not all integers") from None
  if values.size != NUM_PIXELS:
    raise DataError(f"{where}: expected {NUM_PIXELS} pixels, found {values.size}")
  if values.min() < 0 or values.max() > 255:
    raise DataError(f"{where}: pixel values must lie in 0..255")
  return values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def iter_csv_rows(name: str, text: IO[str]) -> Iterator[tuple[int, int, str, np.ndarray]]:
  """Yields (row, label, split, image) for each data line of a fer2013.csv stream."""
  reader = csv.reader(text)
  rows = _non_blank(reader)
  header = next(rows, None)
  if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
    raise DataError(f"{name}:{reader.line_num or 1}: expected the header "
                    f"'emotion,pixels,Usage', got {header}")
  for row, fields in enumerate(rows):
    where = f"{name}:{reader.line_num}"
    if len(fields) != 3:
      raise DataError(f"{where}: expected 3 fields, found {len(fields)}")
    emotion, pixels, usage = fields
    if not emotion.strip().isdigit() or int(emotion) >= len(EMOTIONS):
      raise DataError(f"{where}: unknown emotion label {emotion!r} (expected 0-6)")
    if usage.strip() not in SPLITS:
      raise DataError(f"{where}: unknown Usage {usage!r} "
                      f"(expected one of {', '.join(SPLITS)})")
    yield row, int(emotion), SPLITS[usage.strip()], parse_pixels(pixels, where)


def read_fer2013(manual_dir: str | os.PathLike) -> Fer2013Table:
  """Reads and validates every row of fer2013.csv (archive or extracted)."""
  name, text, closers = _open_csv_text(manual_dir)
  try:
    images, labels, splits = [], [], []
    try:
      for _, label, split, image in iter_csv_rows(name, text):
        images.append(image)
        labels.append(label)
        splits.append(split)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError, tarfile.TarError) as e:
      raise DataError(f"{name}: unreadable ({e})") from e
  finally:
    for c in closers:
      c.close()
  if not images:
    raise DataError(f"{name}: holds no data rows")
  return Fer2013Table(
      images=np.stack(images),
      labels=np.asarray(labels, np.int64),
      splits=np.asarray(splits))


def votes_to_ferjax_order(raw: np.ndarray) -> np.ndarray:
  """Reorders vote columns from fer2013new.csv order to `VOTE_NAMES` order."""
  return raw[..., _VOTE_COLUMN_INDEX]


def read_ferplus_votes(manual_dir: str | os.PathLike, num_rows: int) -> np.ndarray:
  """Reads fer2013new.csv; returns (num_rows, 10) int32 votes in `VOTE_NAMES` order."""
  path = find_file(manual_dir, FERPLUS_CSV_NAME)
  if path is None:
    raise DataError(f"{FERPLUS_CSV_NAME} not found in {os.fspath(manual_dir)!r}.\n"
                    + FERPLUS_INSTRUCTIONS)
  votes = []
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.reader(f)
    rows = _non_blank(reader)
    header = next(rows, None)
    expected = ["Usage", "Image name", *FERPLUS_VOTE_COLUMNS]
    if header is None or [h.strip() for h in header] != expected:
      raise DataError(f"{path}:{reader.line_num or 1}: expected the header "
                      f"{','.join(expected)}")
    for fields in rows:
      where = f"{path}:{reader.line_num}"
      if len(fields) != len(expected):
        raise DataError(f"{where}: expected {len(expected)} fields, found {len(fields)}")
      try:
        row_votes = [int(v) for v in fields[2:]]
      except ValueError:
        raise DataError(f"{where}: votes must be integers") from None
      if min(row_votes) < 0:
        raise DataError(f"{where}: votes must not be negative")
      votes.append(row_votes)
  if len(votes) != num_rows:
    raise DataError(f"{path}: has {len(votes)} data rows but {CSV_NAME} has "
                    f"{num_rows}; the two files must describe the same rows")
  return votes_to_ferjax_order(np.asarray(votes, np.int32))


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
  """FER+ majority label per row, or -1 for rows FER+ drops.

  `votes` is (N, 10) in `VOTE_NAMES` order. The rule of the FER+ paper's
  majority mode: a single vote for a class is treated as noise and removed;
  the row keeps the class that then holds strictly more than half of the
  remaining votes; rows with no such class, or whose majority is `unknown` or
  `not_face`, are dropped (-1). Labels index `FERPLUS_EMOTIONS`.
  """
  cleaned = np.where(votes > 1, votes, 0)
  total = cleaned.sum(axis=-1)
  top = cleaned.argmax(axis=-1)
  top_votes = cleaned.max(axis=-1)
  keep = (2 * top_votes > total) & (top < len(FERPLUS_EMOTIONS))
  return np.where(keep, top, -1)
