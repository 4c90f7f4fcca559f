"""Live classroom analysis: every face, a stable anonymous ID, emotions over time.

    python tools/live.py                          # webcam 0, overlay window
    python tools/live.py --source demo            # a generated classroom, no camera needed
    python tools/live.py --source lecture.mp4 --headless --out sessions/monday
    python tools/live.py --source clip.gif --output annotated.mp4
    python tools/live.py --source class_photo.jpg --output annotated.jpg
    python tools/live.py --source photos/ --photos --output annotated/

A photo (or, with --photos, each image of a folder) is analysed on its own:
every face, no tracking across images.

Session records go to --out (default: a new sessions/<date-time>/, printed at
start): frames.csv (flushed every second), and on exit (end of input, q/Esc,
Ctrl-C or SIGTERM) summary.json, class_timeline.png, students_heatmap.png,
report.html. Each is complete or absent; a signal during that writing only
lets it finish. An --out that already holds a session is refused (its records
are kept). No face images are stored unless --save-faces is given.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import os
import signal
import sys
import time
from typing import Iterator

import cv2
from absl import app, flags

from ferjax import cli
from ferjax import faces
from ferjax import files
from ferjax.inference import (BACKENDS, DEFAULT_MODEL_DIR, ExpressionClassifier,
                              ModelError, model_error_message)
from ferjax.live import annotated
from ferjax.live import face_quality
from ferjax.live import overlay
from ferjax.live import pipeline as pipeline_lib
from ferjax.live import sources
from ferjax.live import students as students_lib
from ferjax.live import time_totals
from ferjax.live.pipeline import LivePipeline
from ferjax.live.recorder import FRAMES_CSV, SUMMARY_JSON, Entry, SessionRecorder

flags.DEFINE_string("source", "0", "Camera index, 'demo', a video/GIF file, a photo, or a "
                    "folder of images (video frames; unrelated photos with --photos).")
flags.DEFINE_string("camera_size", "1280x720", "Frame size asked of a camera (WxH); one "
                    "that does not offer it gives its own, reported at the start. More "
                    "pixels per face: the back rows read better.")
flags.DEFINE_bool("photos", False, "Treat the images of a --source folder as unrelated "
                  "photos, each analysed on its own.")
flags.DEFINE_string("model", DEFAULT_MODEL_DIR, "Exported model folder (from ferjax.train.export).")
flags.DEFINE_enum("backend", "tflite", BACKENDS, "Inference backend.")
flags.DEFINE_string("detector", "default", f"Face detector: default ({faces.DEFAULT}), "
                    f"{', '.join(faces.DETECTORS)}.")
flags.DEFINE_integer("min_face", 0, "Smallest face to find, in frame pixels; the "
                     "detector's input scale (and tiling of large frames) follows from it. "
                     "0: 14 px, or for photos 1% of the longer side if larger. Given, it fixes the "
                     "scale of every detection (no --scene_scale). A photo's box smaller "
                     "than it (14 px when 0) must pass a surer face check (P(face) >= "
                     f"{pipeline_lib.SMALL_FACE_CHECK:g}).")
flags.DEFINE_bool("scene_scale", True, "Video: detect around the faces followed, each "
                  "at the scale it needs, and sweep the frame for new ones a tile every "
                  "second detection; off (or --min_face / --max_side): every detection scans the "
                  "whole frame at the scale a --min_face face needs.")
flags.DEFINE_integer("max_side", 0, "Override: fixed detector input size (longer side) "
                     "instead of the scale chosen from --min_face.")
flags.DEFINE_float("score_threshold", pipeline_lib.HIGH_THRESHOLD, "Detector score from "
                   "which a face starts a track.")
flags.DEFINE_float("low_score_threshold", pipeline_lib.LOW_THRESHOLD, "Detector score from "
                   "which a face may keep an existing track (small or tilted faces).")
flags.DEFINE_float("photo_score_threshold", pipeline_lib.PHOTO_THRESHOLD, "Detector score "
                   "from which a face counts in a photo (with --mirror_photos, the mean of "
                   "the photo's and its mirror image's).")
flags.DEFINE_bool("mirror_photos", True, "Photos: detect in the mirror image too and average "
                  "each face's score over both views: fewer boxes that are not faces, twice "
                  "the detector's time.")
flags.DEFINE_integer("detect_every", pipeline_lib.DETECT_EVERY, "Run the detector every N "
                     "frames (a camera: in a worker thread, once the last one is done); "
                     "the tracker bridges the frames between.", lower_bound=1)
flags.DEFINE_integer("classify_every", pipeline_lib.CLASSIFY_EVERY, "Read each face's "
                     "emotion every N frames (staggered across faces; 1: every frame); "
                     "in between it keeps its smoothed emotion.", lower_bound=1)
flags.DEFINE_float("too_small_px", -1, "Faces whose crop is under this many pixels are "
                   "labelled too_small and left out of the class mood; -1: the size at "
                   "which the model keeps 85% of its accuracy (its metadata), 0: never.")
flags.DEFINE_float("memory_s", pipeline_lib.MEMORY_S, "Seconds a lost face keeps its ID "
                   "(a student looking down for a few seconds keeps it).")
flags.DEFINE_string("verifier", None, "Model whose face output checks that tracks are faces "
                    "when --model has no face output of its own (default: the shipped "
                    "one-network model); 'none': every track counts.")
flags.DEFINE_float("face_threshold", -1, "P(face), from the model's face output, from "
                   "which a track becomes a student (or a photo's detection counts); -1: the "
                   "model's own (chosen on validation data, in its metadata), 0: every "
                   "detection counts.", lower_bound=-1.0, upper_bound=1.0)
flags.DEFINE_float("min_new_s", students_lib.MIN_NEW_S, "Seconds a verified face is "
                   "followed before it counts as a new student (faces at the start and "
                   "students back at their seat count at once).", lower_bound=0.0)
flags.DEFINE_float("min_change", students_lib.MIN_CHANGE, "How much the pixels where a "
                   "face was first detected must change (mean difference of normalised "
                   "8x8 thumbnails) before it counts as a student: a printed face (a "
                   "poster) never changes. Faces at the start count at once, for their "
                   "first second. 0: every face counts.", lower_bound=0.0)
flags.DEFINE_float("min_student_s", 1.0, "Students visible for less time in all are "
                   "left out of the report's list and class figures (counted in one "
                   "line).", lower_bound=0.0)
flags.DEFINE_multi_string("ignore", [], "A part of the frame where no face is counted "
                          "(a poster, a screen): x0,y0,x1,y1 as fractions of the width "
                          "and height, e.g. 0.6,0,1,0.25; repeat for several.")
flags.DEFINE_float("smoothing_s", 1.0, "Time constant of the per-student emotion EMA.")
flags.DEFINE_float("confidence", 0.4, "Below this smoothed probability a face is 'uncertain'.")
flags.DEFINE_bool("headless", False, "No window (servers, tests).")
flags.DEFINE_string("output", None, "Also write the annotated video here (.mp4 or .avi).")
flags.DEFINE_string("out", None, "Folder for the session records (default "
                    "sessions/<date-time>).")
flags.DEFINE_bool("save-faces", False, "Also store every 48x48 face crop (identifiable "
                  "data: only with consent).")
flags.DEFINE_integer("max_frames", 0, "Stop after this many frames (0: until the end).")
flags.DEFINE_float("fps", 25.0, "Frame rate for image folders and files that lack one.")
FLAGS = flags.FLAGS


SESSION_FILES = (FRAMES_CSV, SUMMARY_JSON)


class _Stop(Exception):
  """Raised from the SIGTERM/SIGINT handler to leave the frame loop cleanly."""


class _Signals:
  """SIGTERM and Ctrl-C: the first stops the session, later ones only say it is ending.

  Once `closing` is set (or after the first signal), signals no longer raise,
  so the session files are always finished.
  """

  def __init__(self, restore: bool = True):
    self.closing = False
    self._restore = restore
    self._previous = {}

  def __enter__(self) -> _Signals:
    for signum in (signal.SIGTERM, signal.SIGINT):
      self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc_info) -> None:
    if not self._restore:  # The process ends next: a late signal must not cut it short.
      self.closing = True
      return
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)

  def _handle(self, signum, frame) -> None:
    del signum, frame
    if self.closing:
      # os.write: a print here could re-enter a print that was interrupted.
      os.write(2, "still writing the session files…\n".encode())
      return
    self.closing = True
    raise _Stop()


def _session_dir(out: str | None) -> str:
  """The session folder: --out (checked), else a new sessions/<date-time>[-n]."""
  if not out:
    out = files.unique_dir_name(os.path.join(
        "sessions", datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")))
    files.check_output_dir(out, "the session folder")
    return out
  files.check_output_dir(out, "--out")
  held = [n for n in SESSION_FILES if os.path.lexists(os.path.join(out, n))]
  if held:
    raise files.OutputError(f"--out {out} already holds a session ({', '.join(held)}); "
                            "its records are kept: pass a new --out")
  return out


def _open_recorder(out_dir: str, default_dir: bool, class_names, **kwargs
                   ) -> tuple[SessionRecorder, str]:
  """The session's recorder; a default folder taken meanwhile moves on to the next name."""
  while True:
    try:
      if default_dir:
        os.makedirs(out_dir)  # Claims the name; fails if another run took it.
      return SessionRecorder(out_dir, class_names, **kwargs), out_dir
    except FileExistsError:
      if not default_dir:
        raise
      out_dir = files.unique_dir_name(out_dir)


