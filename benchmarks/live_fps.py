"""End-to-end FPS of the live pipeline at 640x480, and the `fer` package beside it.

    python -m benchmarks.live_fps --model ferjax/pretrained/realtime
    python -m benchmarks.live_fps --model /tmp/export --frames 10 --faces 1,5 --write=false
    python -m benchmarks.live_fps --setup_baseline ...   # build the fer environment first

For 1, 5, 15 and 30 students this makes a synthetic classroom video
(`ferjax.synthetic.classroom`, real FER2013 test faces, a teacher walking past) in memory
before timing, so no decoding is timed, then runs `ferjax.live.LivePipeline`
plus `ferjax.live.overlay.draw` on every frame, as tools/live.py does, for a few
detector settings. It reports the median ms per frame of each stage (detect:
median over the frames it ran on, and its mean per frame), FPS = frames / wall
time of the whole loop, and recall: the mean share of the visible students
that have a reported face whose centre lies inside their true box. Speed does
not depend on the weights, so an untrained export times the same.

Baseline: the `fer` PyPI package (Haar or MTCNN face detector + its emotion
CNN), timed on the same frames by benchmarks/fer_baseline_worker.py in its own
environment, since fer needs opencv-contrib-python, TensorFlow and PyTorch,
which must not enter the main one. Set it up once (idempotent):

    bash benchmarks/setup_fer_baseline.sh     # or pass --setup_baseline

That makes benchmarks/.venv-fer with Python 3.11, a CPU torch==2.13.0 (a plain
`pip install torch` pulls the CUDA build), torchvision==0.28.0, fer==25.10.3
and facenet-pytorch==2.6.0 without their pinned dependencies (torch<2.3), then
the rest of fer's requirements (tensorflow-cpu, opencv-contrib-python,
moviepy<2, pandas, ffmpeg-python, setuptools<81 for pkg_resources), and checks
that both fer detectors run offline. Without that environment the table says
so and the rest of the benchmark runs as usual.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
from absl import app, flags

from benchmarks import report
from ferjax.faces import geometry
from ferjax.inference import DEFAULT_MODEL_DIR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string("model", DEFAULT_MODEL_DIR,
                    "Exported model folder (from ferjax.train.export).")
flags.DEFINE_integer("frames", 150, "Frames per video (timed after a warm-up).")
flags.DEFINE_list("faces", ["1", "5", "15", "30"], "Students per video.")
flags.DEFINE_float("fps", 30.0, "Camera frame rate the synthetic motion is timed for.")
flags.DEFINE_integer("baseline_frames", 60, "Frames of each video the fer baseline runs "
                     "on (its MTCNN takes about a second per frame here); 0: all.")
flags.DEFINE_list("baseline_detectors", ["haar", "mtcnn"], "fer detectors to time.")
flags.DEFINE_bool("setup_baseline", False, "Run benchmarks/setup_fer_baseline.sh first.")
flags.DEFINE_bool("write", True, "Update the Live pipeline section of BENCHMARKS.md.")
FLAGS = flags.FLAGS

FER2013 = os.path.join(ROOT, "..", "shared", "datasets", "fer2013")
FER_PYTHON = os.path.join(ROOT, "benchmarks", ".venv-fer", "bin", "python")
FER_WORKER = os.path.join(ROOT, "benchmarks", "fer_baseline_worker.py")
SETUP_SCRIPT = os.path.join(ROOT, "benchmarks", "setup_fer_baseline.sh")
NOT_INSTALLED = "baseline not installed: see the script docstring for setup"
CONFIGS = (  # label, detector name, detect_every.
    ("ferjax, centerface, detect every 3 (default)", "default", 3),
    ("ferjax, centerface, detect every 1", "centerface", 1),
    ("ferjax, blazeface_back, detect every 1", "blazeface_back", 1),
)
TARGETS = ((5, 30.0), (30, 15.0))  # (students, FPS) for the default settings.
Box = geometry.Box


def make_video(faces: np.ndarray, labels: np.ndarray, students: int
               ) -> tuple[list[np.ndarray], list[dict]]:
  from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
  frames, truths = [], []
  for image, truth in classroom.generate(faces, labels, num_students=students,
                                         num_frames=FLAGS.frames, seed=students,
                                         width=640, height=480, fps=FLAGS.fps):
    frames.append(image)
    truths.append(truth)
  return frames, truths


def frame_recall(boxes: list[Box], truth: dict) -> float | None:
  """Share of visible students with a box whose centre lies in theirs (None: none visible)."""
  visible = [s["box"] for s in truth["students"] if s["visible"]]
  if not visible:
    return None
  found = sum(any(geometry.centre_inside(b, t) for b in boxes) for t in visible)
  return found / len(visible)


def mean_recall(boxes_per_frame: list[list[Box]], truths: list[dict]) -> float:
  shares = [r for b, t in zip(boxes_per_frame, truths)
            if (r := frame_recall(b, t)) is not None]
  return float(np.mean(shares)) if shares else float("nan")


def run_pipeline(detector, classifier, detect_every: int, frames: list[np.ndarray],
                 truths: list[dict]) -> dict:
  """Times pipeline + overlay on every frame, as tools/live.py runs them."""
  from ferjax.live import overlay  # pylint: disable=g-import-not-at-top
  from ferjax.live.pipeline import STAGES, LivePipeline  # pylint: disable=g-import-not-at-top
  from ferjax.live.sources import Frame  # pylint: disable=g-import-not-at-top

  def pipeline():
    return LivePipeline(detector, classifier, fps=FLAGS.fps, detect_every=detect_every)

  warm = pipeline()  # Warm-up on a separate tracker, so the timed run starts fresh.
  for i in range(min(3, len(frames))):
    result = warm.process(Frame(i, i / FLAGS.fps, frames[i]))
    overlay.draw(frames[i], result.faces, classifier.class_names, 0.0)
  live = pipeline()
  stage_ms = {stage: [] for stage in STAGES}
  detect_ms, boxes = [], []
  start = time.perf_counter()
  for i, image in enumerate(frames):
    result = live.process(Frame(i, i / FLAGS.fps, image))
    t0 = time.perf_counter()
    overlay.draw(image, result.faces, classifier.class_names,
                 (i + 1) / max(t0 - start, 1e-9))
    result.timings["draw"] = time.perf_counter() - t0
    for stage in STAGES:
      stage_ms[stage].append(result.timings[stage] * 1000)
    if result.detected:
      detect_ms.append(result.timings["detect"] * 1000)
    boxes.append([f.box for f in result.faces])
  seconds = time.perf_counter() - start
  row = {f"{stage}_ms": statistics.median(stage_ms[stage]) for stage in STAGES}
  row["detect_ms"] = statistics.median(detect_ms)
  row["detect_mean_ms"] = float(np.mean(stage_ms["detect"]))
  row["fps"] = len(frames) / seconds
  row["recall"] = mean_recall(boxes, truths)
  return row


def run_baseline(frames: list[np.ndarray], truths: list[dict]) -> dict[str, dict]:
  """fer's pipeline per detector, timed in its own environment."""
  if not os.path.exists(FER_PYTHON):
    return {name: {"error": NOT_INSTALLED} for name in FLAGS.baseline_detectors}
  count = FLAGS.baseline_frames or len(frames)
  frames, truths = frames[:count], truths[:count]
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "frames.npy")
    np.save(path, np.stack(frames))
    process = subprocess.run(
        [FER_PYTHON, FER_WORKER, f"--frames={path}",
         f"--detectors={','.join(FLAGS.baseline_detectors)}"],
        capture_output=True, text=True, check=False)
  lines = [l for l in process.stdout.splitlines() if l.startswith("{")]
  if process.returncode or not lines:
    error = (process.stderr.strip().splitlines() or ["no output"])[-1]
    return {name: {"error": f"worker failed: {error}"} for name in FLAGS.baseline_detectors}
  rows = {}
  for name, result in json.loads(lines[-1]).items():
    if "error" in result:
      rows[name] = result
      continue
    rows[name] = {"ms": statistics.median(result["ms"]),
                  "fps": len(result["ms"]) / result["seconds"],
                  "faces": float(np.mean([len(b) for b in result["boxes"]])),
                  "recall": mean_recall(result["boxes"], truths),
                  "frames": len(result["ms"])}
  return rows


