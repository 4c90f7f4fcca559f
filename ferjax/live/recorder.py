"""Session records of a live classroom run: a per-frame CSV and a summary.

`SessionRecorder` receives, for every processed frame, the tracked faces with
their raw and smoothed emotion probabilities. It never receives or stores
face images: only ids, boxes and probabilities.

    recorder = SessionRecorder("sessions/2024-05-01", EMOTIONS, source="webcam 0",
                               model="ferjax/pretrained/realtime")
    try:
      for frame_index, (timestamp_s, entries) in enumerate(frames):
        recorder.log(timestamp_s, frame_index, entries)   # also for 0 entries
    finally:
      recorder.close()   # idempotent; summary.json, PNGs, report.html

Files in `out_dir`:
  frames.csv    one row per tracked face per frame, flushed to disk at least
                every `flush_interval_s` of wall time (checked on each `log`):
                timestamp,frame,track_id,x0,y0,x1,y1,p_angry,...,p_neutral,
                smoothed_label
  summary.json  written by `close()` (schema below)
  class_timeline.png, students_heatmap.png, report.html   (unless plots=False)

Time accounting. A frame lasts until the next logged frame, capped at
`max_frame_gap_s` (a stall does not count as seen time); the last frame lasts
as long as the one before it (or `1 / fps` when given, else 0). A student is
visible in a frame when it has an entry, so call `log` for every processed
frame, with no entries when nobody is tracked. Each frame falls in the time
bin of its timestamp. Shares are fractions of visible seconds (of visible
frames when no time has passed, e.g. a one-frame session). The label of an
entry is its smoothed label (`"uncertain"` allowed); without one, the argmax
of its raw probabilities. Dominant emotions ignore `"uncertain"` time and
are `"uncertain"` only when there is no other; ties go to the earlier class
in `class_names`.

summary.json schema (version 1; times in seconds on the caller's timestamp
scale, probabilities and shares in [0, 1], rounded to 6 decimals):

  {
    "schema_version": 1,
    "session": {
      "started_at": str,          # ISO 8601 wall-clock time the recorder started
      "start_s": float,           # timestamp of the first logged frame
      "end_s": float,             # start_s + duration_s
      "duration_s": float,        # sum of frame durations
      "frames": int,              # logged frames
      "fps": float | null,        # frames / duration_s
      "source": str, "model": str,
      "class_names": [str],       # the emotions, in probability order
      "bin_seconds": float,       # width of every timeline bin
      "min_seconds_visible": float,
      "tracks_dropped": int,      # tracks seen less than min_seconds_visible
      "images_stored": false,     # no face images are ever written
      "files": {name: relative path}
    },
    "class": {
      "student_seconds": float,   # visible seconds summed over students
      "emotion_share": {label: float},     # class_names + "uncertain"; sums to 1
      "dominant_emotion": str,
      "mean_probabilities": {emotion: float} | null,   # time-weighted raw mean
      "timeline": [               # every bin from the session start
        {"bin": int, "start_s": float, "end_s": float,
         "students_seen": int,    # distinct students visible in the bin
         "mean_students": float,  # student-seconds / bin seconds
         "dominant": str | null,
         "mean_probabilities": {emotion: float} | null}
      ]
    },
    "students": [                 # sorted by id
      {"id": int,
       "seconds_visible": float, "frames_visible": int,
       "first_seen_s": float, "last_seen_s": float,
       "emotion_share": {label: float},
       "dominant_emotion": str,
       "mean_probabilities": {emotion: float},
       "timeline": [              # only bins where the student was visible
         {"bin": int, "start_s": float, "seconds": float, "dominant": str,
          "mean_probabilities": {emotion: float}}
       ]}
    ]
  }

Interruption. `close()` is idempotent and returns the summary. Called while
`log()` is running (e.g. from a signal handler), it is deferred to the end of
that `log()`, which runs even when the handler raises.

Safety. frames.csv is created, never replaced: a folder that already holds
one is refused (FileExistsError). summary.json, the PNGs and report.html are
written to a temporary name and renamed, so each is complete or absent; files
`close()` could not write are listed in `unwritten` (name -> reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
import csv
import dataclasses
import datetime
import json
import math
import os
import time
from typing import Any

import numpy as np

from ferjax import files as files_lib

UNCERTAIN = "uncertain"
SCHEMA_VERSION = 1
FRAMES_CSV = "frames.csv"
SUMMARY_JSON = "summary.json"
# Adaptive bin widths (seconds), the smallest giving at most `max_bins` bins.
NICE_BIN_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


@dataclasses.dataclass(frozen=True)
class Entry:
  """One tracked face in one frame.

  Attributes:
    track_id: the tracker's id.
    box: x0, y0, x1, y1 in pixels.
    probs: raw model probabilities, one per class.
    smoothed_label: a class name or "uncertain"; None: argmax of `probs`.
    smoothed_probs: optional smoothed probabilities (not used in the summary).
  """
  track_id: int
  box: Sequence[float]
  probs: Sequence[float]
  smoothed_label: str | None = None
  smoothed_probs: Sequence[float] | None = None


class _Acc:
  """Sums over visible time: seconds and frames, per label and weighted probs."""

  def __init__(self, num_classes: int):
    self.seconds = 0.0
    self.frames = 0
    self.label_seconds = np.zeros(num_classes + 1)  # Last: uncertain.
    self.label_frames = np.zeros(num_classes + 1)
    self.prob_seconds = np.zeros(num_classes)
    self.prob_frames = np.zeros(num_classes)

  def add(self, label: int, probs: np.ndarray, seconds: float) -> None:
    self.seconds += seconds
    self.frames += 1
    self.label_seconds[label] += seconds
    self.label_frames[label] += 1
    self.prob_seconds += probs * seconds
    self.prob_frames += probs

  def merge(self, other: _Acc) -> None:
    self.seconds += other.seconds
    self.frames += other.frames
    self.label_seconds += other.label_seconds
    self.label_frames += other.label_frames
    self.prob_seconds += other.prob_seconds
    self.prob_frames += other.prob_frames

  def share(self) -> np.ndarray:
    if self.seconds > 0:
      return self.label_seconds / self.seconds
    if self.frames:
      return self.label_frames / self.frames
    return np.zeros_like(self.label_seconds)

  def mean_probs(self) -> np.ndarray | None:
    if self.seconds > 0:
      return self.prob_seconds / self.seconds
    if self.frames:
      return self.prob_frames / self.frames
    return None

  def dominant(self, labels: Sequence[str]) -> str | None:
    """Label with the most time, ignoring uncertain unless it is all there is."""
    if not self.frames:
      return None
    weights = self.label_seconds if self.seconds > 0 else self.label_frames
    if weights[:-1].max() <= 0:
      return labels[-1]
    return labels[int(np.argmax(weights[:-1]))]


class _Student:
  """Accumulated visibility of one track."""

  def __init__(self, num_classes: int, first_s: float):
    self.num_classes = num_classes
    self.total = _Acc(num_classes)
    self.bins: dict[int, _Acc] = {}
    self.first_s = first_s
    self.last_s = first_s

  def add(self, bin_index: int, label: int, probs: np.ndarray, seconds: float,
          timestamp_s: float) -> None:
    self.total.add(label, probs, seconds)
    acc = self.bins.get(bin_index)
    if acc is None:
      acc = self.bins[bin_index] = _Acc(self.num_classes)
    acc.add(label, probs, seconds)
    self.last_s = max(self.last_s, timestamp_s)


def _round(x: float) -> float:
  return round(float(x), 6)


def _as_entry(entry: Entry | Mapping[str, Any]) -> Entry:
  if isinstance(entry, Entry):
    return entry
  return Entry(**entry)


def choose_bin_seconds(duration_s: float, max_bins: int = 60) -> float:
  """Smallest of NICE_BIN_SECONDS giving at most `max_bins` bins."""
  for width in NICE_BIN_SECONDS:
    if math.ceil(duration_s / width) <= max_bins:
      return float(width)
  return float(math.ceil(duration_s / max_bins))


class SessionRecorder:
  """Writes frames.csv while running and summary.json + plots on close."""

  def __init__(self, out_dir: str | os.PathLike, class_names: Sequence[str], *,
               source: str = "", model: str = "", fps: float | None = None,
               bin_seconds: float | None = None, max_bins: int = 60,
               max_frame_gap_s: float = 1.0, min_seconds_visible: float = 0.0,
               flush_interval_s: float = 1.0, plots: bool = True,
               clock: Callable[[], float] = time.monotonic):
    """Creates `out_dir/frames.csv`; FileExistsError if the folder already has one.

    Args:
      out_dir: folder for the session files (created).
      class_names: emotion names, in the order of the probabilities.
      source: what was analysed (camera, file), for the summary.
      model: the model used, for the summary.
      fps: nominal frame rate; only sets the duration of the last frame of a
        one-frame session.
      bin_seconds: timeline bin width; None picks one from NICE_BIN_SECONDS
        giving at most `max_bins` bins.
      max_bins: see `bin_seconds`.
      max_frame_gap_s: longest time one frame can account for.
      min_seconds_visible: tracks seen for less are left out of the summary
        (counted in `tracks_dropped`).
      flush_interval_s: frames.csv is flushed when this much wall time has
        passed since the last flush.
      plots: also write the PNG plots and report.html on close.
      clock: wall clock in seconds (for tests).
    """
    self.out_dir = os.fspath(out_dir)
    self.class_names = tuple(class_names)
    self.labels = self.class_names + (UNCERTAIN,)
    self._label_index = {name: i for i, name in enumerate(self.labels)}
    self.source = source
    self.model = model
    self.fps = fps
    self.max_bins = max_bins
    self.max_frame_gap_s = max_frame_gap_s
    self.min_seconds_visible = min_seconds_visible
    self.flush_interval_s = flush_interval_s
    self.plots = plots
    self._clock = clock
    # Fixed bins are accumulated directly; adaptive ones from 1 s bins.
    self._fixed_bin_s = bin_seconds
    self._base_bin_s = float(bin_seconds) if bin_seconds else 1.0
    self._started_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    os.makedirs(self.out_dir, exist_ok=True)
    self.csv_path = os.path.join(self.out_dir, FRAMES_CSV)
    self.summary_path = os.path.join(self.out_dir, SUMMARY_JSON)
    if os.path.lexists(self.summary_path):  # A finished session: keep its records.
      raise FileExistsError(f"{self.summary_path} already exists")
    # "x": never truncates the rows of an earlier (e.g. crashed) session.
    self._csv_file = open(self.csv_path, "x", newline="", encoding="utf-8")  # pylint: disable=consider-using-with
    self._csv = csv.writer(self._csv_file)
    self._csv.writerow(["timestamp", "frame", "track_id", "x0", "y0", "x1", "y1"]
                       + [f"p_{name}" for name in self.class_names] + ["smoothed_label"])
    self._csv_file.flush()
    self._last_flush = clock()

    self._students: dict[int, _Student] = {}
    self._frame_bins: dict[int, list[float]] = {}  # bin -> [seconds, frames]
    self._frames = 0
    self._start_s: float | None = None
    self._pending: tuple[float, list[tuple[int, int, np.ndarray]]] | None = None
    self._last_duration: float | None = None
    self._duration_s = 0.0
    self._in_log = False
    self._close_requested = False
    self._closed = False
    self._summary: dict[str, Any] | None = None
    self.unwritten: dict[str, str] = {}  # File name -> why close() could not write it.

  @property
  def closed(self) -> bool:
    return self._closed

  def __enter__(self) -> SessionRecorder:
    return self

  def __exit__(self, *exc_info) -> None:
    self.close()

  def log(self, timestamp_s: float, frame_index: int,
          entries: Iterable[Entry | Mapping[str, Any]]) -> None:
    """Records one processed frame (`entries` may be empty). No-op once closed."""
    if self._closed:
      return
    self._in_log = True
    try:
      self._log(float(timestamp_s), int(frame_index), entries)
    finally:
      self._in_log = False
      if self._close_requested:
        self.close()

  def _log(self, timestamp_s: float, frame_index: int,
           entries: Iterable[Entry | Mapping[str, Any]]) -> None:
    rows, lines = [], []
    seen = set()
    for raw in entries:
      entry = _as_entry(raw)
      track_id = int(entry.track_id)
      if track_id in seen:
        raise ValueError(f"track {track_id} logged twice in frame {frame_index}")
      seen.add(track_id)
      probs = np.asarray(entry.probs, np.float64).reshape(-1)
      if probs.shape != (len(self.class_names),):
        raise ValueError(f"track {track_id}: expected {len(self.class_names)} "
                         f"probabilities, got {probs.shape}")
      label = entry.smoothed_label
      if label is None:
        label = self.class_names[int(np.argmax(probs))]
      if label not in self._label_index:
        raise ValueError(f"track {track_id}: unknown label {label!r}")
      box = [float(v) for v in entry.box]
      if len(box) != 4:
        raise ValueError(f"track {track_id}: box needs 4 numbers, got {len(box)}")
      rows.append((track_id, self._label_index[label], probs))
      lines.append([f"{timestamp_s:.3f}", frame_index, track_id]
                   + [f"{v:.1f}" for v in box]
                   + [f"{float(p):.4f}" for p in probs] + [label])
    self._csv.writerows(lines)  # Only once every entry is valid.

    if self._start_s is None:
      self._start_s = timestamp_s
    if self._pending is not None:
      self._finish_pending(min(max(timestamp_s - self._pending[0], 0.0),
                               self.max_frame_gap_s))
    self._pending = (timestamp_s, rows)
    self._frames += 1
    now = self._clock()
    if now - self._last_flush >= self.flush_interval_s:
      self.flush()

  def flush(self) -> None:
    """Pushes the buffered CSV rows to the operating system."""
    if not self._csv_file.closed:
      self._csv_file.flush()
    self._last_flush = self._clock()

  def _finish_pending(self, duration: float) -> None:
    """Adds the pending frame, now that its duration is known, to the sums."""
    timestamp_s, rows = self._pending
    self._pending = None
    self._last_duration = duration
    self._duration_s += duration
    bin_index = int(math.floor((timestamp_s - self._start_s) / self._base_bin_s + 1e-9))
    frame_bin = self._frame_bins.setdefault(bin_index, [0.0, 0])
    frame_bin[0] += duration
    frame_bin[1] += 1
    for track_id, label, probs in rows:
      student = self._students.get(track_id)
      if student is None:
        student = self._students[track_id] = _Student(len(self.class_names), timestamp_s)
      student.add(bin_index, label, probs, duration, timestamp_s)

  def close(self) -> dict[str, Any] | None:
    """Finishes the files; idempotent. Returns the summary (None if deferred)."""
    if self._closed:
      return self._summary
    if self._in_log:  # Interrupted mid-log: finish that frame first.
      self._close_requested = True
      return None
    self._closed = True
    if self._pending is not None:
      if self._last_duration is not None:
        last = self._last_duration
      else:
        last = 1.0 / self.fps if self.fps else 0.0
      self._finish_pending(last)
    try:
      self._csv_file.close()
    except OSError as e:
      self.unwritten[FRAMES_CSV] = f"last rows lost: {e.strerror or e}"
    files = {"frames_csv": FRAMES_CSV, "summary_json": SUMMARY_JSON}
    self._summary = self.summary(files)
    self._write_summary()
    if self.plots:
      from ferjax.live import report as session_report  # pylint: disable=g-import-not-at-top
      written = session_report.write_all(self._summary, self.out_dir, self.unwritten)
      files.update(written)
      self._summary["session"]["files"] = files
      self._write_summary()
    return self._summary

  def _write_summary(self) -> None:
    """Writes summary.json whole (mode 0644) or not at all (noted in `unwritten`)."""
    try:
      files_lib.atomic_write_text(self.summary_path, json.dumps(self._summary, indent=2))
    except OSError as e:
      self.unwritten[SUMMARY_JSON] = e.strerror or str(e)
    else:
      self.unwritten.pop(SUMMARY_JSON, None)

  def _probs_dict(self, probs: np.ndarray | None) -> dict[str, float] | None:
    if probs is None:
      return None
    return {name: _round(p) for name, p in zip(self.class_names, probs)}

  def _share_dict(self, acc: _Acc) -> dict[str, float]:
    return {name: _round(s) for name, s in zip(self.labels, acc.share())}

  def summary(self, files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The summary of what was logged so far (see the module docstring)."""
    duration = self._duration_s
    if self._fixed_bin_s:
      bin_s, factor = float(self._fixed_bin_s), 1
    else:
      bin_s = choose_bin_seconds(duration, self.max_bins)
      factor = int(round(bin_s / self._base_bin_s))
    start = self._start_s if self._start_s is not None else 0.0

    kept = {i: s for i, s in sorted(self._students.items())
            if s.total.seconds >= self.min_seconds_visible}
    students = []
    class_total = _Acc(len(self.class_names))
    class_bins: dict[int, _Acc] = {}
    class_seen: dict[int, int] = {}
    for track_id, student in kept.items():
      class_total.merge(student.total)
      bins: dict[int, _Acc] = {}
      for base_index, acc in student.bins.items():
        index = base_index // factor
        bins.setdefault(index, _Acc(len(self.class_names))).merge(acc)
      timeline = []
      for index in sorted(bins):
        acc = bins[index]
        class_bins.setdefault(index, _Acc(len(self.class_names))).merge(acc)
        class_seen[index] = class_seen.get(index, 0) + 1
        timeline.append({"bin": index, "start_s": _round(start + index * bin_s),
                         "seconds": _round(acc.seconds), "dominant": acc.dominant(self.labels),
                         "mean_probabilities": self._probs_dict(acc.mean_probs())})
      students.append({
          "id": track_id,
          "seconds_visible": _round(student.total.seconds),
          "frames_visible": student.total.frames,
          "first_seen_s": _round(student.first_s),
          "last_seen_s": _round(student.last_s),
          "emotion_share": self._share_dict(student.total),
          "dominant_emotion": student.total.dominant(self.labels),
          "mean_probabilities": self._probs_dict(student.total.mean_probs()),
          "timeline": timeline,
      })

    frame_bins: dict[int, list[float]] = {}
    for base_index, (seconds, frames) in self._frame_bins.items():
      merged = frame_bins.setdefault(base_index // factor, [0.0, 0])
      merged[0] += seconds
      merged[1] += frames
    num_bins = max(frame_bins) + 1 if frame_bins else 0
    class_timeline = []
    for index in range(num_bins):
      acc = class_bins.get(index, _Acc(len(self.class_names)))
      seconds, frames = frame_bins.get(index, [0.0, 0])
      if seconds > 0:
        mean_students = acc.seconds / seconds
      else:
        mean_students = acc.frames / frames if frames else 0.0
      class_timeline.append({
          "bin": index, "start_s": _round(start + index * bin_s),
          "end_s": _round(start + (index + 1) * bin_s),
          "students_seen": class_seen.get(index, 0),
          "mean_students": _round(mean_students),
          "dominant": acc.dominant(self.labels),
          "mean_probabilities": self._probs_dict(acc.mean_probs()),
      })

    return {
        "schema_version": SCHEMA_VERSION,
        "session": {
            "started_at": self._started_at,
            "start_s": _round(start),
            "end_s": _round(start + duration),
            "duration_s": _round(duration),
            "frames": self._frames,
            "fps": _round(self._frames / duration) if duration > 0 else None,
            "source": self.source,
            "model": self.model,
            "class_names": list(self.class_names),
            "bin_seconds": bin_s,
            "min_seconds_visible": self.min_seconds_visible,
            "tracks_dropped": len(self._students) - len(kept),
            "images_stored": False,
            "files": dict(files or {}),
        },
        "class": {
            "student_seconds": _round(class_total.seconds),
            "emotion_share": self._share_dict(class_total),
            "dominant_emotion": class_total.dominant(self.labels) or UNCERTAIN,
            "mean_probabilities": self._probs_dict(class_total.mean_probs()),
            "timeline": class_timeline,
        },
        "students": students,
    }
