"""ExpW (Expression in-the-Wild; Zhang, Luo, Loy & Tang, IJCV 2018): the official layout.

    image/origin/<image_name>    web photos; in the full release, several faces each
    label/label.lst              one line per labelled face, 8 space-separated fields:

    image_name face_id_in_image face_box_top face_box_left face_box_right
    face_box_bottom face_box_cofidence expression_label

The face is `photo[top:bottom, left:right]`; labels 0 angry .. 6 neutral are
FER2013's order (`EMOTIONS`). A box with no area, or with less than
`MIN_INSIDE_FRACTION` of its area inside its photo, is skipped and counted; a box
that sticks out less is clipped to the photo.

Splits: ExpW has none. A face goes to `train` (80%), `validation` or `test` (10%
each) by a hash of its photo's stem (`photo_stem`), so all faces of a photo stay on
one side whatever the order or completeness of the copy. Copies cut into one file
per face, named `<photo stem>_<face id>.jpg`, are hashed on the photo's stem too.
The same photo found by two search queries has two names (`angry_actor_120.jpg`
and another query's name) and may land on both sides: the release has such pairs,
often with different labels.

Faces: the labelled boxes come from another face detector, so they are not the
live tool's framing. `face_crops` runs the live tool's detector around each box
(`find_face`), takes the detection that overlaps the box most (IoU at least
`MIN_IOU`) and cuts it with `faces.crop_face`. Where no detection matches, the
labelled box is cut with `BOX_FRAMING`, which frames it as a matched detection.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import math
import os
import re
from typing import TYPE_CHECKING

import numpy as np
from absl import logging
from PIL import Image, UnidentifiedImageError

from ferjax.data.errors import DataError
from ferjax.labels import EMOTIONS, FACE_SIZE

if TYPE_CHECKING:
  from ferjax.faces.base import FaceDetector
  from ferjax.faces.geometry import Detection

LABEL_FILE = "label.lst"
FIELDS = ("image_name", "face_id_in_image", "face_box_top", "face_box_left",
          "face_box_right", "face_box_bottom", "face_box_cofidence", "expression_label")
SPLITS = ("train", "validation", "test")
# Upper ends of the train and validation shares of the photo-stem hash.
SPLIT_BOUNDS = (0.8, 0.9)
MIN_INSIDE_FRACTION = 0.5  # Boxes with less of their area inside the photo are skipped.
# The detector sees the labelled box grown to this many times its width and height
# (clipped to the photo): a whole photo and a copy cut one file per face at twice the
# box give it the same view.
REGION_SCALE = 2.0
MIN_IOU = 0.3  # A detection matches a labelled box from this IoU on.
# The crop of a labelled box where no detection matches, as `faces.Framing(scale, dx,
# dy)` of that box: CenterFace's framing moved by the medians, over the 5,380 matched
# faces of a 5,481-face ExpW subset, of the matched box relative to the labelled one:
# size sqrt(w h) x0.841 (MAD 11%), centre +0.019 (x) and +0.046 (y) box sizes.
BOX_FRAMING = (0.976, 0.017, 0.040)

INSTRUCTIONS = """\
ExpW is not downloaded automatically (non-commercial research use only). Request it
from its authors (mmlab.ie.cuhk.edu.hk/projects/socialrelation/index.html), extract
the photos into image/origin/ beside label/label.lst, and put that folder in the
manual directory (default ~/tensorflow_datasets/downloads/manual/, or pass
--manual_dir)."""

Box = tuple[float, float, float, float]  # x0 (left), y0 (top), x1 (right), y1 (bottom).

_FACE_FILE = re.compile(r"^(?P<photo>.+_\d+)_\d+$")  # <query>_<n>_<face id>


@dataclasses.dataclass(frozen=True)
class ExpwFace:
  path: str          # the photo
  image_name: str    # as listed, e.g. angry_actor_104.jpg
  face_id: int       # face_id_in_image
  box: Box           # photo pixels, clipped to the photo
  confidence: float  # ExpW's face detector score
  label: int         # index into EMOTIONS
  split: str         # train / validation / test

  @property
  def name(self) -> str:
    """Unique key of the face: `<image_name>#<face id>`."""
    return f"{self.image_name}#{self.face_id}"


@dataclasses.dataclass(frozen=True)
class ExpwLabels:
  faces: list[ExpwFace]     # sorted by photo, then face id
  skipped: dict[str, int]   # reason (degenerate / outside / duplicate) -> faces


def photo_stem(image_name: str) -> str:
  """The photo a file shows: `angry_actor_120` for angry_actor_120.jpg and _120_1.jpg."""
  stem = os.path.splitext(os.path.basename(image_name))[0]
  match = _FACE_FILE.match(stem)
  return match.group("photo") if match else stem


def split_of(image_name: str) -> str:
  """`train`, `validation` or `test`, by a stable hash of the photo's stem."""
  digest = hashlib.sha256(photo_stem(image_name).encode()).digest()
  position = int.from_bytes(digest[:8], "big") / 2.0**64
  return next((s for s, bound in zip(SPLITS, SPLIT_BOUNDS) if position < bound),
              SPLITS[-1])


