"""Tracker settings on a simulated seated class: ID switches, fragmentation, coverage.

    python -m benchmarks.tracker_settings                 # all settings, 3 seeds
    python -m benchmarks.tracker_settings --seconds 120 --seeds 5

No video and no detector: the detections are simulated as a classroom camera
gives them at 640x352. Fifteen students sit in three rows (faces 25, 18 and
12 px, 100, 75 and 50 px apart, divided by --crowding) and sway a few pixels;
every box edge jitters by --jitter px (std); each student has a typical
detector score (0.25-0.65: about 11 of 15 faces score >= 0.35, 6 >= 0.5) that
varies from round to round; now and then a student looks down for 2-5 s,
when the face box slides down and shrinks, the score drops by 0.25 and half
the detections are missing; about one stray detection a round (hands, bags)
scores 0.2-0.45, one in ten of them 0.5-0.6. The detector runs every
`detect_every` frames with score threshold 0.2; the tracker predicts in
between, as in the live tool (min_hits=2, max_age = memory_s * fps).

Per setting, summed over the seeds:
  ids/student   distinct ids given to each student's detections (1.0 is ideal);
  switches      changes of a student's id between the rounds it got one;
  coverage      share of the rounds a student was detected (any score) in which
                its detection got an id, that is, it was shown;
  stray ids     ids whose detections were mostly stray ones (false tracks);
  shared ids    ids that fed two students' detections, each at least 5 times.
"""

from __future__ import annotations

import collections
import dataclasses

from absl import app
from absl import flags
import numpy as np

from ferjax.live import tracking

_SECONDS = flags.DEFINE_float("seconds", 60.0, "Length of each simulated lesson.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Simulated lessons per setting.")
_FPS = flags.DEFINE_float("fps", 20.0, "Frame rate.")
_DETECT_EVERY = flags.DEFINE_integer("detect_every", 3, "Detector runs every N frames.")
_JITTER = flags.DEFINE_float("jitter", 1.5, "Std of each box edge, px (clipped at 2x).")
_CROWDING = flags.DEFINE_float("crowding", 1.0, "Divides the distances between seats.")

DETECTOR_THRESHOLD = 0.2
STRAY = -1  # Truth label of a stray detection.


@dataclasses.dataclass
class Setting:
  name: str
  memory_s: float = 2.5  # The live tool's --memory_s.
  high_threshold: float = 0.5
  low_threshold: float = 0.25
  center_gate: float = 0.5
  same_face: float = 0.75  # tracking._SAME_FACE_DISTANCE; 0 turns those rules off.
  sort_noise: bool = False  # The fixed pixel noise of SORT instead of size-relative noise.


SETTINGS = [
    Setting("before: SORT noise, score >= 0.5 only, IoU gates", sort_noise=True,
            low_threshold=0.5, center_gate=0.0, same_face=0.0),
    Setting("+ low detections (two thresholds)", sort_noise=True, center_gate=0.0,
            same_face=0.0),
    Setting("+ size-relative Kalman noise", center_gate=0.0, same_face=0.0),
    Setting("+ same-face rules (0.75 face size)", center_gate=0.0),
    Setting("+ centre gate 0.5 (tracker defaults)"),
    Setting("defaults, centre gate 0.75", center_gate=0.75),
    Setting("defaults, low threshold 0.35", low_threshold=0.35),
    Setting("defaults, memory 4 s", memory_s=4.0),
    Setting("defaults, memory 6 s", memory_s=6.0),
    Setting("defaults, memory 10 s", memory_s=10.0),
    Setting("defaults, memory 6 s, no same-face rules", memory_s=6.0, same_face=0.0),
    Setting("defaults, memory 6 s, IoU gates only", memory_s=6.0, center_gate=0.0,
            same_face=0.0),
]


class SortNoiseFilter(tracking.BoxKalmanFilter):
  """The pixel noise of the SORT paper's filter, whatever the face size."""

  def __init__(self, box: np.ndarray):
    super().__init__(box)
    self.P = np.diag([10.0] * 4 + [10000.0] * 3)

  @property
  def R(self) -> np.ndarray:
    return np.diag([1.0, 1.0, 10.0, 10.0])

  @property
  def Q(self) -> np.ndarray:
    return np.diag([1.0] * 4 + [0.01, 0.01, 0.0001])


@dataclasses.dataclass(frozen=True)
class Lesson:
  seconds: float = 60.0
  fps: float = 20.0
  detect_every: int = 3
  jitter: float = 1.5  # Std of each box edge, px (clipped at 2x).
  crowding: float = 1.0  # 2: seats twice as close (faces 2 face sizes apart).


