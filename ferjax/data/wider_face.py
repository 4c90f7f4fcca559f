"""WIDER FACE ground truth (`wider_face_val_bbx_gt.txt`, the official format).

Pure numpy. The file lists, per image: its path relative to `images/`, the number
of faces, then one line per face::

    x y w h blur expression illumination invalid occlusion pose

(pixels, top-left corner; the attributes are small integers). An image without
faces has a count of 0 followed by one line of zeros. Boxes with a width or
height of zero or less (one face of the official validation split has a negative
width) are skipped and counted in `ImageFaces.skipped`.

    images = wider_face.read_folder("/data/wider_face_indoor")
    wider_face.events(images)   # ['9--Press_Conference', '11--Meeting', ...]
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Sequence

import numpy as np

from ferjax.data.errors import DataError

GROUND_TRUTH_NAME = "wider_face_val_bbx_gt.txt"
IMAGES_DIR = "images"
ATTRIBUTES = ("blur", "expression", "illumination", "invalid", "occlusion", "pose")
_FIELDS = 4 + len(ATTRIBUTES)

INSTRUCTIONS = f"""\
WIDER FACE is not downloaded automatically. Put the official validation ground
truth ({GROUND_TRUTH_NAME}, from wider_face_split.zip) in the folder, next to
{IMAGES_DIR}/<event>/<file>.jpg (from WIDER_val.zip)."""


@dataclasses.dataclass(frozen=True)
class ImageFaces:
  """The labelled faces of one image.

  `boxes` is (n, 4) float x0, y0, x1, y1 in image pixels; the attribute arrays
  are (n,) in the same order (`invalid` as bool). `skipped` counts the faces
  left out for a width or height <= 0; `line` is the 1-based line of `path`.
  """
  path: str
  event: str
  boxes: np.ndarray
  blur: np.ndarray
  expression: np.ndarray
  illumination: np.ndarray
  invalid: np.ndarray
  occlusion: np.ndarray
  pose: np.ndarray
  skipped: int = 0
  line: int = 0

  @property
  def num_faces(self) -> int:
    return len(self.boxes)


class _Lines:
  """Non-blank lines of a file with their 1-based numbers."""

  def __init__(self, path: str):
    self.path = path
    with open(path, encoding="utf-8-sig", errors="replace") as f:
      self._lines = [(i, line.strip()) for i, line in enumerate(f, 1) if line.strip()]
    self._next = 0

  def peek(self) -> tuple[int, str] | None:
    return self._lines[self._next] if self._next < len(self._lines) else None

  def take(self, what: str, image: str) -> tuple[int, str]:
    """The next line; DataError (the file is truncated) when there is none."""
    line = self.peek()
    if line is None:
      last = self._lines[-1][0] if self._lines else 0
      raise DataError(f"{self.path}:{last}: the file ends where {what} of {image} should "
                      "follow; the file is truncated: copy or download it again")
    self._next += 1
    return line

  def error(self, number: int, message: str) -> DataError:
    return DataError(f"{self.path}:{number}: {message}")


def _numbers(text: str) -> list[float] | None:
  """The line as finite numbers, None if it is not a line of numbers."""
  try:
    values = [float(v) for v in text.split()]
  except ValueError:
    return None
  return values if values and all(math.isfinite(v) for v in values) else None


def _count(lines: _Lines, image: str) -> int:
  number, text = lines.take("the face count", image)
  if not re.fullmatch(r"\d+", text):
    raise lines.error(number, f"expected the number of faces of {image}, got {text[:60]!r} "
                      "(a whole number >= 0); fix or replace the ground-truth file")
  return int(text)


def _face(lines: _Lines, image: str, index: int, count: int) -> list[float]:
  number, text = lines.take(f"face {index + 1} of {count}", image)
  values = _numbers(text)
  if values is None or len(values) != _FIELDS:
    raise lines.error(
        number, f"face {index + 1} of {count} of {image}: expected {_FIELDS} numbers "
        f"(x y w h {' '.join(ATTRIBUTES)}), got {text[:60]!r}; the face count above "
        "may be wrong, or the file is damaged: fix or replace it")
  if any(v != int(v) or v < 0 for v in values[4:]):
    raise lines.error(number, f"face {index + 1} of {image}: attributes must be whole "
                      f"numbers >= 0, got {text[:60]!r}; fix or replace the file")
  return values


def _zero_line(lines: _Lines, image: str) -> None:
  """Consumes the line of zeros that follows a count of 0 (absent is accepted)."""
  line = lines.peek()
  if line is None:
    return
  values = _numbers(line[1])
  if values is None:  # The next image's path: no line of zeros here.
    return
  lines.take("the line of zeros", image)
  if any(values):
    raise lines.error(line[0], f"{image} has 0 faces, so a line of zeros must follow, "
                      f"got {line[1][:60]!r}; the face count may be wrong")


def _image(lines: _Lines) -> ImageFaces:
  number, path = lines.take("an image path", "the file")
  path = path.replace("\\", "/")
  if _numbers(path) is not None:
    raise lines.error(number, f"expected an image path (<event>/<file>.jpg), got "
                      f"{path[:60]!r}; a face count above may be too small")
  count = _count(lines, path)
  faces = [_face(lines, path, i, count) for i in range(count)]
  if not count:
    _zero_line(lines, path)
  values = np.asarray(faces, np.float64).reshape(-1, _FIELDS)
  positive = (values[:, 2] > 0) & (values[:, 3] > 0)
  values = values[positive]
  x, y, w, h = values[:, :4].T
  attributes = {name: values[:, 4 + i].astype(np.int64)
                for i, name in enumerate(ATTRIBUTES)}
  attributes["invalid"] = attributes["invalid"] > 0
  event = path.split("/")[0] if "/" in path else ""
  return ImageFaces(path, event, np.stack([x, y, x + w, y + h], 1), **attributes,
                    skipped=int(count - positive.sum()), line=number)


def read_ground_truth(path: str) -> list[ImageFaces]:
  """Every image of a WIDER FACE ground-truth file, in file order."""
  if not os.path.isfile(path):
    raise DataError(f"{path}: no such file.\n{INSTRUCTIONS}")
  lines = _Lines(path)
  images = []
  while lines.peek() is not None:
    images.append(_image(lines))
  if not images:
    raise DataError(f"{path}: no images listed; the file is empty: copy it again")
  return images


def read_folder(root: str) -> list[ImageFaces]:
  """The ground truth of a WIDER FACE folder (`GROUND_TRUTH_NAME` beside `images/`)."""
  images = read_ground_truth(os.path.join(root, GROUND_TRUTH_NAME))
  if not os.path.isdir(os.path.join(root, IMAGES_DIR)):
    raise DataError(f"{root}: no {IMAGES_DIR}/ folder beside {GROUND_TRUTH_NAME}.\n"
                    f"{INSTRUCTIONS}")
  return images


def image_file(root: str, image: ImageFaces) -> str:
  """Where the image of `image` lies under the folder `root`."""
  return os.path.join(root, IMAGES_DIR, *image.path.split("/"))


def _event_key(event: str) -> tuple[int, str]:
  """Official events sort by their number ('9--Press_Conference' before '11--Meeting')."""
  head = event.split("--", 1)[0]
  return (int(head), event) if head.isdigit() else (1 << 30, event)


def events(images: Sequence[ImageFaces]) -> list[str]:
  """The events (image folders) of `images`, by event number."""
  return sorted({image.event for image in images}, key=_event_key)


def of_events(images: Sequence[ImageFaces], names: Sequence[str]) -> list[ImageFaces]:
  """The images of the events `names` (DataError naming any event not present)."""
  missing = sorted(set(names) - set(events(images)))
  if missing:
    raise DataError(f"no images of event(s) {', '.join(missing)}; present: "
                    f"{', '.join(events(images))}")
  return [image for image in images if image.event in set(names)]
