"""Temperature scaling (Guo et al., 2017), a prior shift, and calibration error, in numpy.

An export stores the temperature fitted on validation data; the classifier applies it
to the model's softmax output, softmax(log p / T), which equals softmax(logits / T).
Argmax, hence accuracy, does not change; confidence then matches accuracy, so the
live tool's `uncertain` threshold means a known error rate.

A model may also store a per-class `bias` added to those logits: a prior shift
(logit adjustment, Menon et al., 2021), -strength * log(prior), which moves
decisions from the common emotions (neutral, happy) toward the rare ones (fear,
disgust), where a classifier trained on imbalanced faces under-reads them
(`benchmarks/class_balance.py` chooses the strength on validation data).
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def apply_temperature(probabilities: np.ndarray, temperature: float,
                      bias: np.ndarray | None = None) -> np.ndarray:
  """Softmax probabilities re-scaled by `temperature`, then each class's logit shifted
  by `bias` (softmax(log p / T + bias)); T = 1 and no bias leave them unchanged."""
  probabilities = np.asarray(probabilities, np.float32)
  if (temperature == 1.0 and bias is None) or len(probabilities) == 0:
    return probabilities
  logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
  if bias is not None:
    logits = logits + np.asarray(bias, np.float32)
  logits -= logits.max(axis=-1, keepdims=True)
  out = np.exp(logits)
  return (out / out.sum(axis=-1, keepdims=True)).astype(np.float32)


def prior_shift(prior: np.ndarray, strength: float) -> np.ndarray:
  """Per-class logit bias -strength * log(prior): 0 leaves decisions as trained, 1
  divides each class's odds by its share (a balanced-error decision rule)."""
  return -float(strength) * np.log(np.clip(np.asarray(prior, np.float64), 1e-6, 1.0))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray,
                            weights: np.ndarray | None = None) -> float:
  """Mean (or `weights`-weighted mean) cross-entropy of integer `labels` under softmax."""
  logits = logits - logits.max(axis=-1, keepdims=True)
  log_z = np.log(np.exp(logits).sum(axis=-1))
  return float(np.average(log_z - logits[np.arange(len(labels)), labels], weights=weights))


def fit_temperature(logits: np.ndarray, labels: np.ndarray,
                    weights: np.ndarray | None = None) -> float:
  """The temperature in [0.05, 20] that minimises the (weighted) NLL of `labels`."""
  import scipy.optimize  # pylint: disable=g-import-not-at-top  # Only for fitting.
  logits = np.asarray(logits, np.float64)
  labels = np.asarray(labels, np.int64)
  result = scipy.optimize.minimize_scalar(
      lambda log_t: negative_log_likelihood(logits / np.exp(log_t), labels, weights),
      bounds=(np.log(0.05), np.log(20.0)), method="bounded")
  return float(np.exp(result.x))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray,
                               bins: int = ECE_BINS) -> float:
  """ECE: |accuracy - confidence| averaged over equal-width confidence bins."""
  probabilities = np.asarray(probabilities)
  confidence = probabilities.max(axis=-1)
  correct = probabilities.argmax(axis=-1) == np.asarray(labels)
  edges = np.linspace(0.0, 1.0, bins + 1)
  which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
  error = 0.0
  for b in range(bins):
    inside = which == b
    if inside.any():
      error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
  return float(error)
