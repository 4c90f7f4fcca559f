"""Tracker output against classroom ground truth: CLEAR-MOT and identity metrics.

    predictions = [scoring.tracks(result.faces) for result in results]  # (id, box) pairs
    score = scoring.score(truths, predictions)   # truths: from ferjax.synthetic.classroom
    score.recall, score.idf1, score.mota, score.id_switches

Matching (by `motmetrics`): a reported box matches a ground-truth face when their
IoU is at least `iou_threshold` (IOU_THRESHOLD = 0.4); the distance fed to
`MOTAccumulator.update` is 1 - IoU, NaN (no match) below the threshold. It is
computed here, since `motmetrics.distances.iou_matrix` calls `np.asfarray`,
which NumPy 2 removed. Why 0.4, not the usual 0.5: a ground-truth box is the
pasted FER2013 crop, which frames the face with a margin that grows, relative
to a detector's face box, with the face's size. On a realistic lesson
(seed 0), CenterFace's boxes on the frontal faces it found score a median IoU
of 0.73 at 12 px, 0.66 at 30 px and 0.47 at 42 px (the teacher), with a 5th
percentile of 0.44-0.63; at 0.4 every one of them matches, and a box on a
neighbour (faces sit at least 1.8 face widths apart) still does not.

Counted faces and "don't care" regions: a ground-truth face counts (a miss when
nothing matches it) when it is visible and its `size` is at least `min_size`
px (14 by default). Every other face (hidden behind someone, or too small) is a
don't-care region: a reported box whose IoU with such a face reaches
`iou_threshold`, and exceeds its IoU with every counted face, is dropped before
scoring, so finding a hidden or tiny face is neither a hit nor a false
positive, and missing it is no miss. The teacher's face (`truth["teacher"]`) is
a person like the students unless `include_teacher=False`, which makes it a
don't-care region too. `recall_all_visible` is the recall of every visible
face whatever its size (no size floor); `recall_by_state` splits the recall of
the counted faces by pose, partial occlusion and teacher.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
import dataclasses
from typing import Any

import motmetrics as mm
import numpy as np

from ferjax.faces import geometry

Box = geometry.Box
Hypothesis = tuple[int, Box]  # (track id, box)
IOU_THRESHOLD = 0.4
MIN_SIZE = 14.0
_METRICS = ("mota", "idf1", "idp", "idr", "num_switches", "recall", "precision",
            "num_detections", "num_misses", "num_false_positives", "num_objects")


@dataclasses.dataclass(frozen=True)
class Score:
  """Metrics of one tracked video (rates are NaN where undefined)."""
  frames: int
  mota: float
  idf1: float
  idp: float                   # identity precision
  idr: float                   # identity recall
  id_switches: int
  recall: float                # counted faces (visible, >= min_size px) matched
  recall_all_visible: float    # every visible face, whatever its size
  precision: float             # kept reported boxes that match a counted face
  matches: int
  misses: int
  false_positives: int
  objects: int                 # counted ground-truth faces over all frames
  ignored_hypotheses: int      # reported boxes dropped on don't-care faces
  distinct_ids: int            # track ids reported anywhere (dropped boxes included)
  students: int                # distinct student ids in the ground truth
  people: int                  # students, and the teacher if seen and counted
  min_size: float
  iou_threshold: float
  track_to_person: dict[int, int]  # each track id -> the person it matched most
  # Recall of the counted faces by state: their pose ("frontal", "down",
  # "turned"), "partly_hidden" (occluded_fraction >= 0.1) and "teacher".
  recall_by_state: dict[str, float]

  @property
  def ids_per_person(self) -> float:
    return self.distinct_ids / self.people if self.people else float("nan")

  def as_dict(self) -> dict[str, Any]:
    row = dataclasses.asdict(self)
    row["ids_per_person"] = self.ids_per_person
    return row


def tracks(faces: Sequence[Any]) -> list[Hypothesis]:
  """(track_id, box) of every face of a `FrameResult.faces`-like list."""
  return [(int(f.track_id), tuple(float(v) for v in f.box)) for f in faces]


def people_of(truth: dict, include_teacher: bool = True) -> list[tuple[dict, bool]]:
  """(face truth, is a person to score) of every face of one frame's ground truth."""
  faces = [(s, True) for s in truth["students"]]
  if truth.get("teacher"):
    faces.append((truth["teacher"], include_teacher))
  return faces


def _counts(face: dict, person: bool, min_size: float) -> bool:
  return person and face["visible"] and face.get("size", np.inf) >= min_size


def _split(truth: dict, min_size: float, include_teacher: bool
           ) -> tuple[list[int], np.ndarray, np.ndarray]:
  """Counted ids and boxes, and the boxes of the don't-care faces, of one frame."""
  counted_ids, counted, ignored = [], [], []
  for face, person in people_of(truth, include_teacher):
    if _counts(face, person, min_size):
      counted_ids.append(int(face["id"]))
      counted.append(face["box"])
    else:
      ignored.append(face["box"])
  return (counted_ids, np.asarray(counted, np.float64).reshape(-1, 4),
          np.asarray(ignored, np.float64).reshape(-1, 4))


