"""CenterFace recall against face size, and what the scale plan buys on small and huge frames.

    python -m benchmarks.detection_scale --npz fer2013.npz     # updates BENCHMARKS.md
    python -m benchmarks.detection_scale --quick --nowrite     # smoke run

1. Real faces (the four clips in ../shared/media, found at 2x with score 0.5) with
   their frames rescaled so each face's box side sqrt(w h) is N px, detected at
   native scale: recall per size and score threshold. The smallest size with
   recall >= 95% is the reliable face size (`ferjax.faces.scales.RELIABLE_FACE_PX`).
2. FER2013 test faces (tight 48 px crops, no hair or head outline) pasted at N px
   on a textured canvas: the pessimistic bound.
3. A 640x480 classroom frame: real heads (with their surroundings) pasted at face
   sides 12-30 px; recall of faces >= 14 px and ms per `detect`, per configuration.
4. A 4000x2256 photo of 24 faces 60-140 px wide (upscaled FER2013 faces, and the
   clips' real heads): faces found in one `detect` call and its time, per configuration.
"""

from __future__ import annotations

import os
import statistics
import time

import cv2
import numpy as np
from absl import app, flags

from benchmarks import report
from ferjax import faces

flags.DEFINE_string("npz", None, "Prepared FER2013 .npz (else the CSV in ../shared).")
flags.DEFINE_list("sizes", ["8", "10", "12", "14", "16", "18", "20", "22", "24", "28", "32", "40"],
                  "Face sides (px) for the recall curves.")
flags.DEFINE_list("thresholds", ["0.2", "0.3", "0.4", "0.5", "0.6", "0.7"],
                  "Score thresholds for the real-face curve.")
flags.DEFINE_integer("fer_canvases", 4, "FER2013 canvases (48 faces each) per size.")
flags.DEFINE_integer("frames", 8, "Synthetic 640x480 frames (and 4K photos: a quarter).")
flags.DEFINE_integer("repeats", 5, "Timed detect calls per frame (median).")
flags.DEFINE_bool("curves", True, "Measure the recall-by-size curves (sections 1-2).")
flags.DEFINE_bool("quick", False, "Smoke run: few sizes, frames and repeats.")
flags.DEFINE_bool("write", True, "Update BENCHMARKS.md.")
FLAGS = flags.FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEDIA = os.path.join(ROOT, "..", "shared", "media")
FER2013 = os.path.join(ROOT, "..", "shared", "datasets", "fer2013")
CLIPS = {  # file: people in every frame (media/README.md).
    "classroom.gif": 4,
    "face-demographics-walking-and-pause.gif": 3,
    "face-demographics-walking.gif": 2,
    "head-pose-face-detection-female-and-male.gif": 2,
}
TITLE = "Detection scale"
RECALL_GOAL = 0.95
SMALL_FRAME = (640, 480)
PHOTO = (4000, 2256)
PHOTO_FACES = 24
LIVE_MIN = 14  # Faces the live tool must find (px).


def read_frames(path: str) -> list[np.ndarray]:
  """Every frame of a clip (BGR)."""
  capture = cv2.VideoCapture(path)
  frames = []
  ok, frame = capture.read()
  while ok:
    frames.append(frame)
    ok, frame = capture.read()
  capture.release()
  return frames


