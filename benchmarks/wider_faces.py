"""Face detection on real indoor photos (WIDER FACE): precision and recall, per event.

    python -m benchmarks.wider_faces                       # updates BENCHMARKS.md
    python -m benchmarks.wider_faces --keep my.module:keep_faces --nowrite

The folder (default ../shared/datasets/wider_face_indoor, see its README.md) holds
WIDER FACE validation photos of indoor and group events with every face boxed.
Two operating paths of the live tool are scored:

  photo  `tools/live.py --source PHOTO --photos`: the tool's detector at
         PHOTO_THRESHOLD, `min_face` from each photo as the tool sets it, on the
         photo and its mirror image (`faces.mirrored`), every detection whose
         mean score is >= PHOTO_THRESHOLD counted; "photo, one view" is the photo
         path before the mirror image was added.
  video  the tool's default detector (scores down to LOW_THRESHOLD); a detection
         must reach HIGH_THRESHOLD to start a track, so that is its threshold.

With --verify_model, each path gets rows with the tool's face check, P(face) at
the model's threshold, and the photo paths also with the photo rule: a box under
`pipeline.SMALL_FACE` px needs P(face) >= `pipeline.SMALL_FACE_CHECK` (rows with the
plain check show the photo path before it).

Each path runs its detector as the tool builds it (the operating point: recall
by face size, precision, false positives per photo) and, for the whole ranking
(average precision), at the same scale and tiles with scores down to --floor: a
second detector for one view, the same call for the mirrored paths, whose
detector returns the heatmap's peaks down to --floor anyway. Matching and AP follow
WIDER FACE's protocol
(`ferjax.evaluation.detection_scores`) at IoU 0.5 and 0.4.

Every path is: detections -> optional keep filter -> scoring. A filter is a
function `keep(image_bgr, detections: list[faces.Detection]) -> bool mask`, one
per detection (e.g. a face/not-face verifier); name it with --keep
module:function (or pass it to `collect`), and the table gets rows with and
without it. Raw detections are cached per photo under --cache_dir, so a re-run
with a new filter only reads the photos and runs the filter.

A headroom table counts the ranking run's detections from lower scores: the faces
the detector finds there, the share of its false positives a face check would have to
reject for 96% precision, and the share the tool's check rejects.

--sheet writes the --sheet_size highest-scoring false positives of the photo
path (IoU 0.5, after the filter) as one PNG for a person to look at. It holds
pixels of the photos: it is written outside the repository only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import cv2
import numpy as np
from absl import app
from absl import flags

from benchmarks import report
from ferjax import faces
from ferjax.data import wider_face
from ferjax.data.errors import DataError
from ferjax.evaluation import detection_scores as scores_lib
from ferjax.faces import scales
from ferjax.inference import FACE_CHECK_MODEL_DIR, ExpressionClassifier
from ferjax.live import pipeline
from ferjax.live import students

_DATA = flags.DEFINE_string(
    "data", os.path.join(ROOT, "..", "shared", "datasets", "wider_face_indoor"),
    "WIDER FACE folder: wider_face_val_bbx_gt.txt beside images/<event>/.")
_EVENTS = flags.DEFINE_list("events", None, "Events to run (default: all in the folder).")
_MAX_IMAGES = flags.DEFINE_integer("max_images", 0, "First N photos only (0: all); "
                                   "for smoke runs.")
_FLOOR = flags.DEFINE_float("floor", 0.05, "Lowest detector score of the ranking run (AP).")
_THREADS = flags.DEFINE_integer("threads", 1, "onnxruntime threads per detector.")
_KEEP = flags.DEFINE_string("keep", None, "module:function, a filter (image_bgr, "
                            "detections) -> bool mask applied before scoring.")
_VERIFY_MODEL = flags.DEFINE_string("verify_model", FACE_CHECK_MODEL_DIR, "Exported model "
                                    "with the face output: adds rows with the tool's "
                                    "verification (P(face) >= --face_threshold); '': none.")
_FACE_THRESHOLD = flags.DEFINE_float("face_threshold", -1, "P(face) threshold of "
                                     "--verify_model; -1: the one stored with it.")
_CACHE_DIR = flags.DEFINE_string("cache_dir", "/tmp/ferjax_wider/cache", "Raw detections "
                                 "per photo ('' : no cache).")
_SHEET = flags.DEFINE_string("sheet", "/tmp/ferjax_wider/false_positives.png",
                             "PNG of the top photo-path false positives ('' : none); "
                             "outside the repository.")
_SHEET_SIZE = flags.DEFINE_integer("sheet_size", 24, "False positives on the sheet.")
_WRITE = flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")

TITLE = "Real scenes: WIDER FACE indoor"
MEASUREMENT_EVENTS = ("11--Meeting", "29--Students_Schoolkids")
PHOTO_RULE = ", photo rule"  # Suffix of the face check with the photo rule.

CACHE_FORMAT = 2

Keep = Callable[[np.ndarray, list[faces.Detection]], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Path:
  """One way the live tool counts faces: its detector's floor and its threshold."""
  name: str
  detector_threshold: float   # Lowest score the tool's detector returns.
  threshold: float            # Score from which a detection counts.
  photo_min_face: bool        # min_face follows each photo (photo mode).
  mirror: bool = False        # The photo and its mirror image, scores averaged.
  photo_rule: bool = False    # Rows with the photo rule for small boxes too.


