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
                timestamp,frame,track_id,x0,y0,x1,y1,face_px,score,
                p_angry,...,p_neutral,smoothed_label
                (face_px: side of the face crop in pixels; score: the detector's
                score of the face's last detection; the p_ cells are empty for
                a face not read in that frame: too_small, or lost by the
                detector and shown with its last smoothed label)
  summary.json  written by `close()` (schema in `ferjax.live.summary`)
  class_timeline.png, students_heatmap.png, report.html   (unless plots=False)

Safety. frames.csv is created, never replaced: a folder that already holds
one is refused (FileExistsError). summary.json, the PNGs and report.html are
written to a temporary name and renamed, so each is complete or absent; files
`close()` could not write are listed in `unwritten` (name -> reason).

Time accounting: `ferjax.live.time_totals`.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ferjax import files as files_lib
from ferjax.live import summary as summary_lib
from ferjax.live import time_totals

FRAMES_CSV = "frames.csv"
SUMMARY_JSON = "summary.json"


@dataclasses.dataclass(frozen=True)
class Entry:
  """One tracked face in one frame.

  Attributes:
    track_id: the tracker's id.
    box: x0, y0, x1, y1 in pixels.
    probs: raw model probabilities, one per class; None when the face was not
      read in this frame (too small, or the detector lost it): then
      `smoothed_label` says what the face counts as.
    smoothed_label: a class name, "uncertain" or "too_small"; None: argmax of `probs`.
    smoothed_probs: optional smoothed probabilities (not used in the summary).
    face_px: side of the face crop in pixels, if known.
    score: detector score, if known.
  """
  track_id: int
  box: Sequence[float]
  probs: Sequence[float] | None
  smoothed_label: str | None = None
  smoothed_probs: Sequence[float] | None = None
  face_px: float | None = None
  score: float | None = None


def _as_entry(entry: Entry | Mapping[str, Any]) -> Entry:
  if isinstance(entry, Entry):
    return entry
  return Entry(**entry)


