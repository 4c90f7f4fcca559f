"""The live tool on a realistic synthetic lesson: tracking quality, FPS, and `fer` beside it.

    python -m benchmarks.live_classroom --model ferjax/pretrained/realtime
    python -m benchmarks.live_classroom --frames 10 --repeats 1 --photo=false --write=false \
        --npz /work/data/fer2013.npz
    python -m benchmarks.live_classroom --setup_baseline ...   # build the fer environment first

The lesson (`ferjax.synthetic.classroom.lesson`: 30 students of real FER2013
test faces, 12-30 px in perspective rows at 640x480, writing, turning, leaning,
raising arms, resting heads in hands, drifting and flickering light, camera noise, a teacher
with a face walking through, and distractors: bags, papers, pencil cases, hands
and a poster of printed faces) is made in memory before timing, so no decoding
is timed. Each repeat runs a fresh `LivePipeline` with tools/live.py's default settings plus
`ferjax.live.overlay.draw` on every frame, after a warm-up on a separate
pipeline. FPS = frames / wall time of the loop, the median over the repeats;
stage columns are means of ms per frame (median over the repeats). Tracking is scored against the
ground truth by `ferjax.synthetic.scoring` (motmetrics; IoU >= 0.4, see there;
hidden faces and faces under 14 px are don't-care regions; the teacher counts
as a person; boxes on distractors and printed faces are false positives; a
false track is a track id on no person's face in at least half of its frames).

The 4K photo: `classroom.lecture_photo` (24 people, faces of 60-140 px at
4000x2256), detected as photo mode detects it (the photo and its mirror image);
found = faces matched as in the lesson; seconds = median of --photo_repeats `detect`
calls.

Baseline: the `fer` PyPI package (Haar or MTCNN face detector + its emotion
CNN), timed on the first --baseline_frames frames by
benchmarks/fer_baseline_worker.py in its own environment, since fer needs
opencv-contrib-python, TensorFlow and PyTorch, which must not enter the main
one. Set it up once (idempotent):

    bash benchmarks/setup_fer_baseline.sh     # or pass --setup_baseline

Without that environment the table says so and the rest runs as usual. fer does
not track, so its rows have recall and precision but no identity metrics.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

from benchmarks import report
from ferjax.faces.scene_scale import MEMORY_ROUNDS
from ferjax.inference import DEFAULT_MODEL_DIR

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

flags.DEFINE_string("model", DEFAULT_MODEL_DIR,
                    "Exported model folder (from ferjax.train.export).")
flags.DEFINE_string("npz", None, "Prepared FER2013 .npz to take the faces from (default: "
                    "the CSV in ../shared/datasets/fer2013).")
flags.DEFINE_integer("frames", 300, "Frames of the lesson.")
flags.DEFINE_integer("students", 30, "Students in the room.")
flags.DEFINE_integer("seed", 0, "Seed of the lesson and the photo.")
flags.DEFINE_bool("distractors", True, "Bags, papers, pencil cases, hands and a poster of "
                  "printed faces in the lesson (classroom.Realism.distractors).")
flags.DEFINE_float("fps", 30.0, "Camera frame rate the lesson is timed for.")
flags.DEFINE_integer("repeats", 3, "Timed runs of the default settings over the lesson; "
                     "FPS is their median (other configurations: one run).")
flags.DEFINE_list("configs", None, "Configurations to run (default: all of CONFIGS).")
flags.DEFINE_bool("photo", True, "Also time the 4K lecture photo.")
flags.DEFINE_integer("photo_repeats", 3, "Timed detector calls on the photo.")
flags.DEFINE_integer("baseline_frames", 60, "Frames the fer baseline runs on (its MTCNN "
                     "takes about a second per frame here); 0: all.")
flags.DEFINE_list("baseline_detectors", ["haar", "mtcnn"], "fer detectors to time.")
flags.DEFINE_bool("setup_baseline", False, "Run benchmarks/setup_fer_baseline.sh first.")
flags.DEFINE_bool("write", True, "Update the Live pipeline section of BENCHMARKS.md.")
FLAGS = flags.FLAGS

FER2013 = os.path.join(ROOT, "..", "shared", "datasets", "fer2013")
FER_PYTHON = os.path.join(ROOT, "benchmarks", ".venv-fer", "bin", "python")
FER_WORKER = os.path.join(ROOT, "benchmarks", "fer_baseline_worker.py")
SETUP_SCRIPT = os.path.join(ROOT, "benchmarks", "setup_fer_baseline.sh")
NOT_INSTALLED = "baseline not installed: see the script docstring for setup"
PHOTO_PEOPLE = 24
STEADY_S = 3.0  # Recall "from 3 s" leaves out the start-up.
TARGETS = {"recall": 0.95, "idf1": 0.92, "ids_per_person": 1.05, "precision": 0.99, "fps": 25.0,
           "photo_found": 23, "camera_recall": 0.93}


# Before a file's detection ran in the frame loop (see CONFIGS).
BEFORE_IN_LOOP = "before: detection in a worker thread; --detect_every 3 --classify_every 3"
BEFORE_HINDSIGHT = "before: no hindsight"
BEFORE_FEWER_WINDOWS = "before: pictures and flickers followed, a sweep step every round"
BEFORE_COAST_IN_PLACE = "before: a lost face shown where its prediction took it"
# name -> (detector kwargs, LivePipeline kwargs). "before": the live tool's settings
# until this benchmark's redesign (one CenterFace pass at 640, detection in the
# frame loop, only score >= 0.5 used, 2.5 s of memory), run on today's tracker.
CONFIGS = {
    "before: max_side 640; in-loop detection; score 0.5; memory 2.5 s": (
        {"max_side": 640, "score_threshold": 0.5},
        {"asynchronous": False, "high_threshold": 0.5, "low_threshold": 0.5,
         "memory_s": 2.5, "coast_s": 0.0}),
    "before; max_side 960": (
        {"max_side": 960, "score_threshold": 0.5},
        {"asynchronous": False, "high_threshold": 0.5, "low_threshold": 0.5,
         "memory_s": 2.5, "coast_s": 0.0}),
    "before; max_side 960; detect_every 1": (
        {"max_side": 960, "score_threshold": 0.5},
        {"asynchronous": False, "high_threshold": 0.5, "low_threshold": 0.5,
         "memory_s": 2.5, "coast_s": 0.0, "detect_every": 1}),
    # Before students were verified faces with seats: every confirmed track is one.
    "before: every track a student": ({}, {"face_threshold": 0.0, "min_new_s": 0.0,
                                           "seat_distance": 0.0, "min_change": 0.0}),
    "default settings": ({}, {}),
    # Before a file's detection ran in the frame loop, every 4th frame, and each face
    # was read every 6th: detection in the worker thread, both every 3rd frame.
    BEFORE_IN_LOOP: (
        {}, {"asynchronous": True, "detect_every": 3, "classify_every": 3}),
    # Before a file's results were held back a second and revised: the faces of the
    # first detection were shown until judged (a poster's printed faces for 1 s).
    BEFORE_HINDSIGHT: ({}, {"hindsight_s": 0.0}),
    "hindsight 2 s": ({}, {"hindsight_s": 2.0}),
    # Before a face had to move to be a student: a poster's printed faces were students.
    "--min_change 0": ({}, {"min_change": 0.0}),
    # Before lost faces were shown for 1 s (2 s before) ...
    "coasting 2 s": ({}, {"coast_s": 2.0}),
    # ... and at their last detected box (before: where the prediction took them).
    BEFORE_COAST_IN_PLACE: ({}, {"coast_in_place": False}),
    # Before scene scaling: every detection at the full scale that min_face needs.
    "full scale every round": ({"scene_scale": False}, {}),
    "--score_threshold 0.5": ({}, {"high_threshold": 0.5}),
    "--min_face 12": ({"min_face": 12}, {}),
    "--detect_every 2": ({}, {"detect_every": 2}),
    "--detect_every 3": ({}, {"detect_every": 3}),
    "--classify_every 1": ({}, {"classify_every": 1}),
    "--classify_every 2": ({}, {"classify_every": 2}),
    "--classify_every 4": ({}, {"classify_every": 4}),
    # A camera never waits for the detector: FPS barely depends on detection size.
    "camera mode": ({}, {"live": True}),
    "camera mode; --min_change 0": ({}, {"live": True, "min_change": 0.0}),
    "camera mode; full scale every round": ({"scene_scale": False}, {"live": True}),
    # Followed faces' windows other than the default (cell 80, context 4, gap 16).
    "windows of 3 face sides, no gap": (
        {"scene_options": {"cell": 96, "context": 3, "gap": 0}}, {}),
    "windows of 4 face sides, no gap": (
        {"scene_options": {"cell": 96, "context": 4, "gap": 0}}, {}),
    "windows of 4 face sides, off the stride grid (cell 96, gap 16)": (
        {"scene_options": {"cell": 96, "context": 4, "gap": 16}}, {}),
    "windows of 4 face sides, face at 24 px (cell 96, gap 32)": (
        {"scene_options": {"cell": 96, "context": 4, "gap": 32}}, {}),
    "camera mode; --max_side 1280": ({"max_side": 1280}, {"live": True}),
    # Before detection rounds stopped looking at pictures and flickers, and the sweep
    # took a step every second round (it matters in HD frames only).
    BEFORE_FEWER_WINDOWS: (
        {"scene_options": {"sweep_every": 1, "flicker_rounds": MEMORY_ROUNDS}},
        {"unfollow_still_s": None}),
    "camera mode; " + BEFORE_FEWER_WINDOWS: (
        {"scene_options": {"sweep_every": 1, "flicker_rounds": MEMORY_ROUNDS}},
        {"unfollow_still_s": None, "live": True}),
}
DEFAULT = "default settings"
# Run by default: all but the window variants and the followed faces' before, which
# matter in HD frames only (benchmarks/live_hd.py runs them).
DEFAULT_CONFIGS = [c for c in CONFIGS
                   if not c.startswith("windows") and BEFORE_FEWER_WINDOWS not in c]
IGNORE_POSTER = "--ignore the poster of printed faces"


def make_detector(config: str = DEFAULT):
  """tools/live.py's face detector for a configuration of CONFIGS."""
  from ferjax.live import pipeline  # pylint: disable=g-import-not-at-top
  return pipeline.create_detector(**{"scene_scale": True, **CONFIGS[config][0]})