PATHS = (
    Path("photo", pipeline.PHOTO_THRESHOLD, pipeline.PHOTO_THRESHOLD, True, mirror=True,
         photo_rule=True),
    Path("photo, one view", pipeline.PHOTO_THRESHOLD, pipeline.PHOTO_THRESHOLD, True,
         photo_rule=True),
    Path("video", min(pipeline.LOW_THRESHOLD, pipeline.HIGH_THRESHOLD),
         pipeline.HIGH_THRESHOLD, False),
)


class RankingDetector(faces.CenterFace):
  """`planner`'s scale and tiles, with every score down to `floor`: the whole ranking."""

  def __init__(self, planner: faces.CenterFace, floor: float, threads: int | None):
    super().__init__(score_threshold=floor, iou_threshold=planner.iou_threshold,
                     threads=threads)
    self.planner = planner

  def plan(self, frame_shape: tuple[int, ...]) -> scales.DetectionPlan:
    return self.planner.plan(frame_shape)


@dataclasses.dataclass
class Detectors:
  """A path's detector as the tool builds it, and its ranking twin (None: the
  operating detector's own scores reach the floor)."""
  path: Path
  operating: faces.FaceDetector  # CenterFace, or CenterFace in a MirroredDetector.
  ranking: faces.FaceDetector | None

  @classmethod
  def create(cls, path: Path, floor: float, threads: int | None) -> Detectors:
    operating = pipeline.create_detector(score_threshold=path.detector_threshold,
                                         threads=threads, mirror=path.mirror)
    planner = operating.detector if path.mirror else operating
    if not isinstance(planner, faces.CenterFace):
      raise ValueError(f"the live tool's detector is {planner.name}, not CenterFace")
    if path.mirror:  # Each view's peaks down to the floor: the ranking as it is.
      planner.floor = min(floor, path.detector_threshold)
      return cls(path, operating, None)
    return cls(path, operating, RankingDetector(planner, floor, threads))

  def detect(self, image: np.ndarray) -> tuple[list[faces.Detection], list[faces.Detection]]:
    """(operating, ranking) detections of one photo."""
    if self.path.photo_min_face:
      self.operating.min_face = pipeline.photo_min_face(image.shape)
    found = self.operating.detect(image)
    return found, (found if self.ranking is None else self.ranking.detect(image))


# Caching.


def _to_arrays(detections: list[faces.Detection]) -> dict[str, np.ndarray]:
  return {"boxes": np.array([d.box for d in detections], np.float64).reshape(-1, 4),
          "scores": np.array([d.score for d in detections], np.float64),
          "landmarks": np.array([d.landmarks for d in detections], np.float32
                                ).reshape(-1, 5, 2)}


def _from_arrays(boxes, scores, landmarks) -> list[faces.Detection]:
  return [faces.Detection(tuple(float(v) for v in b), float(s), l, "centerface")
          for b, s, l in zip(boxes, scores, landmarks)]


def detection_settings(path: Path) -> dict:
  """What makes a path's boxes (not what it counts of them)."""
  return {k: v for k, v in dataclasses.asdict(path).items()
          if k not in ("name", "threshold", "photo_rule")}


