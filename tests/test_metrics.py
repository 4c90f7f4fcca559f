"""Classification metrics against hand-computed values."""

import numpy as np

from ferjax.evaluation import metrics


def test_confusion_matrix_counts():
  confusion = metrics.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
  np.testing.assert_array_equal(confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_report_matches_hand_computation():
  confusion = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
  report = metrics.classification_report(confusion, ["a", "b", "c"])
  assert report["accuracy"] == 4 / 6
  a = report["per_class"]["a"]
  assert (a["precision"], a["recall"], a["support"]) == (0.5, 0.5, 2)
  b = report["per_class"]["b"]
  assert (b["precision"], b["recall"]) == (0.5, 1.0)
  assert abs(b["f1"] - 2 / 3) < 1e-12
  c = report["per_class"]["c"]
  assert (c["precision"], c["recall"]) == (1.0, 2 / 3)
  assert abs(report["macro_f1"] - np.mean([0.5, 2 / 3, 0.8])) < 1e-12


def test_absent_classes_do_not_count_in_macro_f1():
  confusion = np.array([[2, 0], [0, 0]])
  report = metrics.classification_report(confusion, ["a", "b"])
  assert report["macro_f1"] == 1.0 and report["per_class"]["b"]["support"] == 0
  np.testing.assert_array_equal(metrics.normalise_rows(confusion), [[1, 0], [0, 0]])