def make_pipeline(detector, classifier, fps: float, config: str = DEFAULT):
  """tools/live.py's pipeline for a configuration of CONFIGS."""
  from ferjax.live import pipeline  # pylint: disable=g-import-not-at-top
  return pipeline.LivePipeline(detector, classifier, fps=fps,
                               verifier=pipeline.default_verifier(classifier),
                               **CONFIGS[config][1])


def close(pipeline) -> None:
  """Closes a pipeline, letting a detection still running finish first: left in the
  background, it would take CPU from the next timed run."""
  getattr(pipeline, "close", lambda wait: None)(wait=True)


def make_lesson(faces: np.ndarray, labels: np.ndarray, size: tuple[int, int] = (640, 480)
                ) -> tuple[list[np.ndarray], list[dict]]:
  """The lesson's frames and truths at `size` (w, h); faces scale with the width
  (12-30 px at 640: the same room seen by a camera of the same horizontal view)."""
  from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
  frames, truths = [], []
  realism = classroom.Realism(distractors=FLAGS.distractors)
  zoom = size[0] / 640
  for image, truth in classroom.lesson(faces, labels, num_students=FLAGS.students,
                                       num_frames=FLAGS.frames, seed=FLAGS.seed,
                                       fps=FLAGS.fps, realism=realism, width=size[0],
                                       height=size[1],
                                       face_size=(round(12 * zoom), round(30 * zoom))):
    frames.append(image)
    truths.append(truth)
  return frames, truths