def cache_key(path: Path, floor: float) -> str:
  """Detection settings and the source of the code that makes the boxes, hashed."""
  digest = hashlib.sha1(json.dumps([CACHE_FORMAT, detection_settings(path), floor]).encode())
  for module in ("centerface", "mirrored", "scales", "geometry", "base"):
    with open(os.path.join(ROOT, "ferjax", "faces", f"{module}.py"), "rb") as f:
      digest.update(f.read())
  kind = "mirrored" if path.mirror else "one_view"
  return f"{kind}-{digest.hexdigest()[:12]}"


class Cache:
  """Raw detections per photo and path in .npz files, checked against the photo's size."""

  def __init__(self, folder: str | None, keys: dict[str, str]):
    self.folder = folder
    self.keys = keys

  def _file(self, path: str, image_path: str) -> str:
    return os.path.join(self.folder, self.keys[path], image_path + ".npz")

  def get(self, path: str, image_path: str, image_file: str):
    """(operating, ranking, seconds the detection took) or None."""
    if not self.folder or not os.path.exists(self._file(path, image_path)):
      return None
    with np.load(self._file(path, image_path)) as data:
      if int(data["image_bytes"]) != os.path.getsize(image_file):
        return None
      return tuple(_from_arrays(*(data[f"{kind}_{a}"] for a in ("boxes", "scores",
                                                               "landmarks")))
                   for kind in ("operating", "ranking")) + (float(data["seconds"]),)

  def put(self, path: str, image_path: str, image_file: str, detections,
          seconds: float) -> None:
    if not self.folder:
      return
    arrays = {f"{kind}_{name}": value
              for kind, found in zip(("operating", "ranking"), detections)
              for name, value in _to_arrays(found).items()}
    target = self._file(path, image_path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temporary = target + ".tmp.npz"
    np.savez(temporary, image_bytes=os.path.getsize(image_file), seconds=seconds, **arrays)
    os.replace(temporary, target)


# Collecting detections.


@dataclasses.dataclass
class Found:
  """One photo's detections on one path, with the keep mask of each filter."""
  operating: list[faces.Detection]
  ranking: list[faces.Detection]
  kept: dict[str, tuple[np.ndarray, np.ndarray]]  # filter -> (operating, ranking) masks.

  def boxes(self, kind: str, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """(boxes, scores) of `kind` ('operating'/'ranking') left by the filter `variant`."""
    found = getattr(self, kind)
    mask = self.kept[variant][kind == "ranking"] if variant else np.ones(len(found), bool)
    arrays = _to_arrays([d for d, k in zip(found, mask) if k])
    return arrays["boxes"], arrays["scores"]


def _mask(keep: Keep, image: np.ndarray, detections: list[faces.Detection]) -> np.ndarray:
  mask = np.asarray(keep(image, detections))
  if mask.shape != (len(detections),) or mask.dtype != bool:
    raise ValueError(f"a keep filter must return a bool mask of shape ({len(detections)},), "
                     f"got {mask.dtype} {mask.shape}")
  return mask


def collect(images: Sequence[wider_face.ImageFaces], root: str,
            detectors: Sequence[Detectors], filters: dict[str, Keep],
            cache: Cache) -> tuple[dict[str, list[Found]], dict[str, float]]:
  """Detections of every photo per path with each filter's masks; mean seconds per photo
  and path (ranking included, as measured when the detections were made)."""
  found = {d.path.name: [] for d in detectors}
  seconds = {d.path.name: [] for d in detectors}
  start = time.perf_counter()
  for n, entry in enumerate(images, 1):
    file = wider_face.image_file(root, entry)
    image = cv2.imread(file, cv2.IMREAD_COLOR)
    if image is None:
      raise DataError(f"{file}: missing or unreadable image (listed at "
                                 f"{wider_face.GROUND_TRUTH_NAME}:{entry.line})")
    for detector in detectors:
      name = detector.path.name
      cached = cache.get(name, entry.path, file)
      if cached is None:
        t0 = time.perf_counter()
        detections = detector.detect(image)
        cached = (*detections, time.perf_counter() - t0)
        cache.put(name, entry.path, file, detections, cached[2])
      *detections, took = cached
      seconds[name].append(took)
      kept = {label: tuple(_mask(keep, image, d) for d in detections)
              for label, keep in filters.items()}
      found[name].append(Found(*detections, kept))
    if n % 20 == 0 or n == len(images):
      print(f"{n}/{len(images)} photos, {time.perf_counter() - start:.0f} s", flush=True)
  return found, {name: float(np.mean(s)) for name, s in seconds.items()}


# Scoring.


@dataclasses.dataclass(frozen=True)
class Row:
  """Scores of one path, filter and event group at one IoU."""
  ap: float
  point: scores_lib.OperatingPoint


def matches(images: Sequence[wider_face.ImageFaces], found: Sequence[Found], kind: str,
            variant: str, iou: float) -> list[scores_lib.ImageMatch]:
  out = []
  for entry, item in zip(images, found):
    boxes, det_scores = item.boxes(kind, variant)
    ignore = scores_lib.ignore_regions(entry.boxes, entry.invalid)
    out.append(scores_lib.match(boxes, det_scores, entry.boxes, ignore, iou))
  return out


def score(images: Sequence[wider_face.ImageFaces], found: Sequence[Found], path: Path,
          variant: str, iou: float) -> Row:
  ap = scores_lib.average_precision(matches(images, found, "ranking", variant, iou))
  point = scores_lib.operating_point(matches(images, found, "operating", variant, iou),
                                     path.threshold)
  return Row(ap, point)


def groups(images: Sequence[wider_face.ImageFaces]) -> dict[str, list[int]]:
  """Event group -> image indices: each event, the measurement events, all."""
  out = {e: [i for i, m in enumerate(images) if m.event == e]
         for e in wider_face.events(images)}
  measured = [i for i, m in enumerate(images) if m.event in MEASUREMENT_EVENTS]
  if measured and len(out) > 1:
    out["11 + 29 (measurement)"] = measured
  if len(out) > 1:
    out["all"] = list(range(len(images)))
  return out


def _pct(value: float) -> str:
  return "-" if np.isnan(value) else f"{100 * value:.1f}"


def _pair(values: Sequence[float], fmt: Callable[[float], str] = _pct) -> str:
  return " / ".join(fmt(v) for v in values)


def path_variants(path: Path, filters: Sequence[str]) -> list[str]:
  """A path's rows: no filter, then each filter (the photo rule on photo paths only)."""
  return [""] + [f for f in filters if path.photo_rule or not f.endswith(PHOTO_RULE)]


def table(images, found: dict[str, list[Found]], filters: Sequence[str]) -> str:
  """Markdown: rows per path, filter and event group; cells 'IoU 0.5 / IoU 0.4'."""
  sizes = scores_lib.SIZES
  header = ("| path | events | photos | faces " + " / ".join(f">= {s}" for s in sizes)
            + " px | AP | " + " | ".join(f"recall >= {s} px" for s in sizes)
            + " | precision | FP / photo |")
  rows = [header, "|" + "---|" * (7 + len(sizes))]
  for path in PATHS:
    if path.name not in found:
      continue
    for variant in path_variants(path, filters):
      label = f"{path.name} >= {path.threshold:g}" + (f" + {variant}" if variant else "")
      for group, index in groups(images).items():
        subset = [images[i] for i in index]
        items = [found[path.name][i] for i in index]
        cells = [score(subset, items, path, variant, iou)
                 for iou in scores_lib.IOU_THRESHOLDS]
        point = cells[0].point
        rows.append(
            f"| {label} | {group} | {len(subset)} | "
            + " / ".join(str(point.faces[s]) for s in sizes) + " | "
            + _pair([c.ap for c in cells]) + " | "
            + " | ".join(_pair([c.point.recall[s] for c in cells]) for s in sizes) + " | "
            + _pair([c.point.precision for c in cells]) + " | "
            + _pair([c.point.false_positives_per_image for c in cells],
                    lambda v: f"{v:.2f}") + " |")
  return "\n".join(rows)


HEADROOM_THRESHOLDS = (0.1, 0.2, 0.3)  # Lower scores than the tool counts.
HEADROOM_IOU = 0.4
TARGET_PRECISION = 0.96


def headroom(images, found: dict[str, list[Found]], filters: Sequence[str]) -> str:
  """Markdown: what the detector finds at lower scores (its ranking, IoU 0.4), and how
  many of its false positives a face check would have to remove for 96% precision
  against how many the tool's check (the path's last filter) removes."""
  rows = ["| path | events | score from | recall >= 16 px | precision | false positives "
          "| share a check must remove for 96% precision | with the tool's check: recall "
          ">= 16 px | precision | false positives removed |",
          "|" + "---|" * 10]
  for path in PATHS:
    variants = path_variants(path, filters)
    if path.name not in found or path.name.endswith("one view"):
      continue
    thresholds = sorted({*HEADROOM_THRESHOLDS, path.threshold})
    for group, index in groups(images).items():
      if group not in ("all", "11 + 29 (measurement)"):
        continue
      subset = [images[i] for i in index]
      items = [found[path.name][i] for i in index]
      plain = matches(subset, items, "ranking", "", HEADROOM_IOU)
      checked = matches(subset, items, "ranking", variants[-1], HEADROOM_IOU)
      for t in thresholds:
        a = scores_lib.operating_point(plain, t)
        b = scores_lib.operating_point(checked, t)
        allowed = a.hits * (1 - TARGET_PRECISION) / TARGET_PRECISION
        must = max(0.0, 1 - allowed / a.false_positives) if a.false_positives else 0.0
        removed = (1 - b.false_positives / a.false_positives if a.false_positives
                   else float("nan"))
        check = (f"{_pct(b.recall[16])} | {_pct(b.precision)} | {_pct(removed)}%"
                 if variants[-1] else "- | - | -")
        rows.append(f"| {path.name} | {group} | {t:g} | {_pct(a.recall[16])} | "
                    f"{_pct(a.precision)} | {a.false_positives} | {_pct(must)}% | {check} |")
  return "\n".join(rows)


# The sheet of false positives.


@dataclasses.dataclass(frozen=True)
class FalsePositive:
  image: int
  box: tuple[float, float, float, float]
  score: float
  iou: float


def false_positives(images, found: Sequence[Found], path: Path, variant: str,
                    iou: float = 0.5) -> list[FalsePositive]:
  """The path's false positives at its threshold, best score first."""
  out = []
  for i, (entry, item) in enumerate(zip(images, found)):
    boxes, det_scores = item.boxes("operating", variant)
    ignore = scores_lib.ignore_regions(entry.boxes, entry.invalid)
    m = scores_lib.match(boxes, det_scores, entry.boxes, ignore, iou)
    order = np.argsort(-det_scores, kind="stable")
    for d in np.where((m.outcome == scores_lib.FALSE_POSITIVE)
                      & (m.scores >= path.threshold))[0]:
      out.append(FalsePositive(i, tuple(boxes[order[d]]), float(m.scores[d]),
                               float(m.best_iou[d])))
  return sorted(out, key=lambda f: -f.score)


def describe_false_positives(fps: Sequence[FalsePositive], label: str) -> str:
  """How many of the false positives overlap a labelled face, and how much."""
  ious = np.array([f.iou for f in fps])
  near, partial = int((ious >= 0.3).sum()), int(((ious >= 0.1) & (ious < 0.3)).sum())
  return (f"The {len(fps)} false positives of the {label} at IoU 0.5: {near} overlap a "
          f"labelled face at IoU 0.3-0.5 (a face found, its box unlike the label), "
          f"{partial} at 0.1-0.3, {len(fps) - near - partial} no labelled face (< 0.1). "
          "`--sheet` tiles the highest-scoring ones for a look.")


def tile(image: np.ndarray, fp: FalsePositive, entry: wider_face.ImageFaces,
         side: int = 160) -> np.ndarray:
  """The false positive with context (3x its size), labelled faces drawn, a caption."""
  x0, y0, x1, y1 = fp.box
  half = 1.5 * max(x1 - x0, y1 - y0, 16)
  cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
  scale = side / (2 * half)
  matrix = np.array([[scale, 0, side / 2 - cx * scale], [0, scale, side / 2 - cy * scale]])
  out = cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(64, 64, 64))

  def draw(box, colour):
    a = np.array(box, np.float64).reshape(2, 2) * scale + matrix[:, 2]
    cv2.rectangle(out, tuple(int(round(v)) for v in a[0]),
                  tuple(int(round(v)) for v in a[1]), colour, 1)

  ignore = scores_lib.ignore_regions(entry.boxes, entry.invalid)
  for box, ignored in zip(entry.boxes, ignore):
    draw(box, (0, 255, 255) if ignored else (0, 200, 0))
  draw(fp.box, (0, 0, 255))
  caption = np.full((30, side, 3), 255, np.uint8)
  text = f"{fp.score:.2f} IoU {fp.iou:.2f} {np.sqrt((x1 - x0) * (y1 - y0)):.0f}px"
  cv2.putText(caption, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1)
  cv2.putText(caption, entry.path.split("/")[-1][:28], (3, 25), cv2.FONT_HERSHEY_SIMPLEX,
              0.32, (80, 80, 80), 1)
  return np.concatenate([out, caption], 0)


def write_sheet(path: str, images, root: str, fps: Sequence[FalsePositive],
                columns: int = 6) -> None:
  """The false positives' tiles in a grid, as one PNG."""
  tiles = [tile(cv2.imread(wider_face.image_file(root, images[f.image])), f,
                images[f.image]) for f in fps]
  if not tiles:
    return
  tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % columns)
  grid = np.concatenate([np.concatenate(tiles[r:r + columns], 1)
                         for r in range(0, len(tiles), columns)], 0)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if not cv2.imwrite(path, grid):
    raise OSError(f"cannot write {path}")