def states(face: dict) -> list[str]:
  """The groups of `Score.recall_by_state` a face belongs to."""
  groups = [face.get("pose", "frontal")]
  if face.get("occluded_fraction", 0.0) >= 0.1:
    groups.append("partly_hidden")
  if face.get("teacher"):
    groups.append("teacher")
  return groups


def _recall_by_state(accumulator: mm.MOTAccumulator, truths: Sequence[dict],
                     min_size: float, include_teacher: bool) -> dict[str, float]:
  events = accumulator.mot_events.reset_index()
  matched = events[events.Type.isin(("MATCH", "SWITCH"))]
  found = set(zip(matched.FrameId.astype(int), matched.OId.astype(int)))
  hits: collections.Counter = collections.Counter()
  totals: collections.Counter = collections.Counter()
  for frame, truth in enumerate(truths):
    for face, person in people_of(truth, include_teacher):
      if _counts(face, person, min_size):
        for group in states(face):
          totals[group] += 1
          hits[group] += (frame, int(face["id"])) in found
  return {group: hits[group] / totals[group] for group in sorted(totals)}


def _accumulate(truths: Sequence[dict], predictions: Sequence[Sequence[Hypothesis]],
                min_size: float, iou_threshold: float, include_teacher: bool
                ) -> tuple[mm.MOTAccumulator, int]:
  """A filled accumulator and the number of reported boxes dropped as don't care."""
  accumulator = mm.MOTAccumulator(auto_id=True)
  dropped = 0
  for truth, hypotheses in zip(truths, predictions):
    ids, counted, ignored = _split(truth, min_size, include_teacher)
    boxes = np.asarray([b for _, b in hypotheses], np.float64).reshape(-1, 4)
    track_ids = np.asarray([int(i) for i, _ in hypotheses], np.int64)
    overlap = geometry.iou(counted, boxes)
    if len(ignored) and len(boxes):
      on_ignored = geometry.iou(ignored, boxes).max(axis=0)
      best_counted = overlap.max(axis=0) if len(counted) else np.zeros(len(boxes))
      keep = ~((on_ignored >= iou_threshold) & (on_ignored > best_counted))
      dropped += int((~keep).sum())
      boxes, track_ids, overlap = boxes[keep], track_ids[keep], overlap[:, keep]
    distances = np.where(overlap >= iou_threshold, 1.0 - overlap, np.nan)
    accumulator.update(ids, track_ids.tolist(), distances)
  return accumulator, dropped


def _majority(accumulator: mm.MOTAccumulator) -> dict[int, int]:
  """Each matched track id -> the person id it was matched to most often."""
  events = accumulator.mot_events
  matched = events[events.Type.isin(("MATCH", "SWITCH"))]
  votes: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
  for track, person in zip(matched.HId, matched.OId):
    votes[int(track)][int(person)] += 1
  return {t: c.most_common(1)[0][0] for t, c in sorted(votes.items())}


def score(truths: Sequence[dict], predictions: Sequence[Sequence[Hypothesis]], *,
          min_size: float = MIN_SIZE, iou_threshold: float = IOU_THRESHOLD,
          include_teacher: bool = True) -> Score:
  """Scores per-frame (track id, box) lists against the classroom ground truth.

  Args:
    truths: per-frame ground truth of `ferjax.synthetic.classroom`.
    predictions: per frame, the reported (track id, box x0 y0 x1 y1) pairs.
    min_size: faces smaller than this (their `size`, px) are don't-care regions.
    iou_threshold: least IoU of a match.
    include_teacher: score the teacher's face as a person (else: don't care).
  """
  if len(truths) != len(predictions):
    raise ValueError(f"{len(truths)} frames of ground truth but {len(predictions)} of "
                     "predictions")
  accumulator, dropped = _accumulate(truths, predictions, min_size, iou_threshold,
                                     include_teacher)
  everyone, _ = _accumulate(truths, predictions, 0.0, iou_threshold, include_teacher)
  host = mm.metrics.create()
  row = host.compute(accumulator, metrics=list(_METRICS), name="main").iloc[0]
  recall_all = host.compute(everyone, metrics=["recall"], name="all").iloc[0]["recall"]
  students = {int(s["id"]) for t in truths for s in t["students"]}
  teacher_seen = include_teacher and any(t.get("teacher") for t in truths)
  return Score(
      frames=len(truths), mota=float(row["mota"]), idf1=float(row["idf1"]),
      idp=float(row["idp"]), idr=float(row["idr"]), id_switches=int(row["num_switches"]),
      recall=float(row["recall"]), recall_all_visible=float(recall_all),
      precision=float(row["precision"]), matches=int(row["num_detections"]),
      misses=int(row["num_misses"]), false_positives=int(row["num_false_positives"]),
      objects=int(row["num_objects"]), ignored_hypotheses=dropped,
      distinct_ids=len({int(i) for frame in predictions for i, _ in frame}),
      students=len(students), people=len(students) + int(teacher_seen), min_size=float(min_size),
      iou_threshold=float(iou_threshold),
      track_to_person=_majority(accumulator),
      recall_by_state=_recall_by_state(accumulator, truths, min_size, include_teacher))