def _camera_indices(num_frames: int, fps: float):
  """Frame indices as a camera delivers them: in real time, the newest one, late ones dropped."""
  start = time.perf_counter()
  index = 0
  while index < num_frames:
    due = start + index / fps
    now = time.perf_counter()
    if now < due:
      time.sleep(due - now)
    index = max(index, int((time.perf_counter() - start) * fps))
    if index < num_frames:
      yield index
    index += 1


def run_once(detector, classifier, frames: list[np.ndarray], config: str) -> dict:
  """One timed pass of pipeline + overlay, as tools/live.py runs a file (or a camera)."""
  from ferjax.live import overlay  # pylint: disable=g-import-not-at-top
  from ferjax.live.pipeline import STAGES  # pylint: disable=g-import-not-at-top
  from ferjax.live.sources import Frame  # pylint: disable=g-import-not-at-top
  from ferjax.synthetic import scoring  # pylint: disable=g-import-not-at-top
  pipeline = make_pipeline(detector, classifier, FLAGS.fps, config)
  camera = CONFIGS[config][1].get("live", False)
  indices = _camera_indices(len(frames), FLAGS.fps) if camera else range(len(frames))
  stage_ms = {stage: [] for stage in STAGES}
  predictions, processed, emotions = [], [], []
  source = (Frame(n, i / FLAGS.fps, frames[i]) for n, i in enumerate(indices))
  try:
    start = time.perf_counter()
    for n, result in enumerate(pipeline.stream(source)):
      i = int(round(result.frame.timestamp * FLAGS.fps))
      t0 = time.perf_counter()
      overlay.draw(frames[i], result.faces, classifier.class_names,
                   (n + 1) / max(t0 - start, 1e-9))
      result.timings["draw"] = time.perf_counter() - t0
      for stage in STAGES:
        stage_ms[stage].append(result.timings.get(stage, 0.0) * 1000)
      predictions.append(scoring.tracks(result.faces))
      emotions.append([(f.box, f.label) for f in result.faces])
      processed.append(i)
    seconds = time.perf_counter() - start
  finally:
    close(pipeline)
  return {"fps": len(processed) / seconds, "predictions": predictions,
          "processed": processed, "emotions": emotions,
          **{f"{stage}_ms": float(np.mean(ms)) for stage, ms in stage_ms.items()}}


