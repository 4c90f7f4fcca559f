"""Live classroom analysis: every face, a stable anonymous ID, emotions over time.

    python tools/live.py                          # webcam 0, overlay window
    python tools/live.py --source lecture.mp4 --headless --out sessions/monday
    python tools/live.py --source clip.gif --output annotated.mp4

Session records go to --out (default: sessions/<date-time>/, printed at start):
frames.csv (flushed every second), and on exit (end of input, q/Esc, Ctrl-C or
SIGTERM) summary.json, class_timeline.png, students_heatmap.png, report.html.
No face images are stored unless --save-faces is given.
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
import time

import cv2
from absl import app, flags

from ferjax import cli
from ferjax import faces
from ferjax.inference import (BACKENDS, DEFAULT_MODEL_DIR, ExpressionClassifier,
                              ModelError, model_error_message)
from ferjax.live import overlay
from ferjax.live import sources
from ferjax.live.pipeline import LivePipeline
from ferjax.live.recorder import Entry, SessionRecorder

flags.DEFINE_string("source", "0", "Camera index, video/GIF file, or folder of images.")
flags.DEFINE_string("model", DEFAULT_MODEL_DIR, "Exported model folder (from ferjax.train.export).")
flags.DEFINE_enum("backend", "tflite", BACKENDS, "Inference backend.")
flags.DEFINE_string("detector", "default", f"Face detector: default ({faces.DEFAULT}), "
                    f"{', '.join(faces.DETECTORS)}.")
flags.DEFINE_integer("max_side", 640, "CenterFace input size (longer side); raise it "
                     "(e.g. 960) for faces smaller than ~15 px.")
flags.DEFINE_integer("detect_every", 3, "Run the detector every N frames; the tracker "
                     "bridges the frames in between.")
flags.DEFINE_float("memory_s", 2.5, "Seconds a lost face keeps its ID.")
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


class _Stop(Exception):
  """Raised from the SIGTERM handler to leave the frame loop cleanly."""


def _on_sigterm(signum, frame):
  del signum, frame
  raise _Stop()


def _open_writer(path: str, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
  fourcc = "MJPG" if path.lower().endswith(".avi") else "mp4v"
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, size)
  if not writer.isOpened():
    raise OSError(f"cannot write video {path!r} (use .mp4 or .avi)")
  return writer


def run_session() -> int:
  """Runs the session; returns the process exit code."""
  try:
    classifier = ExpressionClassifier(FLAGS.model, backend=FLAGS.backend)
  except ModelError as e:
    print(model_error_message(e, FLAGS.model), file=sys.stderr)
    return 2
  uses_centerface = (FLAGS.detector in ("default", "centerface")
                     and faces.DEFAULT == "centerface")
  detector_kwargs = {"max_side": FLAGS.max_side} if uses_centerface else {}
  try:
    detector = faces.create_detector(FLAGS.detector, **detector_kwargs)
  except (ValueError, faces.DetectorUnavailable) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  try:
    source = sources.open_source(FLAGS.source, fps=FLAGS.fps)
  except sources.SourceError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  out_dir = FLAGS.out or os.path.join(
      "sessions", datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S"))
  print(f"session records: {os.path.abspath(out_dir)}", flush=True)
  pipeline = LivePipeline(detector, classifier, fps=source.fps,
                          detect_every=FLAGS.detect_every, memory_s=FLAGS.memory_s,
                          smoothing_s=FLAGS.smoothing_s,
                          confidence_threshold=FLAGS.confidence)
  recorder = SessionRecorder(out_dir, classifier.class_names, source=source.description,
                             model=os.path.abspath(FLAGS.model), fps=source.fps)
  save_faces = FLAGS["save-faces"].value
  writer = None
  window = "ferjax live (q to quit)"
  frames_done, started, return_code = 0, time.perf_counter(), 0
  previous = signal.signal(signal.SIGTERM, _on_sigterm)
  try:
    for frame in source:
      result = pipeline.process(frame)
      recorder.log(frame.timestamp, frame.index, [
          Entry(f.track_id, f.box, f.probs, f.label, f.smoothed_probs)
          for f in result.faces])
      if save_faces:
        for f in result.faces:
          folder = os.path.join(out_dir, "faces", f"{f.track_id:04d}")
          os.makedirs(folder, exist_ok=True)
          cv2.imwrite(os.path.join(folder, f"{frame.index:07d}.png"), f.face)
      frames_done += 1
      if not FLAGS.headless or FLAGS.output:
        fps = frames_done / max(time.perf_counter() - started, 1e-9)
        annotated = overlay.draw(frame.image, result.faces, classifier.class_names, fps)
        if FLAGS.output:
          if writer is None:
            writer = _open_writer(FLAGS.output, source.fps,
                                  (annotated.shape[1], annotated.shape[0]))
          writer.write(annotated)
        if not FLAGS.headless:
          cv2.imshow(window, annotated)
          if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            break
      if FLAGS.max_frames and frames_done >= FLAGS.max_frames:
        break
  except (KeyboardInterrupt, _Stop):
    print("stopping: writing the session summary", file=sys.stderr)
  except cv2.error as e:
    print(f"error: cannot show the overlay window ({e.msg.strip()}); use --headless",
          file=sys.stderr)
    return_code = 2
  finally:
    signal.signal(signal.SIGTERM, previous)
    source.close()
    if writer is not None:
      writer.release()
    if not FLAGS.headless:
      cv2.destroyAllWindows()
    summary = recorder.close()
  seconds = time.perf_counter() - started
  students = summary["students"] if summary else []
  print(f"{frames_done} frames in {seconds:.1f} s ({frames_done / max(seconds, 1e-9):.1f} "
        f"FPS), {len(students)} students")
  if summary:
    print(f"class mood: {summary['class']['dominant_emotion']}; "
          f"records in {os.path.abspath(out_dir)}")
  return return_code


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  sys.exit(run_session())


def run() -> None:
  """Entry point of `ferjax-live` and `tools/live.py`."""
  cli.run(main, __name__, __doc__)


if __name__ == "__main__":
  run()