def run_session(restore_signals: bool = True) -> int:
  """Runs the session; returns the process exit code.

  SIGTERM and Ctrl-C stop it cleanly; with `restore_signals=False` (the
  program's own entry point) they stay harmless until the process exits.
  """
  with _Signals(restore=restore_signals) as signals:
    try:
      return _run(signals)
    except _Stop:
      print("stopped before the session started; nothing was written", file=sys.stderr)
      return 1


def _is_photos() -> bool:
  """Whether --source names photos: one image file, or a folder with --photos."""
  return sources.is_photo_source(FLAGS.source, FLAGS.photos)


def _model_name(classifier) -> str:
  """The model's folder name and version, for the report (not its path)."""
  metadata = classifier.metadata
  version = metadata.get("config_hash")
  name = os.path.basename(os.path.normpath(FLAGS.model))
  return f"{name} (config {version})" if version else name


def _too_small_px(classifier) -> float:
  """--too_small_px, or (-1) the model's reliable face size (0 when it has no curve)."""
  if FLAGS.too_small_px >= 0:
    return FLAGS.too_small_px
  return face_quality.reliable_face_px(classifier.metadata) or 0.0


def _create_detector(photos: bool):
  """The face detector: scale from --min_face, lowest score the tracker (or photo) uses."""
  lowest = FLAGS.photo_score_threshold if photos else min(FLAGS.low_score_threshold,
                                                          FLAGS.score_threshold)
  return pipeline_lib.create_detector(FLAGS.detector, min_face=FLAGS.min_face or None,
                                      max_side=FLAGS.max_side or None,
                                      score_threshold=lowest,
                                      scene_scale=FLAGS.scene_scale and not photos,
                                      mirror=photos and FLAGS.mirror_photos)