def run_pipeline(classifier, frames: list[np.ndarray], truths: list[dict], config: str,
                 repeats: int) -> dict:
  """Warm-up, then `repeats` timed passes of one configuration; scores of the first pass."""
  from ferjax.live import overlay  # pylint: disable=g-import-not-at-top
  from ferjax.live.sources import Frame  # pylint: disable=g-import-not-at-top
  from ferjax.synthetic import scoring  # pylint: disable=g-import-not-at-top
  detector = make_detector(config)
  warm = make_pipeline(detector, classifier, FLAGS.fps, config)
  try:
    for i in range(min(6, len(frames))):
      result = warm.process(Frame(i, i / FLAGS.fps, frames[i]))
      overlay.draw(frames[i], result.faces, classifier.class_names, 0.0)
  finally:
    close(warm)
  runs = [run_once(detector, classifier, frames, config) for _ in range(repeats)]
  row = {key: statistics.median(r[key] for r in runs) for key in runs[0]
         if key not in ("predictions", "processed", "emotions")}
  row["fps_runs"] = [r["fps"] for r in runs]
  row["same_tracks"] = all(r["predictions"] == runs[0]["predictions"] for r in runs)
  row["config"] = config
  first = runs[0]
  row.update(scoring.score([truths[i] for i in first["processed"]],
                           first["predictions"]).as_dict())
  row["frames"] = len(first["processed"])  # A camera drops the frames it is late for.
  row["emotions"] = scoring.emotions([truths[i] for i in first["processed"]],
                                     first["emotions"])
  # Recall once running: a camera's first detections come late (start-up).
  steady = [k for k, i in enumerate(first["processed"]) if i >= STEADY_S * FLAGS.fps]
  row["recall_steady"] = scoring.score([truths[first["processed"][k]] for k in steady],
                                       [first["predictions"][k] for k in steady]).recall
  shape = frames[0].shape
  row["detection"] = (detector.describe(shape) if hasattr(detector, "describe")
                      else detector.plan(shape).describe() if hasattr(detector, "plan")
                      else detector.name)
  return row


def run_photo(faces: np.ndarray, labels: np.ndarray) -> dict:
  """Faces found of PHOTO_PEOPLE in the 4K photo, and seconds per detector call."""
  from ferjax.synthetic import classroom, scoring  # pylint: disable=g-import-not-at-top
  from ferjax.live import pipeline  # pylint: disable=g-import-not-at-top
  image, truth = classroom.lecture_photo(faces, labels, seed=FLAGS.seed,
                                         num_people=PHOTO_PEOPLE)
  # As tools/live.py runs a photo: min_face 1% of the longer side, the photo threshold,
  # the photo and its mirror image.
  detector = pipeline.create_detector(min_face=max(image.shape[:2]) / 100,
                                      score_threshold=pipeline.PHOTO_THRESHOLD, mirror=True)
  detector.detect(image)  # Warm-up.
  seconds, detections = [], []
  for _ in range(FLAGS.photo_repeats):
    start = time.perf_counter()
    detections = [d for d in detector.detect(image) if d.score >= pipeline.PHOTO_THRESHOLD]
    seconds.append(time.perf_counter() - start)
  found = scoring.score([truth], [[(i, d.box) for i, d in enumerate(detections)]],
                        min_size=0)
  return {"found": found.matches, "detections": len(detections),
          "seconds": statistics.median(seconds), "size": image.shape[1::-1],
          "plan": detector.detector.plan(image.shape).describe()}


