"""Time accounting of a session: visible seconds and frames per label, per student, per bin.

Time accounting. A frame lasts until the next logged frame, capped at
`max_frame_gap_s` (a stall does not count as seen time); the last frame lasts
as long as the one before it (or `1 / fps` when given, else 0). A student is
visible in a frame when it has an entry, so call `log` for every processed
frame, with no entries when nobody is tracked. Each frame falls in the time
bin of its timestamp. Shares are fractions of visible seconds (of visible
frames when no time has passed, e.g. a one-frame session). The label of an
entry is its smoothed label (`"uncertain"` and `"too_small"` allowed); without
one, the argmax of its raw probabilities. Dominant emotions ignore
`"uncertain"` and `"too_small"` time and are one of those only when there is
no other; ties go to the earlier class in `class_names`. Mean probabilities
are over the entries that have them (a too-small face has none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ferjax.live.face_quality import TOO_SMALL
from ferjax.live.smoothing import UNCERTAIN

# Adaptive bin widths (seconds), the smallest giving at most `max_bins` bins.
NICE_BIN_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


# The labels a face may have besides the emotions, in this order after them.
EXTRA_LABELS = (UNCERTAIN, TOO_SMALL)
NUM_EXTRA_LABELS = len(EXTRA_LABELS)


def session_labels(class_names: Sequence[str]) -> tuple[str, ...]:
  """Every label a face may carry: the emotions, then EXTRA_LABELS."""
  return tuple(class_names) + EXTRA_LABELS


class Totals:
  """Sums over visible time: seconds and frames, per label and weighted probs."""

  def __init__(self, num_classes: int):
    self.seconds = 0.0
    self.frames = 0
    self.label_seconds = np.zeros(num_classes + NUM_EXTRA_LABELS)
    self.label_frames = np.zeros(num_classes + NUM_EXTRA_LABELS)
    self.prob_seconds = np.zeros(num_classes)
    self.prob_frames = np.zeros(num_classes)
    self.probs_seconds = 0.0  # Time and frames that had probabilities.
    self.probs_frames = 0

  def add(self, label: int, probs: np.ndarray | None, seconds: float) -> None:
    self.seconds += seconds
    self.frames += 1
    self.label_seconds[label] += seconds
    self.label_frames[label] += 1
    if probs is not None:
      self.prob_seconds += probs * seconds
      self.prob_frames += probs
      self.probs_seconds += seconds
      self.probs_frames += 1

  def merge(self, other: Totals) -> None:
    self.seconds += other.seconds
    self.frames += other.frames
    self.label_seconds += other.label_seconds
    self.label_frames += other.label_frames
    self.prob_seconds += other.prob_seconds
    self.prob_frames += other.prob_frames
    self.probs_seconds += other.probs_seconds
    self.probs_frames += other.probs_frames

  def share(self) -> np.ndarray:
    if self.seconds > 0:
      return self.label_seconds / self.seconds
    if self.frames:
      return self.label_frames / self.frames
    return np.zeros_like(self.label_seconds)

  def mean_probs(self) -> np.ndarray | None:
    if self.probs_seconds > 0:
      return self.prob_seconds / self.probs_seconds
    if self.probs_frames:
      return self.prob_frames / self.probs_frames
    return None

  def dominant(self, labels: Sequence[str]) -> str | None:
    """Emotion with the most time; uncertain / too_small only when there is no other."""
    if not self.frames:
      return None
    weights = self.label_seconds if self.seconds > 0 else self.label_frames
    emotions = weights[:-NUM_EXTRA_LABELS]
    if emotions.max() > 0:
      return labels[int(np.argmax(emotions))]
    extra = weights[-NUM_EXTRA_LABELS:]
    return labels[len(emotions) + int(np.argmax(extra))]


class StudentTotals:
  """Accumulated visibility of one track."""

  def __init__(self, num_classes: int, first_s: float):
    self.num_classes = num_classes
    self.total = Totals(num_classes)
    self.bins: dict[int, Totals] = {}
    self.first_s = first_s
    self.last_s = first_s
    self._face_px_sum = 0.0
    self._face_px_count = 0

  @property
  def face_px(self) -> float | None:
    """Mean face crop side over the frames that logged one."""
    return self._face_px_sum / self._face_px_count if self._face_px_count else None

  def add(self, bin_index: int, label: int, probs: np.ndarray | None, seconds: float,
          timestamp_s: float, face_px: float | None = None) -> None:
    self.total.add(label, probs, seconds)
    if face_px is not None:
      self._face_px_sum += face_px
      self._face_px_count += 1
    acc = self.bins.get(bin_index)
    if acc is None:
      acc = self.bins[bin_index] = Totals(self.num_classes)
    acc.add(label, probs, seconds)
    self.last_s = max(self.last_s, timestamp_s)


def choose_bin_seconds(duration_s: float, max_bins: int = 60) -> float:
  """Smallest of NICE_BIN_SECONDS giving at most `max_bins` bins."""
  for width in NICE_BIN_SECONDS:
    if math.ceil(duration_s / width) <= max_bins:
      return float(width)
  return float(math.ceil(duration_s / max_bins))


class SessionTotals:
  """Everything the summary needs, accumulated frame by frame.

  Frames are added once their duration is known; `base_bin_s` is the width of
  the bins they are counted in (the summary may merge them into wider bins).
  """

  def __init__(self, num_classes: int, base_bin_s: float):
    self.num_classes = num_classes
    self.base_bin_s = base_bin_s
    self.students: dict[int, StudentTotals] = {}
    self.frame_bins: dict[int, list[float]] = {}  # bin -> [seconds, frames]
    self.start_s: float | None = None
    self.duration_s = 0.0

  def add_frame(self, timestamp_s: float, duration: float,
                rows: list[tuple[int, int, np.ndarray | None, float | None]]) -> None:
    """One frame of `duration` seconds.

    `rows` are (track id, label index, probabilities or None, face px or None).
    """
    if self.start_s is None:
      self.start_s = timestamp_s
    self.duration_s += duration
    bin_index = int(math.floor((timestamp_s - self.start_s) / self.base_bin_s + 1e-9))
    frame_bin = self.frame_bins.setdefault(bin_index, [0.0, 0])
    frame_bin[0] += duration
    frame_bin[1] += 1
    for track_id, label, probs, face_px in rows:
      student = self.students.get(track_id)
      if student is None:
        student = self.students[track_id] = StudentTotals(self.num_classes, timestamp_s)
      student.add(bin_index, label, probs, duration, timestamp_s, face_px)
