"""Tracker output against classroom ground truth: CLEAR-MOT and identity metrics.

    predictions = [scoring.tracks(result.faces) for result in results]  # (id, box) pairs
    score = scoring.score(truths, predictions)   # truths: from ferjax.synthetic.classroom
    score.recall, score.idf1, score.mota, score.id_switches
    score.precision, score.false_tracks_per_minute, score.false_tracks_by_kind

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

Precision is against the people's faces only (the students', and the
teacher's unless excluded): a box on a distractor of the ground truth
(`truth["distractors"]`: bags, hands, papers, pencil cases, printed faces) is
a false positive like a box on the wall. Printed faces (a poster's) are faces
but not people: never counted, so not finding them is no miss, and never
don't care, so a box on one is a false positive.

False tracks: a reported track id is false when, in at least half
(FALSE_TRACK_SHARE) of the frames it is reported in, its box is on no
person's face (IoU below `iou_threshold` with every student's and the
teacher's face, hidden or tiny ones included, and neither box mostly inside
the other, so that a loose box on a bowed head or a box on a hand over a face
is on the face; see `places`). Each false track is put down to what it mostly
lay on in those frames: a distractor's kind (the box lies on a distractor when
at least half of the smaller of the two boxes lies in the other, or their IoU
reaches `iou_threshold`; printed faces are the kind "printed_face"), else
"other" (a shirt, a desk, the wall).
`tracks_on_distractors` counts the false tracks put down to any distractor,
printed faces included; `false_tracks_per_minute` divides all false tracks by
the video's length (from the frames' `time_s`).
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
FALSE_TRACK_SHARE = 0.5  # Least share of a track's frames off every face to be false.
PERSON, OTHER = "person", "other"
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
  precision: float             # kept reported boxes that match a counted person's face
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
  minutes: float               # the video's length (NaN for a single frame)
  false_tracks: int            # track ids mostly on no person's face
  # False tracks by what they mostly lay on: each distractor kind of the
  # ground truth ("bag", "hand", "paper", "pencil_case", "printed_face") and "other".
  false_tracks_by_kind: dict[str, int]
  tracks_on_distractors: int   # false tracks put down to a distractor (any kind)

  @property
  def ids_per_person(self) -> float:
    return self.distinct_ids / self.people if self.people else float("nan")

  @property
  def false_tracks_per_minute(self) -> float:
    return self.false_tracks / self.minutes if self.minutes > 0 else float("nan")

  @property
  def tracks_on_printed_faces(self) -> int:
    return self.false_tracks_by_kind.get("printed_face", 0)

  def as_dict(self) -> dict[str, Any]:
    row = dataclasses.asdict(self)
    row["ids_per_person"] = self.ids_per_person
    row["false_tracks_per_minute"] = self.false_tracks_per_minute
    row["tracks_on_printed_faces"] = self.tracks_on_printed_faces
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


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Pairwise IoU, and share of the smaller box inside the other, of (n, 4) and
  (m, 4) boxes -> two (n, m)."""
  x0 = np.maximum(a[:, None, 0], b[None, :, 0])
  y0 = np.maximum(a[:, None, 1], b[None, :, 1])
  x1 = np.minimum(a[:, None, 2], b[None, :, 2])
  y1 = np.minimum(a[:, None, 3], b[None, :, 3])
  inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
  area_a = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
  area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
  return (inter / np.maximum(area_a + area_b - inter, 1e-9),
          inter / np.maximum(np.minimum(area_a, area_b), 1e-9))


