"""Classification metrics in plain numpy: confusion matrix, accuracy, F1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray,
                     num_classes: int) -> np.ndarray:
  """Counts (num_classes, num_classes): row = true class, column = predicted."""
  labels = np.asarray(labels, np.int64)
  predictions = np.asarray(predictions, np.int64)
  return np.bincount(labels * num_classes + predictions,
                     minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def classification_report(confusion: np.ndarray,
                          class_names: Sequence[str]) -> dict:
  """Accuracy, macro-F1 and per-class precision/recall/F1/support from counts.

  Macro-F1 averages over the classes that occur in the labels (support > 0).
  """
  confusion = np.asarray(confusion, np.float64)
  true_positives = np.diag(confusion)
  support = confusion.sum(axis=1)
  predicted = confusion.sum(axis=0)
  precision = _safe_divide(true_positives, predicted)
  recall = _safe_divide(true_positives, support)
  f1 = _safe_divide(2 * precision * recall, precision + recall)
  total = confusion.sum()
  present = support > 0
  return {
      "accuracy": float(true_positives.sum() / total) if total else 0.0,
      "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
      "per_class": {
          name: {"precision": float(precision[i]), "recall": float(recall[i]),
                 "f1": float(f1[i]), "support": int(support[i])}
          for i, name in enumerate(class_names)},
  }


def normalise_rows(confusion: np.ndarray) -> np.ndarray:
  """Each row divided by its sum (rows of absent classes stay zero)."""
  confusion = np.asarray(confusion, np.float64)
  return _safe_divide(confusion, confusion.sum(axis=1, keepdims=True))