def run_photo_command(faces: np.ndarray, labels: np.ndarray) -> dict:
  """`tools/live.py --source photo.png --headless`: wall seconds (model load included)."""
  import cv2  # pylint: disable=g-import-not-at-top
  from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
  image, _ = classroom.lecture_photo(faces, labels, seed=FLAGS.seed, num_people=PHOTO_PEOPLE)
  with tempfile.TemporaryDirectory() as tmp:
    photo = os.path.join(tmp, "lecture.png")
    cv2.imwrite(photo, image)
    start = time.perf_counter()
    process = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "live.py"), "--source", photo,
         "--headless", "--model", FLAGS.model, "--out", os.path.join(tmp, "s")],
        capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
  line = next(l for l in process.stdout.splitlines() if l.startswith("lecture.png:"))
  return {"seconds": seconds, "line": line}


# The shared clips (../shared/media, CC BY 4.0) and how many people each shows.
REAL_CLIPS = {"classroom.gif": 4, "face-demographics-walking-and-pause.gif": 3,
              "face-demographics-walking.gif": 2,
              "head-pose-face-detection-female-and-male.gif": 2}
MEDIA = os.path.join(ROOT, "..", "shared", "media")


def run_real_clips() -> list[dict]:
  """tools/live.py with default settings on each real clip: IDs and frames each is shown."""
  rows = []
  for name, people in REAL_CLIPS.items():
    path = os.path.join(MEDIA, name)
    if not os.path.isfile(path):
      continue
    with tempfile.TemporaryDirectory() as tmp:
      subprocess.run([sys.executable, os.path.join(ROOT, "tools", "live.py"), "--source",
                      path, "--headless", "--model", FLAGS.model, "--out",
                      os.path.join(tmp, "s")], capture_output=True, text=True, check=True)
      with open(os.path.join(tmp, "s", "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    frames = summary["session"]["frames"]
    shown = sorted((s["frames_visible"] / frames for s in summary["students"]), reverse=True)
    rows.append({"clip": name, "people": people, "ids": len(summary["students"]),
                 "frames": frames, "shown": shown})
  return rows


def real_clips_table(rows: list[dict]) -> str:
  if not rows:
    return "Real clips: ../shared/media not found, not measured."
  lines = ["Real clips (`../shared/media`, Intel IoT DevKit sample videos, CC BY 4.0), "
           "`tools/live.py --source CLIP --headless` with default settings. No boxes are "
           "labelled in them; every person's face is visible throughout, so the share of "
           "frames in which each ID is reported is the share of frames that person is "
           "found in.", "",
           "| clip | frames | people | IDs | share of frames each ID is reported |",
           "|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['clip']} | {r['frames']} | {r['people']} | {r['ids']} | "
                 + ", ".join(f"{v:.0%}" for v in r["shown"]) + " |")
  return "\n".join(lines)


def run_baseline(frames: list[np.ndarray], truths: list[dict]) -> dict[str, dict]:
  """fer's pipeline per detector, timed in its own environment, scored like ours."""
  from ferjax.synthetic import scoring  # pylint: disable=g-import-not-at-top
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
    # fer does not track: every box gets an id of its own.
    predictions = [[(f * 1000 + k, box) for k, box in enumerate(boxes)]
                   for f, boxes in enumerate(result["boxes"])]
    found = scoring.score(truths, predictions)
    rows[name] = {"ms": statistics.median(result["ms"]),
                  "fps": len(result["ms"]) / result["seconds"], "frames": len(result["ms"]),
                  "recall": found.recall, "recall_all_visible": found.recall_all_visible,
                  "precision": found.precision}
  return rows


def _percent(value: float) -> str:
  """A share, or '-' when undefined (no boxes at all)."""
  return "-" if np.isnan(value) else f"{value:.1%}"


def table(rows: list[dict], baseline: dict[str, dict]) -> str:
  lines = ["| pipeline | FPS | detect / track / classify / draw ms | recall (>= 14 px) | "
           "from 3 s | recall (all visible) | precision | false tracks / min (tracks) | IDF1 | "
           "MOTA | ID switches | distinct IDs / people | emotion read / agrees |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for row in rows:
    lines.append(
        f"| ferjax, {row['config']} ({row['frames']} frames) | {row['fps']:.1f} | "
        f"{row['detect_ms']:.1f} / {row['track_ms']:.2f} / {row['classify_ms']:.1f} / "
        f"{row['draw_ms']:.2f} | {row['recall']:.1%} | {row['recall_steady']:.1%} | "
        f"{row['recall_all_visible']:.1%} | "
        f"{row['precision']:.1%} | {row['false_tracks_per_minute']:.1f} "
        f"({row['false_tracks']}) | {row['idf1']:.3f} | {row['mota']:.3f} | "
        f"{row['id_switches']} | {row['distinct_ids']} / {row['people']} "
        f"({row['ids_per_person']:.2f}x) | {row['emotions']['read']:.1%} / "
        f"{row['emotions']['agree']:.1%} |")
  for name, r in baseline.items():
    label = f"fer 25.10.3, {'MTCNN' if name == 'mtcnn' else 'Haar'}"
    if "error" in r:
      lines.append(f"| {label} | {r['error']} | | | | | | | | | | | |")
    else:
      lines.append(f"| {label} ({r['frames']} frames) | {r['fps']:.1f} | {r['ms']:.1f} "
                   f"(whole `detect_emotions`) | {r['recall']:.1%} | - | "
                   f"{r['recall_all_visible']:.1%} | {_percent(r['precision'])} | - | - | - | - "
                   "| - | - |")
  return "\n".join(lines)


KIND_NAMES = {"bag": "bags", "hand": "hands", "paper": "papers",
              "pencil_case": "pencil cases", "printed_face": "the poster's printed faces",
              "other": "nothing listed (bodies, desks, the wall)"}


def breakdown(row: dict) -> str:
  """Recall (>= 14 px) by the faces' state, what the misses and extra IDs were, and
  what the false tracks lay on."""
  states = ", ".join(f"{name.replace('_', ' ')} {value:.1%}"
                     for name, value in row["recall_by_state"].items())
  kinds = ", ".join(f"{KIND_NAMES.get(kind, kind)} {count}"
                    for kind, count in row["false_tracks_by_kind"].items())
  return (f"Recall (>= 14 px) by state: {states}. Counted faces {row['objects']}, "
          f"misses {row['misses']}, false positives {row['false_positives']}, boxes on "
          f"don't-care faces {row['ignored_hypotheses']}. False tracks "
          f"{row['false_tracks']} ({row['false_tracks_per_minute']:.1f} per minute), by what "
          f"they mostly lay on: {kinds}; tracks on distractors "
          f"{row['tracks_on_distractors']}, of them on printed faces "
          f"{row['tracks_on_printed_faces']}.")


def verdict(row: dict, photo: dict | None, camera: dict | None = None) -> str:
  def line(name: str, met: bool, value: str) -> str:
    return f"- {name}: {'met' if met else 'NOT met'} ({value})."
  lines = [
      line(f"recall >= {TARGETS['recall']:.0%} of visible faces >= 14 px",
           row["recall"] >= TARGETS["recall"], f"{row['recall']:.1%}"),
      line(f"IDF1 >= {TARGETS['idf1']:.2f}", row["idf1"] >= TARGETS["idf1"],
           f"{row['idf1']:.3f}"),
      line(f"distinct IDs <= {TARGETS['ids_per_person']:g}x people",
           row["ids_per_person"] <= TARGETS["ids_per_person"],
           f"{row['distinct_ids']} IDs for {row['students']} students + teacher"),
      line(f"precision >= {TARGETS['precision']:.0%}", row["precision"] >= TARGETS["precision"],
           f"{row['precision']:.1%}"),
      line("no track on a distractor", row["tracks_on_distractors"] == 0,
           f"{row['tracks_on_distractors']}, of them on printed faces "
           f"{row['tracks_on_printed_faces']}"),
      line(f">= {TARGETS['fps']:g} FPS end to end", row["fps"] >= TARGETS["fps"],
           f"{row['fps']:.1f} FPS")]
  if camera is not None:
    lines.append(line(f"camera mode: recall >= {TARGETS['camera_recall']:.0%} of visible "
                      "faces >= 14 px", camera["recall"] >= TARGETS["camera_recall"],
                      f"{camera['recall']:.1%}; {camera['recall_steady']:.1%} from 3 s"))
  if photo is not None:
    lines.append(line(f"4K photo: >= {TARGETS['photo_found']} of {PHOTO_PEOPLE} faces found",
                      photo["found"] >= TARGETS["photo_found"],
                      f"{photo['found']} of {PHOTO_PEOPLE}, {photo['detections']} "
                      f"detections, {photo['seconds']:.2f} s per call"))
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if FLAGS.setup_baseline:
    subprocess.run(["bash", SETUP_SCRIPT], check=True)
  import cv2  # pylint: disable=g-import-not-at-top
  from ferjax.synthetic import classroom  # pylint: disable=g-import-not-at-top
  from ferjax.inference import ExpressionClassifier  # pylint: disable=g-import-not-at-top
  if not FLAGS.npz and not os.path.isdir(FER2013):
    sys.exit(f"error: FER2013 not found at {os.path.abspath(FER2013)}")
  classifier = ExpressionClassifier(FLAGS.model, backend="tflite")
  cv2.setNumThreads(os.cpu_count() or 1)
  fer_faces, fer_labels = classroom.load_fer_faces("test", npz_path=FLAGS.npz,
                                                   manual_dir=FER2013)
  load = os.getloadavg()[0]
  start = time.perf_counter()
  frames, truths = make_lesson(fer_faces, fer_labels)
  generation_fps = len(frames) / (time.perf_counter() - start)
  # The README's advice for printed faces: mark the poster once with --ignore.
  poster = classroom.poster_region(truths[0], frames[0].shape[1], frames[0].shape[0])
  if poster is not None:
    CONFIGS[IGNORE_POSTER] = ({}, {"ignore_regions": [poster]})
  rows = []
  for config in FLAGS.configs or DEFAULT_CONFIGS + [c for c in (IGNORE_POSTER,)
                                                    if c in CONFIGS]:
    if config not in CONFIGS:
      raise app.UsageError(f"unknown config {config!r}; choose from {list(CONFIGS)}")
    rows.append(run_pipeline(classifier, frames, truths, config,
                             FLAGS.repeats if config == DEFAULT else 1))
    print({k: v for k, v in rows[-1].items() if k != "track_to_person"}, flush=True)
  row = next((r for r in rows if r["config"] == DEFAULT), rows[-1])
  photo = run_photo(fer_faces, fer_labels) if FLAGS.photo else None
  if photo is not None:
    photo["command"] = run_photo_command(fer_faces, fer_labels)
  print("photo", photo, flush=True)
  clips = run_real_clips()
  print("clips", clips, flush=True)
  baseline = run_baseline(frames, truths)
  print("fer", baseline, flush=True)
  photo_line = "" if photo is None else (
      f"\n\n4K lecture photo ({photo['size'][0]}x{photo['size'][1]}, {PHOTO_PEOPLE} people, "
      f"faces 60-140 px), as `tools/live.py --source photo.jpg` detects it "
      f"({photo['plan']}; the photo and its mirror image): "
      f"**{photo['found']} of {PHOTO_PEOPLE}** found ({photo['detections']} detections), "
      f"{photo['seconds']:.2f} s per call (median of {FLAGS.photo_repeats}). The whole "
      f"command `tools/live.py --source lecture.png --headless` (start-up, model "
      f"load, detection, classification, records) took {photo['command']['seconds']:.1f} s "
      f"and printed `{photo['command']['line']}`.")
  body = (report.provenance() +
          f"- Load average at start: {load:.1f} on {os.cpu_count()} CPUs (other jobs slow "
          "the timings when it exceeds that)\n\n" + TEXT.format(
              students=FLAGS.students, frames=FLAGS.frames, fps=FLAGS.fps,
              distractors=DISTRACTORS if FLAGS.distractors else "no distractors",
              repeats=FLAGS.repeats, generation_fps=generation_fps,
              iou=row["iou_threshold"],
              same="identical" if row["same_tracks"] else "NOT identical",
              fps_runs=", ".join(f"{f:.1f}" for f in row["fps_runs"]),
              baseline_frames=min(FLAGS.baseline_frames or FLAGS.frames, FLAGS.frames))
          + "\n\n" + table(rows, baseline) + "\n\n" + breakdown(row) + photo_line + "\n\n"
          + real_clips_table(clips) + "\n\n"
          + "Targets (default settings, 640x480, this CPU):\n\n"
          + verdict(row, photo, next((r for r in rows if r["config"] == "camera mode"), None))
          + "\n")
  report.publish("Live pipeline", body, FLAGS.write)


DISTRACTORS = ("distractors with known boxes: bags on desks and on empty chairs, papers "
               "and pencil cases on desks, raised hands, and a poster of printed FER2013 "
               "faces on the wall")
TEXT = """\
A realistic synthetic lesson (`ferjax.synthetic.classroom.lesson`, seed 0): {students}
students of real FER2013 test faces, 12-30 px in perspective rows at 640x480,
writing (head down), turning, leaning over the face behind, raising arms, resting
the head in a hand (partly covering the face), with drifting and flickering light,
camera noise (3 grey levels a pixel) and a teacher with a face walking through;
{distractors}; {frames}
frames timed for a {fps:g} FPS camera, made in memory before timing (generated at
{generation_fps:.0f} frames/s). Each run drives a fresh `LivePipeline` and
`overlay.draw` over every frame, after a warm-up: {repeats} runs of tools/live.py's
default settings (FPS the median: {fps_runs}; their tracks were {same}), one run of
each other configuration (`CONFIGS` in the script; "before" rows are earlier
settings of the tool, on today's tracker and students: before detection scaling, the
detection worker and the two-threshold association; before a file's detection ran
in the frame loop; before students were verified faces; before a file's results were
held back a second and revised (`LivePipeline.stream`, as tools/live.py runs a file:
each result is scored as handed out, after that second); before a face the
detector lost was shown where the tracker's prediction took it instead of where it
was last detected; "camera mode" rows feed the
frames in real time at {fps:g} FPS, dropping those the loop is late for, as a webcam
does, wait for the first frame's detection only and take each later one when it is
ready instead of waiting for it as files do; their frame count is the frames
processed, and FPS cannot exceed the camera's). Stage columns are means of ms per frame (detect:
in-loop detection, or the time the frame loop waited for the worker thread). "From 3 s": recall over the frames after the first 3 seconds,
leaving out the start-up (a camera's later detections come late).

Scores (`ferjax.synthetic.scoring`, motmetrics) of the first run: a reported box
matches a face at IoU >= {iou:g} (ground-truth boxes are the pasted FER2013 crops,
whose margin grows with the face; see scoring.py); faces hidden for at least half
their box or smaller than 14 px are don't-care regions (neither misses nor false positives when found);
the teacher counts as a person. Recall (all visible) also counts the faces under
14 px. Precision counts people's faces only: boxes on distractors and on the
poster's printed faces are false positives. A false track is a track id whose box
is on no person's face in at least half of the frames it is reported in; false
tracks per minute divide them by the lesson's length, and the breakdown puts each
down to what it mostly lay on. Distinct IDs: track ids reported over the lesson,
against the people in it. Emotion: of the counted faces found, the share shown with an
emotion (not uncertain or too small), and of those the share whose smoothed emotion is
the pasted face's own FER2013 label (`scoring.emotions`; FER+'s ten raters agree with
that one label on about 64% of faces, so it compares settings, not models).

The `fer` rows are the `fer` PyPI package (`FER(mtcnn=False)`: OpenCV Haar
cascade; `FER(mtcnn=True)`: facenet-pytorch MTCNN; both with fer's default
emotion CNN and minimum face size of 50 px) on the first {baseline_frames} frames,
one `detect_emotions(frame)` call per frame, in its own environment
(`benchmarks/setup_fer_baseline.sh`), scored per frame like ours (it does not track)."""


if __name__ == "__main__":
  app.run(main)