def texture(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
  """Smooth grey clutter (float32 0..255, h x w)."""
  cells = rng.normal(128, 25, (h // 16 + 2, w // 16 + 2)).astype(np.float32)
  return cv2.resize(cells, (w, h), interpolation=cv2.INTER_CUBIC)


def hit(box: faces.Box, detections: list[faces.Detection]) -> bool:
  """Whether a detection's box holds the centre of `box`."""
  cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
  return any(d.box[0] <= cx <= d.box[2] and d.box[1] <= cy <= d.box[3] for d in detections)


def at_native(score_threshold: float) -> faces.CenterFace:
  return faces.CenterFace(max_side=640, score_threshold=score_threshold)


def detect_native(detector: faces.CenterFace, image: np.ndarray) -> list[faces.Detection]:
  detector.max_side = max(image.shape[:2])  # Scale 1 (padding aside).
  return detector.detect(image)


def reference_faces(step: int) -> list[tuple[np.ndarray, list[faces.Detection]]]:
  """Clip frames whose people are all found at 2x and score 0.5, with those faces."""
  detector = at_native(0.5)
  out = []
  for clip, people in CLIPS.items():
    for frame in read_frames(os.path.join(MEDIA, clip))[::step]:
      detector.max_side = 2 * max(frame.shape[:2])
      found = detector.detect(frame)
      if len(found) == people:
        out.append((frame, found))
  return out


def real_curve(refs, sizes: list[int], thresholds: list[float]) -> dict[float, dict[int, float]]:
  """Recall per threshold and face side for the clips' faces rescaled to that side."""
  detector = at_native(min(thresholds))
  hits = {t: {s: 0 for s in sizes} for t in thresholds}
  counts = {s: 0 for s in sizes}
  for frame, found in refs:
    for face in found:
      for size in sizes:
        k = size / np.sqrt(face.width * face.height)
        if k > 4:
          continue
        image = cv2.resize(frame, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1
                           else cv2.INTER_LINEAR)
        detections = detect_native(detector, image)
        box = tuple(v * k for v in face.box)
        counts[size] += 1
        for t in thresholds:
          hits[t][size] += hit(box, [d for d in detections if d.score >= t])
  return {t: {s: hits[t][s] / max(counts[s], 1) for s in sizes} for t in thresholds}


def fer_curve(images: np.ndarray, sizes: list[int], thresholds: list[float],
              canvases: int) -> dict[float, dict[int, float]]:
  """Recall per threshold and side for FER2013 crops pasted on a textured canvas."""
  rng = np.random.default_rng(0)
  detector = at_native(min(thresholds))
  hits = {t: {s: 0 for s in sizes} for t in thresholds}
  counts = {s: 0 for s in sizes}
  for size in sizes:
    cell = max(80, 2 * size)
    for _ in range(canvases):
      canvas = texture(rng, SMALL_FRAME[0], SMALL_FRAME[1])
      boxes = []
      for y in range(0, SMALL_FRAME[1] - cell + 1, cell):
        for x in range(0, SMALL_FRAME[0] - cell + 1, cell):
          face = images[rng.integers(len(images))]
          x0, y0 = x + (cell - size) // 2, y + (cell - size) // 2
          canvas[y0:y0 + size, x0:x0 + size] = cv2.resize(face, (size, size),
                                                          interpolation=cv2.INTER_AREA)
          boxes.append((x0, y0, x0 + size, y0 + size))
      image = cv2.cvtColor(np.clip(canvas, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
      detections = detect_native(detector, image)
      counts[size] += len(boxes)
      for t in thresholds:
        kept = [d for d in detections if d.score >= t]
        hits[t][size] += sum(hit(b, kept) for b in boxes)
  return {t: {s: hits[t][s] / max(counts[s], 1) for s in sizes} for t in thresholds}


def head_patches(refs) -> list[tuple[np.ndarray, faces.Box]]:
  """Squares 2.5 face boxes wide around each reference face, with the box inside."""
  patches = []
  for frame, found in refs:
    h, w = frame.shape[:2]
    for face in found:
      side = 2.5 * np.sqrt(face.width * face.height)
      cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
      x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
      s = int(round(side))
      if x0 < 0 or y0 < 0 or x0 + s > w or y0 + s > h:
        continue
      box = (face.box[0] - x0, face.box[1] - y0, face.box[2] - x0, face.box[3] - y0)
      patches.append((frame[y0:y0 + s, x0:x0 + s], box))
  return patches


def feathered(patch: np.ndarray) -> np.ndarray:
  """Alpha (h, w, 1) that fades the patch's border into the canvas."""
  h, w = patch.shape[:2]
  alpha = np.zeros((h, w), np.float32)
  cv2.ellipse(alpha, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0, 360, 1.0, -1)
  return cv2.GaussianBlur(alpha, (0, 0), max(w / 10, 1))[..., None]


def scene(rng: np.random.Generator, size: tuple[int, int], sides: list[float],
          patches: list[tuple[np.ndarray, faces.Box]], sharp: bool = True
          ) -> tuple[np.ndarray, list[faces.Box]]:
  """BGR canvas with one patch per side, scaled so its face box is that side, no overlaps.

  `sharp`: only heads at least that large are used (shrunk, not enlarged).
  """
  w, h = size
  canvas = np.repeat(texture(rng, w, h)[..., None], 3, 2)
  taken, boxes = [], []
  face_sides = np.array([np.sqrt((b[2] - b[0]) * (b[3] - b[1])) for _, b in patches])
  for side in sides:
    # Only shrunk heads: enlarged ones are blurrier than a camera's faces of that size.
    large = np.flatnonzero(face_sides >= side) if sharp else np.arange(len(patches))
    pick = rng.choice(large) if len(large) else int(np.argmax(face_sides))
    patch, box = patches[pick]
    k = side / np.sqrt((box[2] - box[0]) * (box[3] - box[1]))
    small = cv2.resize(patch, None, fx=k, fy=k, interpolation=cv2.INTER_AREA if k < 1
                       else cv2.INTER_LINEAR).astype(np.float32)
    ph, pw = small.shape[:2]
    for _ in range(200):
      x, y = int(rng.integers(0, w - pw)), int(rng.integers(0, h - ph))
      if all(x + pw <= a or a + c <= x or y + ph <= b or b + d <= y for a, b, c, d in taken):
        break
    else:
      continue
    taken.append((x, y, pw, ph))
    alpha = feathered(small)
    region = canvas[y:y + ph, x:x + pw]
    canvas[y:y + ph, x:x + pw] = alpha * small + (1 - alpha) * region
    boxes.append(tuple(float(v) for v in (x + box[0] * k, y + box[1] * k,
                                          x + box[2] * k, y + box[3] * k)))
  return np.clip(canvas, 0, 255).astype(np.uint8), boxes


def fer_photo(rng: np.random.Generator, images: np.ndarray, size: tuple[int, int],
              sides: list[float]) -> tuple[np.ndarray, list[faces.Box]]:
  """Grid of cells, each an upscaled FER2013 face with its border replicated to the cell."""
  w, h = size
  cols = int(np.ceil(np.sqrt(len(sides) * w / h)))
  rows = int(np.ceil(len(sides) / cols))
  cw, ch = w // cols, h // rows
  canvas = np.repeat(texture(rng, w, h)[..., None], 3, 2).astype(np.uint8)
  boxes = []
  for i, side in enumerate(sides):
    side = int(round(side))
    face = cv2.resize(images[rng.integers(len(images))], (side, side),
                      interpolation=cv2.INTER_CUBIC)
    x = int(rng.integers(0, cw - side)) if cw > side else 0
    y = int(rng.integers(0, ch - side)) if ch > side else 0
    cell = cv2.copyMakeBorder(face, y, ch - y - side, x, cw - x - side, cv2.BORDER_REPLICATE)
    cx, cy = (i % cols) * cw, (i // cols) * ch
    canvas[cy:cy + ch, cx:cx + cw] = cell[..., None]
    boxes.append((cx + x, cy + y, cx + x + side, cy + y + side))
  return canvas, boxes


def photo_sides(rng: np.random.Generator) -> list[float]:
  """Face sides of one photo: 60-140 px, as adults in a lecture-hall shot."""
  return list(rng.uniform(60, 140, PHOTO_FACES))


def timed_detect(detector: faces.CenterFace, image: np.ndarray, repeats: int
                 ) -> tuple[list[faces.Detection], float]:
  detections = detector.detect(image)  # Warm-up (and the plan).
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    detector.detect(image)
    times.append(time.perf_counter() - start)
  return detections, statistics.median(times) * 1000


def curve_table(curves: dict[float, dict[int, float]], sizes: list[int]) -> str:
  rows = ["| score | " + " | ".join(f"{s} px" for s in sizes) + " | reliable (>= 95%) |",
          "|---|" + "---|" * (len(sizes) + 1)]
  for t, by_size in curves.items():
    reliable = next((s for s in sizes if all(by_size[z] >= RECALL_GOAL for z in sizes
                                             if z >= s)), None)
    rows.append(f"| {t:g} | " + " | ".join(f"{by_size[s]:.2f}" for s in sizes)
                + f" | {reliable if reliable else '-'} px |")
  return "\n".join(rows)


def small_frames(patches, configs: dict[str, dict], frames: int, repeats: int,
                 seed: int = 1) -> str:
  """Recall of faces >= 14 px in 640x480 frames with faces 12-30 px, per configuration."""
  rng = np.random.default_rng(seed)
  scenes = [scene(rng, SMALL_FRAME, list(rng.uniform(12, 30, 16)), patches)
            for _ in range(frames)]
  rows = ["| configuration | plan | recall >= 14 px | recall 12-14 px | found / true | "
          "ms/detect |", "|---|---|---|---|---|---|"]
  for label, kwargs in configs.items():
    detector = faces.CenterFace(**kwargs)
    big, small, found, true, times = [0, 0], [0, 0], 0, 0, []
    for image, boxes in scenes:
      detections, ms = timed_detect(detector, image, repeats)
      times.append(ms)
      found, true = found + len(detections), true + len(boxes)
      for box in boxes:
        tally = big if np.sqrt((box[2] - box[0]) * (box[3] - box[1])) >= LIVE_MIN else small
        tally[0] += hit(box, detections)
        tally[1] += 1
    rows.append(f"| {label} | {detector.plan(scenes[0][0].shape).describe()} | "
                f"{big[0] / max(big[1], 1):.3f} ({big[0]}/{big[1]}) | "
                f"{small[0] / max(small[1], 1):.2f} | {found} / {true} | "
                f"{statistics.median(times):.0f} |")
  return "\n".join(rows)


def photos(kinds: dict[str, list], configs: dict[str, dict], repeats: int) -> str:
  """Faces found in 4000x2256 photos of 24 faces 60-140 px wide, per configuration."""
  rows = ["| configuration | plan | " + " | ".join(f"found, {k}" for k in kinds)
          + " | ms/detect |", "|---|---|" + "---|" * len(kinds) + "---|"]
  for label, kwargs in configs.items():
    detector = faces.CenterFace(**kwargs)
    cells, times = [], []
    for shots in kinds.values():
      counts = []
      for image, boxes in shots:
        detections, ms = timed_detect(detector, image, repeats)
        times.append(ms)
        counts.append(sum(hit(b, detections) for b in boxes))
      cells.append(" ".join(f"{c}/{PHOTO_FACES}" for c in counts))
    rows.append(f"| {label} | {detector.plan((PHOTO[1], PHOTO[0])).describe()} | "
                + " | ".join(cells) + f" | {statistics.median(times):.0f} |")
  return "\n".join(rows)


def load_fer() -> np.ndarray | None:
  from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
  if FLAGS.npz:
    return classroom.load_fer_faces(npz_path=FLAGS.npz)[0]
  if os.path.isdir(FER2013):
    return classroom.load_fer_faces(manual_dir=FER2013)[0]
  return None


def main(argv):
  del argv
  quick = FLAGS.quick
  sizes = [int(s) for s in FLAGS.sizes][::3 if quick else 1]
  thresholds = [float(t) for t in FLAGS.thresholds]
  frames = 1 if quick else FLAGS.frames
  repeats = 1 if quick else FLAGS.repeats
  refs = reference_faces(step=12 if quick else 4)
  print(f"{len(refs)} reference frames", flush=True)
  real = fer = None
  if FLAGS.curves:
    real = real_curve(refs, sizes, thresholds)
    print(curve_table(real, sizes), flush=True)
  images = load_fer()
  if images is not None and FLAGS.curves:
    fer = fer_curve(images, sizes, [0.5, 0.3], 1 if quick else FLAGS.fer_canvases)
    print(curve_table(fer, sizes), flush=True)
  patches = head_patches(refs)
  small = small_frames(patches, {
      "max_side 640 (fixed)": {"max_side": 640},
      "default (score 0.5, min_face 14)": {},
      "score 0.3 (min_face 14)": {"score_threshold": 0.3},
      "score 0.3, min_face 12": {"score_threshold": 0.3, "min_face": 12},
  }, frames, repeats)
  print(small, flush=True)
  rng = np.random.default_rng(2)
  shots = max(1, frames // 4)
  kinds = {"real heads": [scene(rng, PHOTO, photo_sides(rng), patches, sharp=False)
                          for _ in range(shots)]}
  if images is not None:
    kinds["FER2013"] = [fer_photo(rng, images, PHOTO, photo_sides(rng))
                        for _ in range(shots)]
  big = photos(kinds, {
      "max_side 640 (fixed)": {"max_side": 640},
      "max_side 1600 (fixed)": {"max_side": 1600},
      "default (score 0.5, min_face 14)": {},
      "score 0.3 (min_face 14)": {"score_threshold": 0.3},
  }, repeats)
  print(big, flush=True)
  if not FLAGS.write:
    return
  body = [report.provenance()]
  if real is not None:
    body += ["Real faces: the people of the four clips in ../shared/media (found at 2x, "
             "score 0.5), each frame rescaled so a face's box side sqrt(w h) is N px and "
             "detected at native scale; recall per score threshold. The reliable size "
             "(recall >= 95% from there up) is `ferjax.faces.scales.RELIABLE_FACE_PX`; "
             "plans use it times `scales.MARGIN`, which the 640x480 frames below need.", "",
             curve_table(real, sizes), ""]
  if fer is not None:
    body += ["FER2013 test faces (tight crops: no hair or head outline, so a pessimistic "
             "bound) pasted at N px (INTER_AREA) on a textured canvas, native scale:", "",
             curve_table(fer, sizes), ""]
  body += [f"640x480 frames ({frames}), 16 real heads each with face sides 12-30 px "
           "(shrunk from larger heads, feathered onto clutter); median ms per `detect` "
           f"over {repeats} calls:", "",
           small, "",
           f"{PHOTO[0]}x{PHOTO[1]} photos ({shots} per kind), {PHOTO_FACES} faces 60-140 px "
           "(real heads enlarged; FER2013 faces enlarged, borders replicated to their "
           "grid cell; tight FER2013 crops are found poorly at any scale); faces found "
           "in one `detect` call:", "", big]
  report.update_section(TITLE, "\n".join(body))
  print(f"updated {report.BENCHMARKS_MD}")


if __name__ == "__main__":
  app.run(main)