# Main.


def face_output_filters(model_dir: str, threshold: float) -> dict[str, Keep]:
  """The tool's verification: the live crop of each detection, P(face) >= threshold
  (< 0: the model's stored threshold); and with the photo rule for small boxes
  (`pipeline.photo_face_threshold`). Label -> filter."""
  classifier = ExpressionClassifier(model_dir)
  if not classifier.has_face_output:
    raise app.UsageError(f"--verify_model {model_dir}: the model has no face output")
  if threshold < 0:
    threshold = float(classifier.metadata["face_output"].get("threshold",
                                                             students.FACE_THRESHOLD))

  read = {}  # id(detections) -> P(face), for the current photo: both filters share it.

  def p_face(image: np.ndarray, detections: list[faces.Detection]) -> np.ndarray:
    if read.get("image") is not image:
      read.clear()
      read["image"] = image
    if id(detections) not in read:
      read[id(detections)] = (classifier.predict_with_face(
          faces.crop_faces(image, detections))[1] if detections else np.zeros(0))
    return read[id(detections)]

  def photo_rule(image: np.ndarray, detections: list[faces.Detection]) -> np.ndarray:
    needed = [pipeline.photo_face_threshold(d.box, threshold) for d in detections]
    return p_face(image, detections) >= np.array(needed)

  label = f"P(face) >= {threshold:g}"
  return {label: lambda image, detections: p_face(image, detections) >= threshold,
          label + PHOTO_RULE: photo_rule}


