"""Face detectors on the shared clips, and the crop calibrated on FER2013 faces.

    python -m benchmarks.face_detectors
    python -m benchmarks.face_detectors --sheet_dir /tmp/sheets   # annotated frames

For every detector configuration this runs every frame of the four Intel IoT DevKit
GIFs in ../shared/media and reports faces per frame against the people in each
clip, detections no other detector confirms (likely false positives), and the
median ms/frame at native size (480x270) and with frames resized to 640x480.
With ../shared/datasets/fer2013 present it also places real FER2013 test faces,
upscaled 4x, on a canvas, detects them and measures the crop framing (image side
and centre offset relative to the box) that `ferjax.faces.crop.FRAMINGS` holds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import cv2
import numpy as np
from absl import app, flags

from benchmarks import report
from ferjax import faces

flags.DEFINE_integer("fer_faces", 300, "FER2013 test faces used for the calibration.")
flags.DEFINE_integer("timed_frames", 20, "Frames per clip timed at 640x480.")
flags.DEFINE_string("sheet_dir", None, "Write annotated frames here for visual checks.")
flags.DEFINE_bool("write", True, "Update BENCHMARKS.md.")
FLAGS = flags.FLAGS

SHARED = os.path.join(ROOT, "..", "shared")
MEDIA = os.path.join(SHARED, "media")
FER2013 = os.path.join(SHARED, "datasets", "fer2013")
CLIPS = {  # file: people in the clip (media/README.md).
    "classroom.gif": 4,
    "face-demographics-walking-and-pause.gif": 3,
    "face-demographics-walking.gif": 2,
    "head-pose-face-detection-female-and-male.gif": 2,
}
CONFIGS = {  # label: (detector name, kwargs).
    "centerface": ("centerface", {}),
    "centerface, max_side 960": ("centerface", {"max_side": 960}),
    "blazeface full": ("blazeface", {}),
    "blazeface full, tiles 160": ("blazeface", {"tile": 160}),
    "blazeface back": ("blazeface_back", {}),
    "haar": ("haar", {}),
}

NOT_CALIBRATED = ("centerface, max_side 960",)  # Same boxes as centerface, 2x slower.


def read_frames(path: str) -> list[np.ndarray]:
  capture = cv2.VideoCapture(path)
  frames = []
  while True:
    ok, frame = capture.read()
    if not ok:
      break
    frames.append(frame)
  capture.release()
  return frames


def timed(detector: faces.FaceDetector, frame: np.ndarray) -> tuple[list, float]:
  start = time.perf_counter()
  detections = detector.detect(frame)
  return detections, (time.perf_counter() - start) * 1000


def confirmed(box: faces.Box, others: list[list[faces.Detection]]) -> bool:
  """Whether another detector has a box whose centre lies in `box`, or vice versa."""
  return any(faces.centre_inside(box, d.box) or faces.centre_inside(d.box, box)
             for detections in others for d in detections)


def draw(frame: np.ndarray, detections: list[faces.Detection]) -> np.ndarray:
  out = frame.copy()
  for d in detections:
    x0, y0, x1, y1 = (int(round(v)) for v in d.box)
    cv2.rectangle(out, (x0, y0), (x1, y1), (0, 255, 0), 1)
  return out


def bench_clips(detectors: dict[str, faces.FaceDetector]) -> str:
  """Markdown table of counts, unconfirmed detections and timings per detector."""
  per_clip = {label: {} for label in detectors}
  totals = {label: {"dets": 0, "unconfirmed": 0, "ms": [], "ms640": []}
            for label in detectors}
  for clip, people in CLIPS.items():
    frames = read_frames(os.path.join(MEDIA, clip))
    results = {label: [] for label in detectors}
    for label, detector in detectors.items():
      detector.detect(frames[0])  # Warm-up.
      for frame in frames:
        detections, ms = timed(detector, frame)
        results[label].append(detections)
        totals[label]["ms"].append(ms)
      for frame in frames[:FLAGS.timed_frames]:
        big = cv2.resize(frame, (640, 480), interpolation=cv2.INTER_LINEAR)
        totals[label]["ms640"].append(timed(detector, big)[1])
    for label in detectors:
      counts = [len(d) for d in results[label]]
      others = [l for l in detectors if l != label and l != "haar"]
      unconfirmed = sum(
          not confirmed(d.box, [results[o][i] for o in others])
          for i, dets in enumerate(results[label]) for d in dets)
      totals[label]["dets"] += sum(counts)
      totals[label]["unconfirmed"] += unconfirmed
      per_clip[label][clip] = (statistics.median(counts), min(counts), max(counts),
                               sum(c >= people for c in counts) / len(counts))
    if FLAGS.sheet_dir:
      os.makedirs(FLAGS.sheet_dir, exist_ok=True)
      for i in (0, len(frames) // 2, len(frames) - 1):
        panels = [cv2.putText(draw(frames[i], results[l][i]), l, (4, 14),
                              cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 255), 1)
                  for l in detectors]
        cv2.imwrite(os.path.join(FLAGS.sheet_dir, f"{clip[:-4]}_{i:02d}.png"),
                    np.concatenate(panels, 0))
  short = {c: c.replace("face-demographics-", "").replace(
      "head-pose-face-detection-female-and-male", "head-pose")[:-4] for c in CLIPS}
  header = ("| detector | " + " | ".join(f"{short[c]} ({p})" for c, p in CLIPS.items())
            + " | unconfirmed / all detections | ms/frame 480x270 | ms/frame 640x480 |")
  rows = [header, "|" + "---|" * (len(CLIPS) + 4)]
  for label in detectors:
    cells = [f"{m:g} [{lo}-{hi}], {full:.0%}" for m, lo, hi, full in per_clip[label].values()]
    t = totals[label]
    rows.append(f"| {label} | " + " | ".join(cells) + f" | {t['unconfirmed']} / {t['dets']} | "
                f"{statistics.median(t['ms']):.1f} | {statistics.median(t['ms640']):.1f} |")
  return "\n".join(rows)


def place(face: np.ndarray, canvas: tuple[int, int], x0: int, y0: int, up: int = 4
          ) -> tuple[np.ndarray, tuple[float, float, float, float]]:
  """BGR canvas with `face` upscaled `up` times at (x0, y0); returns it and the true box."""
  big = cv2.resize(face, None, fx=up, fy=up, interpolation=cv2.INTER_CUBIC)
  side = big.shape[0]
  w, h = canvas
  image = cv2.copyMakeBorder(big, y0, h - y0 - side, x0, w - x0 - side,
                             cv2.BORDER_REPLICATE)
  return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), (x0, y0, x0 + side, y0 + side)


def mosaic(detectors: dict[str, faces.FaceDetector]) -> str:
  """Markdown table: faces found in n x n mosaics of real frames (640x360 in all)."""
  clips = {"classroom.gif": 4, "head-pose-face-detection-female-and-male.gif": 2}
  rows = ["| detector | " + " | ".join(
      f"{c.split('-')[0].split('.')[0]} {n}x{n} (x{640 / n / 480:.2f})"
      for c in clips for n in (2, 3)) + " |", "|" + "---|" * 5]
  cells = {label: [] for label in detectors}
  for clip, people in clips.items():
    frames = read_frames(os.path.join(MEDIA, clip))
    for n in (2, 3):
      picks = [frames[round(i * (len(frames) - 1) / (n * n - 1))] for i in range(n * n)]
      tiles = [cv2.resize(f, (640 // n, 360 // n), interpolation=cv2.INTER_AREA)
               for f in picks]
      frame = np.concatenate([np.concatenate(tiles[r * n:(r + 1) * n], 1)
                              for r in range(n)], 0)
      for label, detector in detectors.items():
        cells[label].append(f"{len(detector.detect(frame))}/{people * n * n}")
  for label in detectors:
    rows.append(f"| {label} | " + " | ".join(cells[label]) + " |")
  return "\n".join(rows)


def calibrate(detectors: dict[str, faces.FaceDetector], images: np.ndarray) -> str:
  """Markdown table of the FER2013 framing measured per detector."""
  rng = np.random.default_rng(0)
  idx = rng.choice(len(images), min(FLAGS.fer_faces, len(images)), replace=False)
  rows = ["| detector | found | side / sqrt(w h) | side / w | side / h | dx | dy | "
          "box h / w | round-trip corr. |", "|" + "---|" * 9]
  for label, detector in detectors.items():
    if label in NOT_CALIBRATED:
      continue
    measures, pairs = [], []
    for k, i in enumerate(idx):
      face = images[i, :, :, 0]
      x0, y0 = int(rng.integers(40, 240)), int(rng.integers(40, 120))
      canvas, true = place(face, (480, 360), x0, y0)
      cx, cy, side = (true[0] + true[2]) / 2, (true[1] + true[3]) / 2, true[2] - true[0]
      hits = [d for d in detector.detect(canvas)
              if d.box[0] <= cx <= d.box[2] and d.box[1] <= cy <= d.box[3]]
      if not hits:
        continue
      d = max(hits, key=lambda d: d.score)
      w, h = d.width, d.height
      size = np.sqrt(w * h)
      measures.append((side / size, side / w, side / h,
                       (cx - (d.box[0] + d.box[2]) / 2) / size,
                       (cy - (d.box[1] + d.box[3]) / 2) / size, h / w))
      pairs.append((face, canvas, d.box))
    if not measures:
      rows.append(f"| {label} | 0/{len(idx)} | | | | | | | |")
      continue
    m = np.asarray(measures)
    med = np.median(m, 0)
    mad = np.median(np.abs(m - med), 0) / np.maximum(np.abs(med), 1e-9)
    framing = faces.Framing(scale=float(med[0]), dx=float(med[3]), dy=float(med[4]))
    corr = [np.corrcoef(f.ravel().astype(float), faces.crop_face(c, b, framing).ravel()
                        .astype(float))[0, 1] for f, c, b in pairs]
    rows.append(
        f"| {label} | {len(m)}/{len(idx)} | {med[0]:.3f} (MAD {mad[0]:.1%}) | "
        f"{med[1]:.3f} (MAD {mad[1]:.1%}) | {med[2]:.3f} (MAD {mad[2]:.1%}) | "
        f"{med[3]:+.3f} | {med[4]:+.3f} | {med[5]:.2f} | {np.median(corr):.3f} |")
  return "\n".join(rows)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if not os.path.isdir(MEDIA):
    sys.exit(f"error: shared media not found at {os.path.abspath(MEDIA)}")
  detectors = {}
  for label, (name, kwargs) in CONFIGS.items():
    try:
      detectors[label] = faces.create_detector(name, **kwargs)
    except faces.DetectorUnavailable as e:
      print(f"skipping {label}: {e}")
  cv2.setNumThreads(os.cpu_count() or 1)
  load = os.getloadavg()[0]
  table = bench_clips(detectors)
  print(table)
  calibration = ""
  if os.path.isdir(FER2013):
    import tempfile  # pylint: disable=g-import-not-at-top
    from ferjax.data import npz  # pylint: disable=g-import-not-at-top
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, "fer2013.npz")
      npz.prepare(FER2013, path)
      images = npz.load_split(path, "test")["image"]
    calibration = calibrate(detectors, images)
    print(calibration)
  small = mosaic(detectors)
  print(small)
  if FLAGS.write:
    body = (report.provenance() + f"- Load average at start: {load:.1f} on "
            f"{os.cpu_count()} CPUs (other jobs slow the timings when it exceeds that)\n\n"
            + CLIP_TEXT + "\n\n" + table + "\n\n"
            + MOSAIC_TEXT + "\n\n" + small + "\n")
    if calibration:
      body += "\n" + CALIBRATION_TEXT + "\n\n" + calibration + "\n"
    report.update_section("Face detection", body + "\n" + CHOICE_TEXT)


CLIP_TEXT = """\
Every frame of the four Intel IoT DevKit GIFs (480x270, `../shared/media`). Cells:
median faces per frame [min-max], and the share of frames with at least as many
faces as people in the clip (header). People walk in and out of the two
`walking` clips, so fewer faces is correct on some of their frames. A detection is
*unconfirmed* when no other detector (Haar excluded) has a box whose centre lies
in it or that contains its centre: an upper bound on false positives. Times are
medians of one `detect` call, single process, including resizing and decoding."""

MOSAIC_TEXT = """\
### Smaller faces