def table(results: dict[int, dict[str, dict]], baseline: dict[int, dict[str, dict]]) -> str:
  lines = ["| students | pipeline | detect ms (when run / per frame) | track ms | classify ms "
           "| draw ms | FPS | recall |", "|---|---|---|---|---|---|---|---|"]
  for students, rows in results.items():
    for label, r in rows.items():
      lines.append(
          f"| {students} | {label} | {r['detect_ms']:.1f} / {r['detect_mean_ms']:.1f} | "
          f"{r['track_ms']:.2f} | {r['classify_ms']:.1f} | {r['draw_ms']:.2f} | "
          f"{r['fps']:.1f} | {r['recall']:.0%} |")
    for name, r in baseline.get(students, {}).items():
      label = f"fer 25.10.3, {'MTCNN' if name == 'mtcnn' else 'Haar'}"
      if "error" in r:
        lines.append(f"| {students} | {label} | {r['error']} | | | | | |")
      else:
        lines.append(f"| {students} | {label} ({r['frames']} frames) | {r['ms']:.1f} "
                     f"(whole `detect_emotions`) | | | | {r['fps']:.1f} | {r['recall']:.0%} |")
  return "\n".join(lines)


def verdict(results: dict[int, dict[str, dict]]) -> str:
  lines = []
  default = CONFIGS[0][0]
  for students, target in TARGETS:
    row = results.get(students, {}).get(default)
    if row is None:
      lines.append(f"- {target:g} FPS with {students} students: not measured in this run.")
    else:
      met = "met" if row["fps"] >= target else "NOT met"
      lines.append(f"- {target:g} FPS with {students} students: {met} "
                   f"({row['fps']:.1f} FPS).")
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.setup_baseline:
    subprocess.run(["bash", SETUP_SCRIPT], check=True)
  from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
  from ferjax import faces  # pylint: disable=g-import-not-at-top
  from ferjax.inference import ExpressionClassifier  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(FER2013):
    sys.exit(f"error: FER2013 not found at {os.path.abspath(FER2013)}")
  classifier = ExpressionClassifier(FLAGS.model, backend="tflite")
  cv2.setNumThreads(os.cpu_count() or 1)
  detectors = {label: faces.create_detector(name) for label, name, _ in CONFIGS}
  fer_faces, fer_labels = classroom.load_fer_faces("test", manual_dir=FER2013)
  load = os.getloadavg()[0]
  results, baseline = {}, {}
  for students in (int(n) for n in FLAGS.faces):
    frames, truths = make_video(fer_faces, fer_labels, students)
    results[students] = {}
    for label, _, detect_every in CONFIGS:
      results[students][label] = run_pipeline(detectors[label], classifier, detect_every,
                                              frames, truths)
      print(students, label, results[students][label], flush=True)
    baseline[students] = run_baseline(frames, truths)
    print(students, "fer", baseline[students], flush=True)
  body = (report.provenance() +
          f"- Load average at start: {load:.1f} on {os.cpu_count()} CPUs (other jobs slow "
          "the timings when it exceeds that)\n\n" + TEXT.format(
              frames=FLAGS.frames, fps=FLAGS.fps,
              baseline_frames=min(FLAGS.baseline_frames or FLAGS.frames, FLAGS.frames))
          + "\n\n" + table(results, baseline) + "\n\n"
          + "Targets (default settings, 640x480, this 2-core CPU):\n\n" + verdict(results)
          + "\n")
  print(body)
  if FLAGS.write:
    report.update_section("Live pipeline", body)