def _number(raw: str, field: str, where: str, integer: bool = False) -> float:
  try:
    value = int(raw) if integer else float(raw)
  except ValueError:
    value = math.nan
  if not math.isfinite(value) or (integer and value < 0):
    kind = "a whole number >= 0" if integer else "a number"
    raise DataError(f"{where}: {field} {raw!r} is not {kind}; fix or remove the line")
  return value


def _label(raw: str, where: str) -> int:
  if raw not in {str(i) for i in range(len(EMOTIONS))}:
    raise DataError(f"{where}: expression_label {raw!r} is not an ExpW label "
                    "(0 angry .. 6 neutral); fix or remove the line")
  return int(raw)


def clip_box(top: float, left: float, right: float, bottom: float, width: int,
             height: int) -> Box | str:
  """The box clipped to a width x height photo, or why it is skipped."""
  if right <= left or bottom <= top:
    return "degenerate"
  x0, y0 = min(max(left, 0.0), width), min(max(top, 0.0), height)
  x1, y1 = min(max(right, 0.0), width), min(max(bottom, 0.0), height)
  inside = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
  if inside < MIN_INSIDE_FRACTION * (right - left) * (bottom - top):
    return "outside"
  return (x0, y0, x1, y1)


def _photo_size(path: str, image_name: str, where: str) -> tuple[int, int]:
  if not os.path.isfile(path):
    raise DataError(f"{where}: photo {image_name} is listed but {path} does not exist; "
                    "extract every photo into image/origin/")
  try:
    with Image.open(path) as image:
      return image.size
  except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
    raise DataError(f"{path}: unreadable image ({e}); replace it from the "
                    "ExpW archive") from e


def _find(root: str, name: str) -> str | None:
  """Shallowest file called `name` below `root`."""
  for current, dirs, files in os.walk(root):
    dirs.sort()
    if name in files:
      return os.path.join(current, name)
  return None


def read_labels(label_file: str, image_dir: str) -> ExpwLabels:
  """Every usable face of `label_file`; photos are looked up in `image_dir`."""
  faces, skipped, seen, sizes = [], collections.Counter(), set(), {}
  with open(label_file, encoding="utf-8-sig") as f:
    for line_number, line in enumerate(f, 1):
      if not line.strip():
        continue
      where = f"{label_file}:{line_number}"
      fields = line.split()
      if len(fields) != len(FIELDS):
        raise DataError(f"{where}: expected {len(FIELDS)} fields ({' '.join(FIELDS)}), "
                        f"got {len(fields)}; fix or remove the line")
      image_name = fields[0]
      face_id = int(_number(fields[1], FIELDS[1], where, integer=True))
      top, left, right, bottom, confidence = (
          _number(raw, field, where) for raw, field in zip(fields[2:7], FIELDS[2:7]))
      label = _label(fields[7], where)
      if (image_name, face_id) in seen:
        skipped["duplicate"] += 1
        continue
      seen.add((image_name, face_id))
      path = os.path.join(image_dir, image_name)
      if image_name not in sizes:
        sizes[image_name] = _photo_size(path, image_name, where)
      box = clip_box(top, left, right, bottom, *sizes[image_name])
      if isinstance(box, str):
        skipped[box] += 1
        continue
      faces.append(ExpwFace(path, image_name, face_id, box, confidence, label,
                            split_of(image_name)))
  if skipped:
    logging.warning("ExpW: skipped %d of the faces in %s: %s", sum(skipped.values()),
                    label_file, ", ".join(f"{v} {k}" for k, v in sorted(skipped.items())))
  return ExpwLabels(sorted(faces, key=lambda face: (face.image_name, face.face_id)),
                    dict(skipped))