def _run(signals: _Signals) -> int:
  """The session, from the checks to the summary (see `run_session`)."""
  photos = _is_photos()
  try:
    ignore_regions = [pipeline_lib.check_region(text.split(",")) for text in FLAGS.ignore]
  except ValueError as e:
    print(f"error: --ignore: {e}", file=sys.stderr)
    return 2
  try:
    annotated.check_output(FLAGS.output, photos, single_photo=os.path.isfile(FLAGS.source))
    out_dir = _session_dir(FLAGS.out)
  except files.OutputError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  try:
    classifier = ExpressionClassifier(FLAGS.model, backend=FLAGS.backend)
  except ModelError as e:
    print(model_error_message(e, FLAGS.model), file=sys.stderr)
    return 2
  try:
    verifier = (None if FLAGS.verifier == "none"
                else pipeline_lib.default_verifier(classifier, FLAGS.verifier))
  except (ModelError, ValueError) as e:
    print(f"error: --verifier: {e}", file=sys.stderr)
    return 2
  try:
    detector = _create_detector(photos)
  except (ValueError, faces.DetectorUnavailable) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  try:
    camera_size = sources.parse_size(FLAGS.camera_size)
  except ValueError as e:
    print(f"error: --camera_size {e}", file=sys.stderr)
    return 2
  try:
    source = sources.open_source(FLAGS.source, fps=FLAGS.fps, photos=FLAGS.photos,
                                 camera_size=camera_size)
  except sources.SourceError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  try:
    return _record(signals, source, classifier, verifier, detector, out_dir, ignore_regions)
  finally:
    source.close()


