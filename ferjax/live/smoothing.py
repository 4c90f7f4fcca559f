"""Per-track temporal smoothing of emotion probabilities.

Each track keeps an exponential moving average (EMA) of its probability
vectors. The weight of a new observation depends on the time since the last
one, `alpha = 1 - exp(-dt / time_constant_s)`, so the average forgets at the
same rate in seconds whatever the frame rate, and a skipped frame counts as
the time it took. The smoothed label is `UNCERTAIN` while the track is younger
than `min_age_s` or when the top smoothed probability is under `threshold`.

    smoother = EmotionSmoother(EMOTIONS, time_constant_s=1.0, threshold=0.4)
    result = smoother.update(track_id, probs, timestamp_s)
    result.label, result.probs, result.confident
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import dataclasses
import math

import numpy as np

UNCERTAIN = "uncertain"


@dataclasses.dataclass(frozen=True)
class Smoothed:
  """Smoothed state of one track.

  Attributes:
    label: argmax class name, or UNCERTAIN.
    probs: float (num_classes,) smoothed probabilities (sum to 1).
    confident: False when `label` is UNCERTAIN.
    age_s: seconds since the track's first observation.
  """
  label: str
  probs: np.ndarray
  confident: bool
  age_s: float


@dataclasses.dataclass
class _State:
  probs: np.ndarray
  first_s: float
  last_s: float


class EmotionSmoother:
  """EMA of probabilities per track id, with a low-confidence state."""

  def __init__(self, class_names: Sequence[str], time_constant_s: float = 1.0,
               threshold: float = 0.4, min_age_s: float = 0.5):
    """Creates a smoother.

    Args:
      class_names: names of the probability entries, in order.
      time_constant_s: EMA time constant; 0 disables smoothing.
      threshold: smallest top smoothed probability for a confident label.
      min_age_s: a track is UNCERTAIN until it has been observed this long.
    """
    if time_constant_s < 0:
      raise ValueError(f"time_constant_s must be >= 0, got {time_constant_s}")
    self.class_names = tuple(class_names)
    self.time_constant_s = time_constant_s
    self.threshold = threshold
    self.min_age_s = min_age_s
    self._states: dict[int, _State] = {}

  def __contains__(self, track_id: int) -> bool:
    return track_id in self._states

  def update(self, track_id: int, probs: Sequence[float],
             timestamp_s: float) -> Smoothed:
    """Folds one probability vector observed at `timestamp_s` into a track."""
    probs = np.asarray(probs, np.float64).reshape(-1)
    if probs.shape != (len(self.class_names),):
      raise ValueError(f"expected {len(self.class_names)} probabilities, got {probs.shape}")
    state = self._states.get(track_id)
    if state is None:
      state = _State(probs=probs.copy(), first_s=timestamp_s, last_s=timestamp_s)
      self._states[track_id] = state
    else:
      dt = max(timestamp_s - state.last_s, 0.0)
      alpha = 1.0 if self.time_constant_s == 0 else -math.expm1(-dt / self.time_constant_s)
      state.probs = (1.0 - alpha) * state.probs + alpha * probs
      state.last_s = max(timestamp_s, state.last_s)
    return self._result(state, timestamp_s)

  def get(self, track_id: int, timestamp_s: float | None = None) -> Smoothed | None:
    """Current state of a track without a new observation (None if unknown)."""
    state = self._states.get(track_id)
    if state is None:
      return None
    return self._result(state, state.last_s if timestamp_s is None else timestamp_s)

  def label_of(self, probs: Sequence[float]) -> str:
    """The label of one unsmoothed observation (a still photo): argmax or UNCERTAIN."""
    probs = np.asarray(probs, np.float64).reshape(-1)
    top = int(np.argmax(probs))
    return self.class_names[top] if probs[top] >= self.threshold else UNCERTAIN

  def forget(self, track_id: int) -> None:
    self._states.pop(track_id, None)

  def prune(self, active_ids: Iterable[int]) -> None:
    """Drops the state of every track not in `active_ids`."""
    keep = set(active_ids)
    for track_id in [i for i in self._states if i not in keep]:
      del self._states[track_id]

  def _result(self, state: _State, now_s: float) -> Smoothed:
    probs = state.probs / max(float(state.probs.sum()), 1e-12)
    age = max(now_s - state.first_s, 0.0)
    top = int(np.argmax(probs))
    confident = age >= self.min_age_s and probs[top] >= self.threshold
    return Smoothed(label=self.class_names[top] if confident else UNCERTAIN,
                    probs=probs, confident=bool(confident), age_s=age)
