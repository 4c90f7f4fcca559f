"""Tests for ferjax.live.smoothing."""

import math

import numpy as np
import pytest

from ferjax.live import smoothing
from ferjax.labels import EMOTIONS

HAPPY = np.eye(7)[EMOTIONS.index("happy")]
SAD = np.eye(7)[EMOTIONS.index("sad")]


def _run(fps, seconds, smoother, track_id=1):
  """Happy for 1 s, then sad; returns the smoothed state at `seconds`."""
  result = None
  for i in range(int(round(seconds * fps)) + 1):
    t = i / fps
    result = smoother.update(track_id, HAPPY if t < 1.0 else SAD, t)
  return result


def test_first_observation_is_uncertain_until_min_age():
  smoother = smoothing.EmotionSmoother(EMOTIONS, min_age_s=0.5, threshold=0.4)
  first = smoother.update(7, HAPPY, 10.0)
  assert first.label == smoothing.UNCERTAIN and not first.confident
  np.testing.assert_allclose(first.probs, HAPPY)
  assert smoother.update(7, HAPPY, 10.4).label == smoothing.UNCERTAIN
  later = smoother.update(7, HAPPY, 10.5)
  assert later.label == "happy" and later.confident
  assert later.age_s == pytest.approx(0.5)


def test_ema_matches_closed_form():
  smoother = smoothing.EmotionSmoother(EMOTIONS, time_constant_s=2.0, min_age_s=0)
  smoother.update(1, HAPPY, 0.0)
  result = smoother.update(1, SAD, 1.0)
  alpha = 1 - math.exp(-1.0 / 2.0)
  np.testing.assert_allclose(result.probs, (1 - alpha) * HAPPY + alpha * SAD)


def test_same_behaviour_at_any_fps():
  sad = EMOTIONS.index("sad")
  for fps in (5, 60):
    result = _run(fps, 2.0, smoothing.EmotionSmoother(EMOTIONS, time_constant_s=0.5))
    # A sample stands for the interval since the previous one, so sad has
    # held since the last happy frame at 1 - 1/fps: the weight depends on
    # that time in seconds only, not on the number of frames.
    expected_sad = 1 - math.exp(-(2.0 - (1.0 - 1 / fps)) / 0.5)
    assert result.probs[sad] == pytest.approx(expected_sad, abs=1e-9), fps


def test_low_top_probability_is_uncertain():
  smoother = smoothing.EmotionSmoother(EMOTIONS, threshold=0.5, min_age_s=0)
  flat = np.full(7, 1 / 7)
  assert smoother.update(1, flat, 0.0).label == smoothing.UNCERTAIN
  # Alternating happy/sad averages to about 0.5/0.5: under the threshold.
  smoother = smoothing.EmotionSmoother(EMOTIONS, threshold=0.6, time_constant_s=1.0,
                                       min_age_s=0)
  for i in range(100):
    result = smoother.update(2, HAPPY if i % 2 else SAD, i / 30)
  assert result.label == smoothing.UNCERTAIN
  assert max(result.probs) < 0.6


def test_zero_time_constant_disables_smoothing():
  smoother = smoothing.EmotionSmoother(EMOTIONS, time_constant_s=0, min_age_s=0)
  smoother.update(1, HAPPY, 0.0)
  assert smoother.update(1, SAD, 0.1).label == "sad"


def test_tracks_are_independent_and_prunable():
  smoother = smoothing.EmotionSmoother(EMOTIONS, min_age_s=0)
  smoother.update(1, HAPPY, 0.0)
  smoother.update(2, SAD, 0.0)
  assert smoother.get(1).label == "happy"
  assert smoother.get(2).label == "sad"
  smoother.prune([2])
  assert 1 not in smoother and smoother.get(1) is None
  assert 2 in smoother
  smoother.forget(2)
  assert smoother.get(2) is None


def test_wrong_length_rejected():
  with pytest.raises(ValueError):
    smoothing.EmotionSmoother(EMOTIONS).update(1, [0.5, 0.5], 0.0)