def load_filter(spec: str) -> tuple[str, Keep]:
  """'module:function' -> (its label, the function)."""
  module, _, name = spec.partition(":")
  if not module or not name:
    raise app.UsageError(f"--keep {spec!r}: expected module:function")
  return name, getattr(importlib.import_module(module), name)


def _outside_repository(path: str, flag: str) -> None:
  inside = os.path.commonpath([os.path.abspath(path), ROOT]) == ROOT
  if path and inside:
    raise app.UsageError(f"--{flag} {path}: inside the repository; WIDER FACE pixels "
                         "and caches stay outside it")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  _outside_repository(_SHEET.value, "sheet")
  _outside_repository(_CACHE_DIR.value, "cache_dir")
  filters = dict([load_filter(_KEEP.value)]) if _KEEP.value else {}
  if _VERIFY_MODEL.value:
    filters.update(face_output_filters(_VERIFY_MODEL.value, _FACE_THRESHOLD.value))
  root = _DATA.value
  try:
    images = wider_face.read_folder(root)
    if _EVENTS.value:
      images = wider_face.of_events(images, _EVENTS.value)
  except DataError as e:
    sys.exit(f"error: {e}")
  images = images[:_MAX_IMAGES.value or None]
  load = os.getloadavg()[0]
  detectors = [Detectors.create(p, _FLOOR.value, _THREADS.value) for p in PATHS]
  cache = Cache(_CACHE_DIR.value or None,
                {p.name: cache_key(p, _FLOOR.value) for p in PATHS})
  start = time.perf_counter()
  found, seconds = collect(images, root, detectors, filters, cache)
  minutes = (time.perf_counter() - start) / 60
  photo = PATHS[0]
  variants = path_variants(photo, list(filters))
  body = table(images, found, list(filters))
  fps = false_positives(images, found[photo.name], photo, variants[-1])
  if _SHEET.value:
    write_sheet(_SHEET.value, images, root, fps[:_SHEET_SIZE.value])
    print(f"top {min(len(fps), _SHEET_SIZE.value)} photo false positives: {_SHEET.value}")
  skipped = sum(m.skipped for m in images)
  timing = ", ".join(f"{name} {s:.2f} s" for name, s in seconds.items())
  lines = [report.provenance().rstrip("\n"),
           f"- Load average at start: {load:.1f} on {os.cpu_count()} CPUs; {minutes:.1f} min "
           f"in all; seconds of detection per photo, ranking included "
           f"({_THREADS.value} onnxruntime "
           f"thread(s); cached photos: as measured when cached): {timing}",
           "", TEXT.format(photo=pipeline.PHOTO_THRESHOLD, high=pipeline.HIGH_THRESHOLD,
                           low=pipeline.LOW_THRESHOLD, floor=_FLOOR.value,
                           small=pipeline.SMALL_FACE, check=pipeline.SMALL_FACE_CHECK,
                           size=scores_lib.SIZE_FLOOR, skipped=skipped),
           "", body, "",
           describe_false_positives(fps, "photo path" + (f" + {variants[-1]}" if filters
                                                         else "")),
           "", HEADROOM.format(check=variants[-1].removesuffix(PHOTO_RULE) or "none"), "",
           headroom(images, found, list(filters))]
  if _KEEP.value:
    lines += ["", f"Filter `{_KEEP.value}` applied to every detection before scoring."]
  if _VERIFY_MODEL.value:
    lines += ["", f"`P(face)` rows: the live tool's face check, the face output of "
              f"`{os.path.relpath(_VERIFY_MODEL.value, ROOT)}` on the tool's crop of each "
              "detection (a photo's faces are checked once; a video track keeps a running "
              "mean over its readings, which one photo cannot show). Its non-face training "
              "patches came from the photos of every event but `11--Meeting` and "
              "`29--Students_Schoolkids` (all but 10% of them, held out by name for "
              "validation), so only the `11 + 29` rows measure it on unseen scenes."]
  report.publish(TITLE, "\n".join(lines) + "\n", _WRITE.value)