Frames of the two clips where everyone stays in view, shrunk into an n x n mosaic
(640x360 in all; faces scaled by the factor in the header: classroom faces become
about 10-17 px at 2x2 and 7-11 px at 3x3). Cells: detections / faces present."""

CALIBRATION_TEXT = """\
### FER2013 framing

FER2013 test faces (48x48) upscaled 4x to 192x192 with bicubic interpolation and
placed at random positions on a 480x360 canvas (border pixels replicated). *found*:
faces where the best detection contains the true centre. Medians of the 192 px
side relative to the box (sqrt(w h), width, height; MAD relative to the median)
and of the centre offset (image centre - box centre) / sqrt(w h). The crop uses
side = scale * sqrt(w h), centre = box centre + (dx, dy) * sqrt(w h) with these
medians (`ferjax/faces/crop.py`); *round-trip corr.* is the median pixel
correlation between the original face and crop_face(canvas, detected box)."""

CHOICE_TEXT = """\
### Default

`centerface` is the default of `ferjax.faces.create_detector` (eval and live): it is
the only detector that finds every person in every frame of all four clips with no
unconfirmed detection, its boxes frame FER2013 faces most consistently (smallest
MAD of side / sqrt(w h) among the learned detectors, so crops vary least), and its
`max_side` knob reaches faces of about 10-17 px (mosaic 2x2: 15/16 at 960). It is
the slowest learned detector, so the live tool should run it every few frames and
track in between. `blazeface_back` matches it on these clips at a fraction of the
cost and is the fast choice when faces are larger than about 25 px; BlazeFace
full-range needs tiles for small faces and then adds false positives; Haar misses
turned heads and is kept only as the dependency-free fallback."""


if __name__ == "__main__":
  app.run(main)