def simulate(rng: np.random.Generator, lesson: Lesson):
  """Yields (boxes, scores, truth) per frame, truth[i] a student index or STRAY.

  Frames without detection yield (None, None, None).
  """
  rows = ((270, 25, 100), (200, 18, 75), (145, 12, 50))  # (y, face size, spacing)
  seats = [(320 + (spacing * (k - 2) + 10 * rng.normal()) / lesson.crowding, y, size)
           for y, size, spacing in rows for k in range(5)]
  n = len(seats)
  mean_score = rng.uniform(0.25, 0.65, n)
  phase = rng.uniform(0, 2 * np.pi, (n, 2))
  down_until = np.zeros(n)
  jitter = lesson.jitter
  for frame in range(round(lesson.seconds * lesson.fps)):
    t = frame / lesson.fps
    if frame % lesson.detect_every:
      yield None, None, None
      continue
    boxes, scores, truth = [], [], []
    for i, (x, y, size) in enumerate(seats):
      if t >= down_until[i] and rng.random() < lesson.detect_every / lesson.fps / 20:
        down_until[i] = t + rng.uniform(2.0, 5.0)  # Looks down about every 20 s.
      down = t < down_until[i]
      cx = x + 3 * np.sin(0.3 * t + phase[i, 0])
      cy = y + 2 * np.sin(0.2 * t + phase[i, 1]) + (0.3 * size if down else 0)
      h = size * (0.8 if down else 1.0)
      score = mean_score[i] + rng.normal(0, 0.1) - (0.25 if down else 0)
      if (down and rng.random() < 0.5) or score < DETECTOR_THRESHOLD:
        continue
      box = np.array([cx - size / 2, cy - h / 2, cx + size / 2, cy + h / 2])
      boxes.append(box + np.clip(rng.normal(0, jitter, 4), -2 * jitter, 2 * jitter))
      scores.append(min(score, 0.99))
      truth.append(i)
    for _ in range(rng.poisson(1.0)):
      size = rng.uniform(12, 25)
      cx, cy = rng.uniform(40, 600), rng.uniform(60, 330)
      boxes.append(np.array([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]))
      scores.append(rng.uniform(0.5, 0.6) if rng.random() < 0.1
                    else rng.uniform(DETECTOR_THRESHOLD, 0.45))
      truth.append(STRAY)
    yield np.array(boxes).reshape(-1, 4), np.array(scores), truth


def evaluate(setting: Setting, lesson: Lesson, seeds: int) -> dict[str, float]:
  """Runs the setting on `seeds` simulated lessons; returns the summed metrics."""
  # pylint: disable=protected-access
  original = tracking.BoxKalmanFilter, tracking._SAME_FACE_DISTANCE
  if setting.sort_noise:
    tracking.BoxKalmanFilter = SortNoiseFilter
  tracking._SAME_FACE_DISTANCE = setting.same_face
  try:
    totals = collections.Counter()
    for seed in range(seeds):
      totals.update(_one_lesson(setting, lesson, np.random.default_rng(seed)))
  finally:
    tracking.BoxKalmanFilter, tracking._SAME_FACE_DISTANCE = original
  return {"ids/student": totals["ids"] / totals["students"],
          "switches": totals["switches"],
          "coverage": totals["shown"] / totals["detected"],
          "stray ids": totals["stray_ids"], "shared ids": totals["shared_ids"]}


def _one_lesson(setting: Setting, lesson: Lesson, rng: np.random.Generator
                ) -> collections.Counter:
  tracker = tracking.Tracker(max_age=max(1, round(setting.memory_s * lesson.fps)),
                             min_hits=2, high_threshold=setting.high_threshold,
                             low_threshold=setting.low_threshold,
                             center_gate=setting.center_gate)
  ids_of = collections.defaultdict(list)  # Student -> ids, round by round.
  votes = collections.defaultdict(collections.Counter)  # Id -> truth labels.
  counts = collections.Counter()
  for boxes, scores, truth in simulate(rng, lesson):
    if boxes is None:
      tracker.predict_only()
      continue
    tracker.update(boxes, scores)
    for label, track_id in zip(truth, tracker.detection_ids):
      if label != STRAY:
        counts["detected"] += 1
      if track_id < 0:
        continue
      votes[track_id][label] += 1
      if label != STRAY:
        counts["shown"] += 1
        ids_of[label].append(int(track_id))
  counts["students"] = len(ids_of)
  counts["ids"] = sum(len(set(ids)) for ids in ids_of.values())
  counts["switches"] = sum(int(np.count_nonzero(np.diff(ids))) for ids in ids_of.values())
  counts["stray_ids"] = sum(v.most_common(1)[0][0] == STRAY for v in votes.values())
  counts["shared_ids"] = sum(sum(n >= 5 for label, n in v.items() if label != STRAY) > 1
                             for v in votes.values())
  return counts


def main(argv):
  del argv
  lesson = Lesson(_SECONDS.value, _FPS.value, _DETECT_EVERY.value, _JITTER.value,
                  _CROWDING.value)
  print(f"{_SEEDS.value} lessons of {lesson.seconds:.0f} s at {lesson.fps:.0f} fps, "
        f"detector every {lesson.detect_every} frames, edge jitter {lesson.jitter} px, "
        f"15 students, crowding {lesson.crowding}")
  print(f"{'setting':50s} {'ids/student':>11s} {'switches':>8s} {'coverage':>8s} "
        f"{'stray ids':>9s} {'shared ids':>10s}")
  for setting in SETTINGS:
    m = evaluate(setting, lesson, _SEEDS.value)
    print(f"{setting.name:50s} {m['ids/student']:11.2f} {m['switches']:8d} "
          f"{m['coverage']:8.1%} {m['stray ids']:9d} {m['shared ids']:10d}")


if __name__ == "__main__":
  app.run(main)