def _save_faces(out_dir: str, frame, faces_seen) -> None:
  """--save-faces: every classified 48x48 crop under faces/<id>/<frame>.png."""
  for f in faces_seen:
    if f.face is None:
      continue
    folder = os.path.join(out_dir, "faces", f"{f.track_id:04d}")
    os.makedirs(folder, exist_ok=True)
    cv2.imwrite(os.path.join(folder, f"{frame.index:07d}.png"), f.face)


def _describe_photo(frame, result, class_names) -> str:
  """One line per photo: its faces and their emotions."""
  labels = [f.label for f in result.faces]
  counts = [f"{labels.count(n)} {n}" for n in time_totals.session_labels(class_names)
            if labels.count(n)]
  detail = f": {', '.join(counts)}" if counts else ""
  return f"{frame.name or frame.index}: {len(labels)} faces{detail}"


@dataclasses.dataclass
class _Progress:
  """Frames done so far (kept when a signal ends the loop) and the start time."""
  frames: int = 0
  started: float = dataclasses.field(default_factory=time.perf_counter)
  shape: tuple[int, ...] = ()  # The last frame's (h, w, c).


def _make_pipeline(detector, classifier, verifier, source, too_small_px: float,
                   ignore_regions: list[tuple[float, ...]]) -> LivePipeline:
  return LivePipeline(detector, classifier, fps=source.fps,
                      detect_every=FLAGS.detect_every,
                      classify_every=FLAGS.classify_every, memory_s=FLAGS.memory_s,
                      smoothing_s=FLAGS.smoothing_s, confidence_threshold=FLAGS.confidence,
                      high_threshold=FLAGS.score_threshold,
                      low_threshold=FLAGS.low_score_threshold,
                      photo_threshold=FLAGS.photo_score_threshold,
                      too_small_px=too_small_px,
                      face_threshold=(None if FLAGS.face_threshold < 0
                                      else FLAGS.face_threshold),
                      verifier=verifier,
                      min_new_s=FLAGS.min_new_s, min_change=FLAGS.min_change,
                      small_face=FLAGS.min_face or pipeline_lib.SMALL_FACE,
                      ignore_regions=ignore_regions,
                      live=source.live)


def _results(source, pipeline: LivePipeline) -> Iterator[pipeline_lib.FrameResult]:
  """Each photo's faces, or each frame's (a file's a second late, `LivePipeline.stream`);
  --max_frames of them."""
  frames = itertools.islice(source, FLAGS.max_frames or None)
  if not source.photos:
    yield from pipeline.stream(frames)
    return
  for frame in frames:
    if hasattr(pipeline.detector, "min_face"):
      pipeline.detector.min_face = pipeline_lib.photo_min_face(frame.image.shape,
                                                               FLAGS.min_face)
    yield pipeline.analyse_photo(frame)


def _log(recorder: SessionRecorder, result: pipeline_lib.FrameResult) -> None:
  """One frame's (or photo's) faces into the session records."""
  frame = result.frame
  recorder.log(frame.timestamp, frame.index, [
      Entry(f.track_id, f.box, f.probs, f.label, f.smoothed_probs, f.face_px, f.score)
      for f in result.faces], rejected=result.rejected, name=frame.name)


def _frame_loop(source, pipeline: LivePipeline, records: pipeline_lib.Hindsight,
                recorder: SessionRecorder, output, classifier, out_dir: str,
                progress: _Progress) -> None:
  """Every frame (or photo): analyse, record (through `records`), draw; until the end,
  q/Esc or --max_frames (a stop leaves results held back in the pipeline and in
  `records`)."""
  window = "ferjax live (q to quit)"
  for result in _results(source, pipeline):
    frame = result.frame
    if source.photos:
      print(_describe_photo(frame, result, classifier.class_names), flush=True)
    for due in records.push(result):
      _log(recorder, due)
    if FLAGS["save-faces"].value:
      _save_faces(out_dir, frame, result.faces)
    progress.frames += 1
    progress.shape = frame.image.shape
    if not FLAGS.headless or output:
      fps = None if source.photos else progress.frames / max(
          time.perf_counter() - progress.started, 1e-9)
      image = overlay.draw(frame.image, result.faces, classifier.class_names, fps)
      if output:
        output.write(image, frame.name)
      if not FLAGS.headless:
        cv2.imshow(window, image)
        if cv2.waitKey(0 if source.photos else 1) & 0xFF in (ord("q"), 27):
          return


