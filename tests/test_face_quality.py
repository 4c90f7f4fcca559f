"""The too-small face size taken from a model's accuracy-vs-face-size curve."""

import pytest

from ferjax.live import face_quality


def _metadata(points):
  return {"face_size_accuracy": {"dataset": "ferplus", "split": "validation",
                                 "accuracy": {str(px): acc for px, acc in points.items()}}}


def test_limit_is_interpolated_where_the_model_keeps_85_percent():
  metadata = _metadata({48: 0.80, 24: 0.78, 16: 0.72, 12: 0.60})
  # Goal 0.68 lies between 12 px (0.60) and 16 px (0.72): two thirds of the way.
  assert face_quality.reliable_face_px(metadata) == pytest.approx(12 + 4 * 8 / 12)


def test_a_dip_above_the_goal_size_sets_the_limit_at_the_last_crossing():
  metadata = _metadata({48: 0.80, 32: 0.66, 24: 0.75, 12: 0.70})
  assert face_quality.reliable_face_px(metadata) == pytest.approx(32 + 16 * 0.02 / 0.14)


def test_every_size_good_enough_means_the_smallest_measured():
  assert face_quality.reliable_face_px(_metadata({48: 0.8, 12: 0.79})) == 12


@pytest.mark.parametrize("metadata", [{}, {"face_size_accuracy": None},
                                      _metadata({48: 0.8})])
def test_no_curve_no_limit(metadata):
  assert face_quality.reliable_face_px(metadata) is None