TEXT = """\
WIDER FACE validation photos of indoor and group events (`../shared/datasets/\
wider_face_indoor`, 1024 px wide; labelled boxes of zero or negative size skipped:
{skipped}). *photo*: `tools/live.py --source PHOTO --photos` (the tool's detector at
{photo}, `min_face` 14 px or 1% of the photo's longer side, run on the photo and on its
mirror image, each face's score the mean of both views, half its score where one view
alone found it; every detection from {photo}); *photo, one view*: before the mirror image;
*video*: the tool's default detector (scores from {low}), where a face needs {high} to start
a track. Each path runs its detector as the tool builds it (recall, precision, false
positives at its threshold) and, for AP, at the same scale and tiles down to score
{floor}. WIDER protocol (`ferjax.evaluation.detection_scores`): detections by descending
score, a hit on the unmatched face of highest IoU; faces marked invalid or under {size:g}
px are ignore regions (a detection whose best overlap is one counts neither way); a
second detection of a face is a false positive. Face size is sqrt(w h) of the labelled
box, as in "Detection scale" (the folder's README counts faces by the shorter side).
AP: area under the precision-recall curve, all-point interpolation. Cells: IoU 0.5 / 0.4;
`11 + 29` are the two events kept out of any training, for measurement. WIDER leaves some
tiny or blurred faces unlabelled, so a false positive is sometimes a real face.
*P(face)* rows: the tool's face check; *photo rule* rows: as the tool checks a photo, a
box under {small:g} px (sqrt(w h)) needing P(face) >= {check:g} (the rows before them: the
photo path before it)."""

HEADROOM = """\
Headroom: the same detections counted from lower scores (the ranking run, IoU 0.4). The
detector finds more of the faces there; what keeps a lower score from being used is its
false positives. *share a check must remove*: of those false positives, the share a face
check would have to reject, keeping every face found, for 96% precision; *with the tool's
check*: {check} (photo path: with the photo rule) at that score, and the share of the
false positives it rejects."""


if __name__ == "__main__":
  app.run(main)
