"""summary.json of a session, built from its `SessionTotals`.

summary.json schema (version 3; times in seconds on the caller's timestamp
scale, probabilities and shares in [0, 1], rounded to 6 decimals). The session
report (`ferjax.live.report`) shows only what is here.

  {
    "schema_version": 3,
    "session": {
      "analysed_at": str,         # ISO 8601 wall-clock time the analysis started
      "recording": {              # what was analysed, as a teacher names it
        "name": str,              # file or folder name, "camera 0", "demo"
        "kind": str,              # camera | video | frames | photos | demo
        "started_at": str | null, # ISO 8601 local time the recording started ...
        "ended_at": str | null,   # ... and ended (one known: the other from duration)
        "time_basis": str | null  # where those times come from (null: unknown)
      },
      "photos": bool,             # unrelated photos: "students" are faces, no time
      "start_s": float,           # timestamp of the first logged frame
      "end_s": float,             # start_s + duration_s
      "duration_s": float,        # sum of frame durations
      "frames": int,              # logged frames
      "fps": float | null,        # frames / duration_s
      "source": str, "model": str,    # as given (paths)
      "model_name": str,          # the model's folder name and version
      "class_names": [str],       # the emotions, in probability order
      "bin_seconds": float,       # width of every timeline bin
      "min_seconds_visible": float,   # as asked, but at most half the session: a short
                                  # clip still lists the students it saw
      "too_small_px": float | null,   # faces under this crop side are "too_small"
      "tracks_dropped": int,      # tracks seen less than min_seconds_visible: not listed,
                                  # not in the class figures
      "not_faces": {              # detections not reported: not verified as faces
        "rejected_detections": int,   # summed over frames
        "rejected_tracks": int, "seat_returns": int,   # (from the live pipeline:)
        "still_tracks": int,      # faces never shown: they never moved (pictures)
        "pictures": [int],        # ids found at the start that never moved: not students
        "face_threshold": float | null, "verified_by": str
      },
      "images_stored": false,     # no face images are ever written
      "files": {name: relative path}
    },
    "class": {
      "student_seconds": float,   # visible seconds summed over students
      "emotion_share": {label: float},     # class_names + "uncertain" + "too_small"; sums to 1
      "dominant_emotion": str,    # never too_small or uncertain while an emotion was read
      "in_words": {"mood": str, "unreadable": str},   # ferjax.live.wording
      "mean_probabilities": {emotion: float} | null,   # time-weighted raw mean
      "timeline": [               # every bin from the session start
        {"bin": int, "start_s": float, "end_s": float,
         "students_seen": int,    # distinct students visible in the bin
         "mean_students": float,  # student-seconds / bin seconds
         "dominant": str | null,
         "share": {label: float} | null,   # of the students' visible time in the bin
                                  # (as emotion_share); null: nobody visible
         "mean_probabilities": {emotion: float} | null}
      ]
    },
    "students": [                 # sorted by id
      {"id": int,
       "seconds_visible": float, "frames_visible": int,
       "first_seen_s": float, "last_seen_s": float,
       "emotion_share": {label: float},
       "dominant_emotion": str,
       "dominant_state": str,     # label with the most time, uncertain and too_small
                                  # included
       "mean_probabilities": {emotion: float} | null,   # null: always too small
       "face_px": float | null,   # mean face crop side in pixels (null: not logged)
       "timeline": [              # only bins where the student was visible
         {"bin": int, "start_s": float, "seconds": float, "dominant": str,
          "state": str,           # as dominant_state, in the bin
          "mean_probabilities": {emotion: float}}
       ]}
    ],
    "photos": [                   # photo sessions only, in the order analysed
      {"index": int, "name": str, "faces": int, "labels": {label: int}}
    ]
  }

Interruption. `close()` is idempotent and returns the summary. Called while
`log()` is running (e.g. from a signal handler), it is deferred to the end of
that `log()`, which runs even when the handler raises.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ferjax.live import wording
from ferjax.live.smoothing import UNCERTAIN
from ferjax.live.time_totals import (SessionTotals, StudentTotals, Totals, choose_bin_seconds,
                                     session_labels)

SCHEMA_VERSION = 3


@dataclasses.dataclass(frozen=True)
class SessionInfo:
  """What the summary says about the session beyond the totals."""
  class_names: tuple[str, ...]
  analysed_at: str
  frames: int
  source: str = ""
  model: str = ""
  model_name: str = ""
  recording: Mapping[str, Any] | None = None  # name, kind, started_at, ended_at, time_basis
  photos: Sequence[Mapping[str, Any]] | None = None  # Photo sessions: one row per photo.
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


def _dominant_state(info: SessionInfo, totals: Totals) -> str:
  """The label with the most time, uncertain and too_small included."""
  share = totals.share()
  return info.labels[int(share.argmax())] if share.max() > 0 else UNCERTAIN


def _recording(info: SessionInfo, duration: float) -> dict[str, Any]:
  """The recording's facts, its start or end filled in from the other and the duration."""
  facts = {"name": "", "kind": "video", "started_at": None, "ended_at": None,
           "time_basis": None}
  facts.update(info.recording or {})
  shift = datetime.timedelta(seconds=round(duration))
  if facts["started_at"] and not facts["ended_at"]:
    ended = datetime.datetime.fromisoformat(facts["started_at"]) + shift
    facts["ended_at"] = ended.isoformat(timespec="seconds")
  elif facts["ended_at"] and not facts["started_at"]:
    started = datetime.datetime.fromisoformat(facts["ended_at"]) - shift
    facts["started_at"] = started.isoformat(timespec="seconds")
  return facts


