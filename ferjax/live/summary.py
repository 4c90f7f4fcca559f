"""summary.json of a session, built from its `SessionTotals`.

summary.json schema (version 2; times in seconds on the caller's timestamp
scale, probabilities and shares in [0, 1], rounded to 6 decimals):

  {
    "schema_version": 2,
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
      "too_small_px": float | null,   # faces under this crop side are "too_small"
      "tracks_dropped": int,      # tracks seen less than min_seconds_visible
      "not_faces": {...},         # detections not reported: not verified as faces
                                  # (rejected_detections: per frame; rejected_tracks;
                                  # face_threshold; verified_by; seat_returns)
      "images_stored": false,     # no face images are ever written
      "files": {name: relative path}
    },
    "class": {
      "student_seconds": float,   # visible seconds summed over students
      "emotion_share": {label: float},     # class_names + "uncertain" + "too_small"; sums to 1
      "dominant_emotion": str,    # never too_small or uncertain while an emotion was read
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
       "mean_probabilities": {emotion: float} | null,   # null: always too small
       "face_px": float | null,   # mean face crop side in pixels (null: not logged)
       "timeline": [              # only bins where the student was visible
         {"bin": int, "start_s": float, "seconds": float, "dominant": str,
          "mean_probabilities": {emotion: float}}
       ]}
    ]
  }

Interruption. `close()` is idempotent and returns the summary. Called while
`log()` is running (e.g. from a signal handler), it is deferred to the end of
that `log()`, which runs even when the handler raises.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ferjax.live.smoothing import UNCERTAIN
from ferjax.live.time_totals import (SessionTotals, StudentTotals, Totals, choose_bin_seconds,
                                     session_labels)

SCHEMA_VERSION = 2


@dataclasses.dataclass(frozen=True)
class SessionInfo:
  """What the summary says about the session beyond the totals."""
  class_names: tuple[str, ...]
  started_at: str
  frames: int
  source: str = ""
  model: str = ""
  bin_seconds: float | None = None  # None: chosen from the duration.
  max_bins: int = 60
  min_seconds_visible: float = 0.0
  too_small_px: float | None = None
  not_faces: Mapping[str, Any] | None = None  # Detections not verified as faces.

  @property
  def labels(self) -> tuple[str, ...]:
    return session_labels(self.class_names)


def _round(x: float) -> float:
  return round(float(x), 6)


def _probs_dict(info: SessionInfo, probs: np.ndarray | None) -> dict[str, float] | None:
  if probs is None:
    return None
  return {name: _round(p) for name, p in zip(info.class_names, probs)}


def _share_dict(info: SessionInfo, totals: Totals) -> dict[str, float]:
  return {name: _round(s) for name, s in zip(info.labels, totals.share())}


def _merge_bins(bins: Mapping[int, Totals], factor: int, num_classes: int
                ) -> dict[int, Totals]:
  """Base bins merged `factor` at a time into the summary's bins."""
  merged: dict[int, Totals] = {}
  for base_index, totals in bins.items():
    merged.setdefault(base_index // factor, Totals(num_classes)).merge(totals)
  return merged


def _student(info: SessionInfo, track_id: int, student: StudentTotals,
             bins: Mapping[int, Totals], start: float, bin_s: float) -> dict[str, Any]:
  timeline = [{"bin": index, "start_s": _round(start + index * bin_s),
               "seconds": _round(bins[index].seconds),
               "dominant": bins[index].dominant(info.labels),
               "mean_probabilities": _probs_dict(info, bins[index].mean_probs())}
              for index in sorted(bins)]
  return {
      "id": track_id,
      "seconds_visible": _round(student.total.seconds),
      "frames_visible": student.total.frames,
      "first_seen_s": _round(student.first_s),
      "last_seen_s": _round(student.last_s),
      "emotion_share": _share_dict(info, student.total),
      "dominant_emotion": student.total.dominant(info.labels),
      "mean_probabilities": _probs_dict(info, student.total.mean_probs()),
      "face_px": None if student.face_px is None else _round(student.face_px),
      "timeline": timeline,
  }


def _class_timeline(info: SessionInfo, totals: SessionTotals, class_bins: Mapping[int, Totals],
                    class_seen: Mapping[int, int], factor: int, start: float,
                    bin_s: float) -> list[dict[str, Any]]:
  """Every bin from the session start: students seen, mean students, mood."""
  num_classes = len(info.class_names)
  frame_bins: dict[int, list[float]] = {}
  for base_index, (seconds, frames) in totals.frame_bins.items():
    merged = frame_bins.setdefault(base_index // factor, [0.0, 0])
    merged[0] += seconds
    merged[1] += frames
  timeline = []
  for index in range(max(frame_bins) + 1 if frame_bins else 0):
    acc = class_bins.get(index, Totals(num_classes))
    seconds, frames = frame_bins.get(index, [0.0, 0])
    if seconds > 0:
      mean_students = acc.seconds / seconds
    else:
      mean_students = acc.frames / frames if frames else 0.0
    timeline.append({
        "bin": index, "start_s": _round(start + index * bin_s),
        "end_s": _round(start + (index + 1) * bin_s),
        "students_seen": class_seen.get(index, 0),
        "mean_students": _round(mean_students),
        "dominant": acc.dominant(info.labels),
        "mean_probabilities": _probs_dict(info, acc.mean_probs()),
    })
  return timeline


def build_summary(info: SessionInfo, totals: SessionTotals,
                  files: Mapping[str, str] | None = None) -> dict[str, Any]:
  """The summary dict (schema above) of what `totals` holds so far."""
  num_classes = len(info.class_names)
  duration = totals.duration_s
  if info.bin_seconds:
    bin_s, factor = float(info.bin_seconds), 1
  else:
    bin_s = choose_bin_seconds(duration, info.max_bins)
    factor = int(round(bin_s / totals.base_bin_s))
  start = totals.start_s if totals.start_s is not None else 0.0

  kept = {i: s for i, s in sorted(totals.students.items())
          if s.total.seconds >= info.min_seconds_visible}
  students = []
  class_total = Totals(num_classes)
  class_bins: dict[int, Totals] = {}
  class_seen: dict[int, int] = {}
  for track_id, student in kept.items():
    class_total.merge(student.total)
    bins = _merge_bins(student.bins, factor, num_classes)
    for index, acc in bins.items():
      class_bins.setdefault(index, Totals(num_classes)).merge(acc)
      class_seen[index] = class_seen.get(index, 0) + 1
    students.append(_student(info, track_id, student, bins, start, bin_s))

  return {
      "schema_version": SCHEMA_VERSION,
      "session": {
          "started_at": info.started_at,
          "start_s": _round(start),
          "end_s": _round(start + duration),
          "duration_s": _round(duration),
          "frames": info.frames,
          "fps": _round(info.frames / duration) if duration > 0 else None,
          "source": info.source,
          "model": info.model,
          "class_names": list(info.class_names),
          "bin_seconds": bin_s,
          "min_seconds_visible": info.min_seconds_visible,
          "too_small_px": info.too_small_px,
          "tracks_dropped": len(totals.students) - len(kept),
          "not_faces": dict(info.not_faces or {}),
          "images_stored": False,
          "files": dict(files or {}),
      },
      "class": {
          "student_seconds": _round(class_total.seconds),
          "emotion_share": _share_dict(info, class_total),
          "dominant_emotion": class_total.dominant(info.labels) or UNCERTAIN,
          "mean_probabilities": _probs_dict(info, class_total.mean_probs()),
          "timeline": _class_timeline(info, totals, class_bins, class_seen, factor, start,
                                      bin_s),
      },
      "students": students,
  }