class SessionRecorder:
  """Writes frames.csv while running and summary.json + plots on close."""

  def __init__(self, out_dir: str | os.PathLike, class_names: Sequence[str], *,
               source: str = "", model: str = "", model_name: str = "",
               recording: Mapping[str, Any] | None = None, photos: bool = False,
               fps: float | None = None,
               bin_seconds: float | None = None, max_bins: int = 60,
               max_frame_gap_s: float = 1.0, min_seconds_visible: float = 0.0,
               flush_interval_s: float = 1.0, plots: bool = True,
               too_small_px: float | None = None,
               clock: Callable[[], float] = time.monotonic):
    """Creates `out_dir/frames.csv`; FileExistsError if the folder already has one.

    Args:
      out_dir: folder for the session files (created).
      class_names: emotion names, in the order of the probabilities.
      source: what was analysed (camera, file), for the summary.
      model: the model used, for the summary.
      model_name: the model's name and version, as the report shows it.
      recording: name, kind, started_at / ended_at (ISO 8601) and time_basis of
        what was analysed (`ferjax.live.summary`).
      photos: the frames are unrelated photos: the summary lists them, and the
        report speaks of faces and photos, not of time.
      fps: nominal frame rate; only sets the duration of the last frame of a
        one-frame session.
      bin_seconds: timeline bin width; None picks one from time_totals.NICE_BIN_SECONDS
        giving at most `max_bins` bins.
      max_bins: see `bin_seconds`.
      max_frame_gap_s: longest time one frame can account for.
      min_seconds_visible: tracks seen for less are left out of the summary
        (counted in `tracks_dropped`).
      flush_interval_s: frames.csv is flushed when this much wall time has
        passed since the last flush.
      plots: also write the PNG plots and report.html on close.
      too_small_px: the face size under which faces were labelled too_small
        (recorded in the summary).
      clock: wall clock in seconds (for tests).
    """
    self.out_dir = os.fspath(out_dir)
    self.class_names = tuple(class_names)
    self.labels = time_totals.session_labels(self.class_names)
    self._label_index = {name: i for i, name in enumerate(self.labels)}
    self.source = source
    self.model = model
    self.model_name = model_name
    self.recording = dict(recording or {})
    self.photos = photos
    self._photo_rows: list[dict[str, Any]] = []
    self.fps = fps
    self.max_bins = max_bins
    self.max_frame_gap_s = max_frame_gap_s
    self.min_seconds_visible = min_seconds_visible
    self.flush_interval_s = flush_interval_s
    self.plots = plots
    self.too_small_px = too_small_px
    self._clock = clock
    # Fixed bins are accumulated directly; adaptive ones from 1 s bins.
    self._fixed_bin_s = bin_seconds
    self._base_bin_s = float(bin_seconds) if bin_seconds else 1.0
    self._analysed_at = datetime.datetime.now().astimezone().isoformat(timespec="seconds")

    os.makedirs(self.out_dir, exist_ok=True)
    self.csv_path = os.path.join(self.out_dir, FRAMES_CSV)
    self.summary_path = os.path.join(self.out_dir, SUMMARY_JSON)
    if os.path.lexists(self.summary_path):  # A finished session: keep its records.
      raise FileExistsError(f"{self.summary_path} already exists")
    # "x": never truncates the rows of an earlier (e.g. crashed) session.
    self._csv_file = open(self.csv_path, "x", newline="", encoding="utf-8")  # pylint: disable=consider-using-with
    self._csv = csv.writer(self._csv_file)
    self._csv.writerow(["timestamp", "frame", "track_id", "x0", "y0", "x1", "y1",
                        "face_px", "score"]
                       + [f"p_{name}" for name in self.class_names] + ["smoothed_label"])
    self._csv_file.flush()
    self._last_flush = clock()

    self._totals = time_totals.SessionTotals(len(self.class_names), self._base_bin_s)
    self._frames = 0
    self._rejected = 0  # Detections (tracks per frame) not reported: not verified faces.
    # How detections were verified as faces (set by the caller, e.g. the face threshold
    # and the tracks rejected); recorded in the summary with the count above.
    self.verification: dict[str, Any] = {}
    self._pending: tuple[float, list[tuple[int, int, np.ndarray]]] | None = None
    self._last_duration: float | None = None
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
          entries: Iterable[Entry | Mapping[str, Any]], rejected: int = 0,
          name: str | None = None) -> None:
    """Records one processed frame (`entries` may be empty). No-op once closed.

    `rejected`: detections of the frame not reported because they were not
    verified as faces; only their number is kept. `name`: the photo's file name
    (photo sessions).
    """
    if self._closed:
      return
    self._rejected += int(rejected)
    self._in_log = True
    try:
      self._log(float(timestamp_s), int(frame_index), entries, name)
    finally:
      self._in_log = False
      if self._close_requested:
        self.close()

  def _log(self, timestamp_s: float, frame_index: int,
           entries: Iterable[Entry | Mapping[str, Any]], name: str | None) -> None:
    rows, lines = [], []
    seen = set()
    for raw in entries:
      entry = _as_entry(raw)
      track_id = int(entry.track_id)
      if track_id in seen:
        raise ValueError(f"track {track_id} logged twice in frame {frame_index}")
      seen.add(track_id)
      probs, label = self._probs_and_label(track_id, entry)
      box = [float(v) for v in entry.box]
      if len(box) != 4:
        raise ValueError(f"track {track_id}: box needs 4 numbers, got {len(box)}")
      face_px = None if entry.face_px is None else float(entry.face_px)
      rows.append((track_id, self._label_index[label], probs, face_px))
      cells = ([""] * len(self.class_names) if probs is None
               else [f"{float(p):.4f}" for p in probs])
      lines.append([f"{timestamp_s:.3f}", frame_index, track_id]
                   + [f"{v:.1f}" for v in box]
                   + ["" if face_px is None else f"{face_px:.1f}",
                      "" if entry.score is None else f"{float(entry.score):.3f}"]
                   + cells + [label])
    self._csv.writerows(lines)  # Only once every entry is valid.
    if self.photos:
      labels = collections.Counter(line[-1] for line in lines)
      self._photo_rows.append({"index": frame_index, "name": name or f"photo {frame_index + 1}",
                               "faces": len(lines), "labels": dict(labels)})

    if self._pending is not None:
      self._finish_pending(min(max(timestamp_s - self._pending[0], 0.0),
                               self.max_frame_gap_s))
    self._pending = (timestamp_s, rows)
    self._frames += 1
    now = self._clock()
    if now - self._last_flush >= self.flush_interval_s:
      self.flush()

  def _probs_and_label(self, track_id: int, entry: Entry) -> tuple[np.ndarray | None, str]:
    """The entry's checked probabilities (None for too_small) and label."""
    label = entry.smoothed_label
    if entry.probs is None:
      if label not in self._label_index:
        raise ValueError(f"track {track_id}: no probabilities and no known label "
                         f"({label!r}); give one of them")
      return None, label
    probs = np.asarray(entry.probs, np.float64).reshape(-1)
    if probs.shape != (len(self.class_names),):
      raise ValueError(f"track {track_id}: expected {len(self.class_names)} "
                       f"probabilities, got {probs.shape}")
    if label is None:
      label = self.class_names[int(np.argmax(probs))]
    if label not in self._label_index:
      raise ValueError(f"track {track_id}: unknown label {label!r}")
    return probs, label

  def flush(self) -> None:
    """Pushes the buffered CSV rows to the operating system."""
    if not self._csv_file.closed:
      self._csv_file.flush()
    self._last_flush = self._clock()

  def _finish_pending(self, duration: float) -> None:
    """Adds the pending frame, now that its duration is known, to the totals."""
    timestamp_s, rows = self._pending
    self._pending = None
    self._last_duration = duration
    self._totals.add_frame(timestamp_s, duration, rows)

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

  def summary(self, files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The summary of what was logged so far (`ferjax.live.summary`)."""
    info = summary_lib.SessionInfo(
        class_names=self.class_names, analysed_at=self._analysed_at, frames=self._frames,
        source=self.source, model=self.model, model_name=self.model_name,
        recording=self.recording, photos=self._photo_rows if self.photos else None, bin_seconds=self._fixed_bin_s,
        max_bins=self.max_bins, min_seconds_visible=self.min_seconds_visible,
        too_small_px=self.too_small_px,
        not_faces={"rejected_detections": self._rejected, **self.verification})
    return summary_lib.build_summary(info, self._totals, files)