def _student(info: SessionInfo, track_id: int, student: StudentTotals,
             bins: Mapping[int, Totals], start: float, bin_s: float) -> dict[str, Any]:
  timeline = [{"bin": index, "start_s": _round(start + index * bin_s),
               "seconds": _round(bins[index].seconds),
               "dominant": bins[index].dominant(info.labels),
               "state": _dominant_state(info, bins[index]),
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
      "dominant_state": _dominant_state(info, student.total),
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
        "share": _share_dict(info, acc) if acc.frames else None,
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

  min_visible = min(info.min_seconds_visible, duration / 2)
  pictures = set((info.not_faces or {}).get("pictures", ()))
  shown = {i: s for i, s in totals.students.items() if i not in pictures}
  kept = {i: s for i, s in sorted(shown.items()) if s.total.seconds >= min_visible}
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

  timeline = _class_timeline(info, totals, class_bins, class_seen, factor, start, bin_s)
  share = _share_dict(info, class_total)
  photos = info.photos is not None
  if photos:
    mood = wording.photos_sentence(info.class_names, info.photos)
  else:
    mood = wording.mood_sentence(info.class_names, share, timeline, start)
  summary = {
      "schema_version": SCHEMA_VERSION,
      "session": {
          "analysed_at": info.analysed_at,
          "recording": _recording(info, duration),
          "photos": photos,
          "start_s": _round(start),
          "end_s": _round(start + duration),
          "duration_s": _round(duration),
          "frames": info.frames,
          "fps": _round(info.frames / duration) if duration > 0 else None,
          "source": info.source,
          "model": info.model,
          "model_name": info.model_name,
          "class_names": list(info.class_names),
          "bin_seconds": bin_s,
          "min_seconds_visible": _round(min_visible),
          "too_small_px": info.too_small_px,
          "tracks_dropped": len(shown) - len(kept),
          "not_faces": dict(info.not_faces or {}),
          "images_stored": False,
          "files": dict(files or {}),
      },
      "class": {
          "student_seconds": _round(class_total.seconds),
          "emotion_share": share,
          "dominant_emotion": class_total.dominant(info.labels) or UNCERTAIN,
          "in_words": {"mood": mood,
                       "unreadable": wording.unreadable_sentence(share, photos)},
          "mean_probabilities": _probs_dict(info, class_total.mean_probs()),
          "timeline": timeline,
      },
      "students": students,
  }
  if photos:
    summary["photos"] = [dict(row) for row in info.photos]
  return summary