def _final_report(summary, recorder: SessionRecorder, source, detector, out_dir: str,
                  progress: _Progress, return_code: int) -> int:
  """Prints what was done (and what could not be written); returns the exit code."""
  seconds = time.perf_counter() - progress.started
  students = summary["students"] if summary else []
  kind, who = ("photos", "faces") if source.photos else ("frames", "students")
  print(f"{progress.frames} {kind} in {seconds:.1f} s "
        f"({progress.frames / max(seconds, 1e-9):.1f} per s), {len(students)} {who}")
  if hasattr(detector, "describe") and progress.shape:
    print(f"detection at the end: {detector.describe(progress.shape)}")
  if recorder.unwritten:
    print(f"error: not written in {os.path.abspath(out_dir)}: " + "; ".join(
        f"{name} ({why})" for name, why in recorder.unwritten.items()), file=sys.stderr)
    return return_code or 1
  if summary:
    print(f"class mood: {summary['class']['dominant_emotion']}; "
          f"records in {os.path.abspath(out_dir)}")
  return return_code


def _record(signals: _Signals, source, classifier, verifier, detector, out_dir: str,
            ignore_regions: list[tuple[float, ...]]) -> int:
  """Runs the frame loop and writes every session file, whatever stops it."""
  too_small_px = _too_small_px(classifier)
  try:
    recorder, out_dir = _open_recorder(
        out_dir, not FLAGS.out, classifier.class_names, source=source.description,
        model=os.path.abspath(FLAGS.model), model_name=_model_name(classifier),
        recording=source.recording(), photos=source.photos, fps=source.fps,
        too_small_px=too_small_px,
        min_seconds_visible=0.0 if source.photos else FLAGS.min_student_s)
  except OSError as e:
    print(f"error: cannot start the session records in {out_dir}: "
          f"{e.strerror or e}; pass a new --out", file=sys.stderr)
    return 2
  output = None
  if FLAGS.output:
    output = (annotated.PhotoOutput(FLAGS.output) if source.photos
              else annotated.VideoOutput(FLAGS.output, source.fps))
  pipeline = _make_pipeline(detector, classifier, verifier, source, too_small_px,
                            ignore_regions)
  # A camera's results are shown at once, but recorded a second late, revised like a
  # file's (`LivePipeline.stream`): a picture found at the start is never recorded.
  records = pipeline_lib.Hindsight(pipeline.students,
                                   pipeline.students.still_s if source.live else 0.0)
  progress, return_code = _Progress(), 0
  try:
    try:
      if source.live:
        print(source.description, flush=True)
      print(f"session records: {os.path.abspath(out_dir)}", flush=True)
      _frame_loop(source, pipeline, records, recorder, output, classifier, out_dir,
                  progress)
    finally:
      signals.closing = True  # From here on a signal cannot cut the files short.
      pipeline.close()
      held = pipeline.held_back()  # A file's frames analysed but not handed out.
      progress.frames += len(held)
      recorder.verification = pipeline.verification()
      for result in [due for r in held for due in records.push(r)] + list(records.flush()):
        _log(recorder, result)
  except _Stop:
    print("stopping: writing the session summary", file=sys.stderr)
  except cv2.error as e:
    print(f"error: cannot show the overlay window ({e.msg.strip()}); use --headless",
          file=sys.stderr)
    return_code = 2
  except sources.SourceError as e:
    print(f"error: {e}; finishing the session files", file=sys.stderr)
    return_code = 1
  except OSError as e:
    print(f"error: {e.strerror or e} while recording; finishing the session files",
          file=sys.stderr)
    return_code = 1
  finally:
    signals.closing = True
    if output is not None:
      try:
        output.close()
      except OSError as e:
        recorder.unwritten[FLAGS.output] = e.strerror or str(e)
    if not FLAGS.headless:
      cv2.destroyAllWindows()
    summary = recorder.close()
  return _final_report(summary, recorder, source, detector, out_dir, progress, return_code)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  sys.exit(run_session(restore_signals=False))


def run() -> None:
  """Entry point of `ferjax-live` and `tools/live.py`."""
  cli.run(main, __name__, __doc__)


if __name__ == "__main__":
  run()