TEXT = """\
Synthetic classroom videos (`ferjax.synthetic.classroom`: real FER2013 test faces of 30-90 px
in rows of seats, a teacher walking past the front row) of {frames} frames at
640x480, made in memory before timing, with motion timed for a {fps:g} FPS camera.
Each ferjax row runs `LivePipeline.process` and `overlay.draw` on every frame, as
`tools/live.py` does (TFLite classifier, all CPU threads), after a 3-frame warm-up.
Stage columns are medians of ms per frame; detect is the median over the frames
it ran on / its mean over all frames. FPS = frames / wall time of the whole loop.
Recall: mean over frames of the share of visible students with a reported face
whose centre lies inside their true box (with detection every 3 frames, the
tracker's predicted boxes count on the frames in between).

The `fer` rows are the `fer` PyPI package (`FER(mtcnn=False)`: OpenCV Haar
cascade; `FER(mtcnn=True)`: facenet-pytorch MTCNN; both with fer's default
emotion CNN and minimum face size of 50 px) timed on the first
{baseline_frames} frames of the same videos, one `detect_emotions(frame)` call
per frame, in its own environment (`benchmarks/setup_fer_baseline.sh`). Its
MTCNN runs with a NumPy non-maximum suppression in place of torchvision's C++
one, whose PyPI wheel does not load next to a CPU torch."""


if __name__ == "__main__":
  app.run(main)