def find_faces(manual_dir: str | os.PathLike) -> ExpwLabels:
  """The faces of the ExpW copy below `manual_dir` (label/label.lst + image/origin/)."""
  manual_dir = os.fspath(manual_dir)
  if not os.path.isdir(manual_dir):
    raise DataError(f"manual directory {manual_dir!r} does not exist.\n" + INSTRUCTIONS)
  label_file = _find(manual_dir, LABEL_FILE)
  if label_file is None:
    raise DataError(f"no ExpW label file (label/{LABEL_FILE}) found in "
                    f"{manual_dir!r}.\n" + INSTRUCTIONS)
  image_dir = os.path.join(os.path.dirname(os.path.dirname(label_file)), "image", "origin")
  if not os.path.isdir(image_dir):
    raise DataError(f"{label_file} has no photo folder {image_dir}; extract the ExpW "
                    "photos there")
  labels = read_labels(label_file, image_dir)
  if not labels.faces:
    raise DataError(f"{label_file}: lists no usable faces")
  return labels


def region_of(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
  """(x0, y0, x1, y1): `box` grown `REGION_SCALE` times about its centre, in the photo."""
  x0, y0, x1, y1 = box
  cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
  half_w, half_h = REGION_SCALE * (x1 - x0) / 2, REGION_SCALE * (y1 - y0) / 2
  return (max(int(math.floor(cx - half_w)), 0), max(int(math.floor(cy - half_h)), 0),
          min(int(math.ceil(cx + half_w)), width), min(int(math.ceil(cy + half_h)), height))


def best_match(detections: list[Detection], box: Box, min_iou: float = MIN_IOU
               ) -> Detection | None:
  """The detection overlapping `box` most, if its IoU is at least `min_iou`; else None."""
  if not detections:
    return None
  from ferjax.faces.geometry import iou  # pylint: disable=g-import-not-at-top
  overlaps = iou(np.asarray([box]), np.asarray([d.box for d in detections]))[0]
  best = int(overlaps.argmax())
  return detections[best] if overlaps[best] >= min_iou else None


def create_detectors(detector: str = "default") -> list[FaceDetector]:
  """The live tool's detector, at the input sizes `faces.photo.PhotoFaces` uses."""
  from ferjax.faces import detectors, photo  # pylint: disable=g-import-not-at-top
  key = detectors.detector_key(detector)
  if key == "centerface":
    return [detectors.create_detector(key, max_side=side) for side in photo.DETECTION_SIDES]
  return [detectors.create_detector(key)]


def find_face(photo_bgr: np.ndarray, box: Box, finders: list[FaceDetector]
              ) -> Detection | None:
  """The detection (photo coordinates) of the face labelled `box`, or None.

  The region around the box is padded with grey as `faces.photo` pads tight photos
  and searched at each of `finders` in turn until one finds a matching face.
  """
  import cv2  # pylint: disable=g-import-not-at-top
  from ferjax.faces import photo  # pylint: disable=g-import-not-at-top
  height, width = photo_bgr.shape[:2]
  x0, y0, x1, y1 = region_of(box, width, height)
  pad = int(round(photo.PAD_FRACTION * max(x1 - x0, y1 - y0)))
  padded = cv2.copyMakeBorder(photo_bgr[y0:y1, x0:x1], pad, pad, pad, pad,
                              cv2.BORDER_CONSTANT, value=(photo.PAD_VALUE,) * 3)
  for finder in finders:
    found = [photo.shift_detection(d, x0 - pad, y0 - pad) for d in finder.detect(padded)]
    match = best_match(found, box)
    if match is not None:
      return match
  return None


def face_crops(faces: list[ExpwFace], detector: str = "default"
               ) -> tuple[np.ndarray, np.ndarray]:
  """((n, 48, 48) uint8 faces, (n,) bool found): each face as the live tool frames it.

  `found` is False where the detector found no face matching the labelled box and
  the box itself was cut (`BOX_FRAMING`).
  """
  from ferjax.data.images import read_image  # pylint: disable=g-import-not-at-top
  from ferjax.faces import crop  # pylint: disable=g-import-not-at-top
  finders = create_detectors(detector)
  box_framing = crop.Framing(*BOX_FRAMING)
  crops = np.zeros((len(faces), FACE_SIZE, FACE_SIZE), np.uint8)
  found = np.zeros(len(faces), bool)
  path, bgr = None, None
  for i, face in enumerate(faces):
    if face.path != path:  # Faces of one photo are neighbours: read it once.
      path, bgr = face.path, read_image(face.path, "RGB")[..., ::-1].copy()
    detection = find_face(bgr, face.box, finders)
    found[i] = detection is not None
    crops[i] = (crop.crop_face(bgr, detection) if found[i]
                else crop.crop_face(bgr, face.box, box_framing, roll_degrees=0.0))
  return crops, found
