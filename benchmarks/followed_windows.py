"""How well a followed face's window finds real faces, by the window's scale.

    python -m benchmarks.followed_windows            # updates BENCHMARKS.md
    python -m benchmarks.followed_windows --configs 80/4/16 --nowrite

In a video the live tool detects each face it follows in a window around it,
`context` face sides wide, scaled to `cell` input pixels and packed with `gap`
black pixels between windows into one mosaic (`ferjax.faces.scene_scale`): the
face is seen at cell / context pixels. The synthetic lesson's faces are
FER2013's 48-px faces scaled up, so it cannot say which scale real faces need.
This benchmark puts every labelled face of at least --min_face px of the WIDER
FACE indoor photos (../shared/datasets/wider_face_indoor) in such a window,
centred on its labelled box, all of a photo's windows in one mosaic as a round
does, and counts the faces the tool's detector finds there (score >= the
tracker's low threshold, IoU >= 0.5): one round's recall of the faces followed.
False positives are the boxes that overlap no labelled face (IoU < 0.3).
"""

from __future__ import annotations

import collections
import os
import statistics
import time

import cv2
import numpy as np
from absl import app, flags

from benchmarks import report
from ferjax.data import wider_face
from ferjax.data.errors import DataError
from ferjax.faces import geometry, scene_scale
from ferjax.live import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string("data", os.path.join(ROOT, "..", "shared", "datasets",
                                         "wider_face_indoor"), "WIDER FACE folder.")
flags.DEFINE_list("configs", ["80/4/16", "64/4/16", "96/3/0", "96/4/0", "96/4/16",
                              "96/4/32", "128/4/32"],
                  "Windows as cell/context/gap (input px / face sides / px); the first "
                  "is the live tool's.")
flags.DEFINE_float("min_face", 16.0, "Smallest labelled face followed (sqrt(w h), px).")
flags.DEFINE_integer("max_images", 0, "First N photos only (0: all).")
flags.DEFINE_bool("write", True, "Update the section in BENCHMARKS.md.")
FLAGS = flags.FLAGS

TITLE = "Followed faces' windows on real photos"
READING = """\
The first row is the live tool's windows. The faces stand still, centred in their
windows: this says how well each scale reads real faces, not how a window keeps a face
that moves or turns between rounds, which the synthetic lesson's "windows" rows in
"Live pipeline in HD" measure (there, three face sides or no gap lose 1-2 points)."""
SIZE_BINS = ((16, 24), (24, 48), (48, np.inf))
MATCH_IOU = 0.5
NO_FACE_IOU = 0.3


def parse_config(text: str) -> tuple[int, float, int]:
  """'cell/context/gap' -> (cell, context, gap)."""
  try:
    cell, context, gap = text.split("/")
    return int(cell), float(context), int(gap)
  except ValueError as e:
    raise app.UsageError(f"--configs: {text!r} is not cell/context/gap, e.g. 80/4/16") from e


def run(images, folder: str, configs: list[tuple[int, float, int]]) -> dict:
  """Counts per config: faces and faces found per size bin, false positives, seconds."""
  detector = pipeline.create_detector()  # The live tool's CenterFace (scores from 0.25).
  counts = {c: collections.Counter() for c in configs}
  seconds = {c: [] for c in configs}
  for image in images:
    sides = np.sqrt(np.prod(image.boxes[:, 2:] - image.boxes[:, :2], axis=1))
    followed = np.flatnonzero(~image.invalid & (sides >= FLAGS.min_face))
    if not len(followed):
      continue
    frame = cv2.imread(wider_face.image_file(folder, image))
    if frame is None:
      raise DataError(f"{wider_face.image_file(folder, image)}: not a readable image")
    for config in configs:
      cell, context, gap = config
      start = time.perf_counter()
      windows = [scene_scale.window_around(box, context, cell)
                 for box in image.boxes[followed]]  # As a round centres them.
      found = detector.detect_focused(frame, windows, cell, None, None, gap)  # No sweep.
      seconds[config].append((time.perf_counter() - start) / len(followed))
      boxes = np.array([d.box for d in found], np.float64).reshape(-1, 4)
      overlap = (geometry.iou(image.boxes, boxes) if len(boxes)
                 else np.zeros((len(image.boxes), 0)))
      hit = overlap.max(axis=1) >= MATCH_IOU if len(boxes) else np.zeros(len(sides), bool)
      c = counts[config]
      for k in followed:
        for lo, hi in SIZE_BINS:
          if lo <= sides[k] < hi:
            c[("faces", lo)] += 1
            c[("found", lo)] += bool(hit[k])
      c["false"] += int((overlap.max(axis=0) < NO_FACE_IOU).sum()) if len(boxes) else 0
      c["photos"] += 1
  return {c: (counts[c], statistics.median(seconds[c]) * 1000) for c in configs}


def table(results: dict) -> str:
  bins = " | ".join(f"recall {lo}-{hi:g} px" if np.isfinite(hi) else f"recall >= {lo} px"
                    for lo, hi in SIZE_BINS)
  lines = [f"| window (cell / face sides / gap) | face seen at | input px per face | {bins} "
           "| recall, all | false positives per photo | ms per face |",
           "|---|---|---|" + "---|" * len(SIZE_BINS) + "---|---|---|"]
  for (cell, context, gap), (c, ms) in results.items():
    faces = sum(c[("faces", lo)] for lo, _ in SIZE_BINS)
    found = sum(c[("found", lo)] for lo, _ in SIZE_BINS)
    per_bin = " | ".join(f"{c[('found', lo)] / max(c[('faces', lo)], 1):.1%}"
                         for lo, _ in SIZE_BINS)
    lines.append(f"| {cell} / {context:g} / {gap} | {cell / context:.0f} px | "
                 f"{(cell + gap) ** 2:,} | {per_bin} | **{found / max(faces, 1):.1%}** "
                 f"({found} of {faces}) | {c['false'] / max(c['photos'], 1):.2f} | {ms:.1f} |")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  configs = [parse_config(text) for text in FLAGS.configs]
  try:
    images = wider_face.read_folder(FLAGS.data)
  except DataError as e:
    raise SystemExit(f"followed_windows: {e}") from None
  if FLAGS.max_images:
    images = images[:FLAGS.max_images]
  cv2.setNumThreads(os.cpu_count() or 1)
  results = run(images, FLAGS.data, configs)
  body = (report.provenance()
          + f"- Photos: {len(images)} of `{os.path.basename(os.path.normpath(FLAGS.data))}`;"
          f" labelled faces >= {FLAGS.min_face:g} px, not marked invalid\n\n"
          + __doc__.split("\n\n", 2)[2].strip() + "\n\n" + table(results) + "\n\n"
          + READING + "\n")
  report.publish(TITLE, body, FLAGS.write)


if __name__ == "__main__":
  app.run(main)