def places(truth: dict, boxes: Sequence[Box], iou_threshold: float = IOU_THRESHOLD
           ) -> list[str]:
  """What each box lies on in one frame: PERSON, a distractor's kind, or OTHER.

  PERSON when its IoU with a student's or the teacher's face (hidden and tiny
  ones too) reaches iou_threshold, or the smaller of the box and the face lies
  in the other for at least half (a loose box on a bowed head, a box on a hand
  over a face); else a visible distractor's kind when the same holds for it
  (the distractor with the most inside, then the highest IoU); else OTHER.
  """
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  result = [OTHER] * len(boxes)
  if not len(boxes):
    return result
  people = np.asarray([f["box"] for f, _ in people_of(truth)], np.float64).reshape(-1, 4)
  on_person = np.zeros(len(boxes), bool)
  if len(people):
    overlap, cover = _overlaps(people, boxes)
    on_person = (overlap.max(axis=0) >= iou_threshold) | (cover.max(axis=0) >= 0.5)
  shown = [d for d in truth.get("distractors", ()) if d.get("visible", True)]
  props = np.asarray([d["box"] for d in shown], np.float64).reshape(-1, 4)
  overlap, cover = _overlaps(props, boxes)
  for j in range(len(boxes)):
    if on_person[j]:
      result[j] = PERSON
    elif len(shown) and (cover[:, j].max() >= 0.5 or overlap[:, j].max() >= iou_threshold):
      result[j] = shown[int(np.lexsort((overlap[:, j], cover[:, j]))[-1])]["kind"]
  return result


def _false_tracks(truths: Sequence[dict], predictions: Sequence[Sequence[Hypothesis]],
                  iou_threshold: float) -> dict[str, int]:
  """False tracks by what they mostly lay on (distractor kinds and OTHER)."""
  seen: dict[int, list[str]] = collections.defaultdict(list)
  for truth, hypotheses in zip(truths, predictions):
    for (track, _), place in zip(hypotheses, places(truth, [b for _, b in hypotheses],
                                                    iou_threshold)):
      seen[int(track)].append(place)
  kinds = {d["kind"] for t in truths for d in t.get("distractors", ())}
  counts = {kind: 0 for kind in sorted(kinds) + [OTHER]}
  for track_places in seen.values():
    away = [p for p in track_places if p != PERSON]
    if len(away) >= FALSE_TRACK_SHARE * len(track_places):
      counts[collections.Counter(away).most_common(1)[0][0]] += 1
  return counts


def _minutes(truths: Sequence[dict]) -> float:
  """The video's length: the span of its `time_s` plus one mean frame interval."""
  if len(truths) < 2:
    return float("nan")
  span = truths[-1]["time_s"] - truths[0]["time_s"]
  return span * len(truths) / (len(truths) - 1) / 60 if span > 0 else float("nan")


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
  false_tracks = _false_tracks(truths, predictions, iou_threshold)
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
      recall_by_state=_recall_by_state(accumulator, truths, min_size, include_teacher),
      minutes=_minutes(truths), false_tracks=sum(false_tracks.values()),
      false_tracks_by_kind=false_tracks,
      tracks_on_distractors=sum(n for kind, n in false_tracks.items() if kind != OTHER))


def emotions(truths: Sequence[dict], reported: Sequence[Sequence[tuple[Box, str]]], *,
             min_size: float = MIN_SIZE, iou_threshold: float = IOU_THRESHOLD
             ) -> dict[str, float]:
  """How the reported emotions of the counted faces compare with the faces' labels.

  `reported`: per frame, (box, label) of each reported face, the label a class
  name, "uncertain" or "too_small". Each counted face (a visible person's face of
  at least `min_size` px) is paired with the reported box of highest IoU, from
  `iou_threshold`. Returns "found" (counted faces paired), "read" (the share of
  them given an emotion) and "agree" (the share of those whose emotion is the
  face's own label: FER2013's original label of the pasted face, which a crowd
  of raters shares with its one annotator about two times in three).
  """
  found = read = agree = 0
  for truth, faces in zip(truths, reported):
    boxes = np.asarray([b for b, _ in faces], np.float64).reshape(-1, 4)
    for face, person in people_of(truth):
      if not len(boxes) or not _counts(face, person, min_size):
        continue
      overlap = geometry.iou(np.asarray([face["box"]], np.float64), boxes)[0]
      best = int(np.argmax(overlap))
      if overlap[best] < iou_threshold:
        continue
      found += 1
      label = faces[best][1]
      if label in ("uncertain", "too_small"):
        continue
      read += 1
      agree += label == face["emotion"]
  return {"found": found, "read": read / found if found else float("nan"),
          "agree": agree / read if read else float("nan")}
