"""Temperature scaling and expected calibration error."""

import json

import numpy as np

from ferjax import calibration
from ferjax.inference import ExpressionClassifier


def _overconfident(n=4000, seed=0):
  """Logits whose softmax is too confident: true class drawn from softmax(logits / 3)."""
  rng = np.random.default_rng(seed)
  logits = rng.normal(0, 3.0, (n, 7))
  scaled = np.exp(logits / 3.0)
  labels = np.array([rng.choice(7, p=p / p.sum()) for p in scaled])
  return logits, labels


def test_fit_recovers_the_temperature_and_lowers_ece():
  logits, labels = _overconfident()
  temperature = calibration.fit_temperature(logits, labels)
  assert 2.5 < temperature < 3.5
  probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  before = calibration.expected_calibration_error(probabilities, labels)
  after = calibration.expected_calibration_error(
      calibration.apply_temperature(probabilities, temperature), labels)
  assert before > 0.15 and after < 0.04


def test_temperature_keeps_the_argmax_and_sums_to_one():
  rng = np.random.default_rng(1)
  p = rng.dirichlet(np.ones(7), 50).astype(np.float32)
  q = calibration.apply_temperature(p, 2.0)
  np.testing.assert_array_equal(p.argmax(-1), q.argmax(-1))
  np.testing.assert_allclose(q.sum(-1), 1.0, atol=1e-5)
  assert (q.max(-1) <= p.max(-1) + 1e-6).all()  # T > 1 softens
  np.testing.assert_array_equal(calibration.apply_temperature(p, 1.0), p)


def test_ece_of_a_perfectly_calibrated_predictor_is_small():
  rng = np.random.default_rng(2)
  confidence = rng.uniform(0.3, 1.0, 20000)
  labels = np.where(rng.uniform(size=20000) < confidence, 0, 1)
  probabilities = np.stack([confidence, 1 - confidence], 1)
  assert calibration.expected_calibration_error(probabilities, labels) < 0.02
  wrong = np.stack([1 - confidence, confidence], 1)  # Confident and mostly wrong.
  assert calibration.expected_calibration_error(wrong, labels) > 0.3


def test_export_stores_a_temperature_the_classifier_applies(exported_model_dir):
  with open(f"{exported_model_dir}/metadata.json") as f:
    meta = json.load(f)
  assert meta["calibration"]["fitted_on"] == ["synthetic"]
  assert meta["calibration"]["split"] == "validation"
  assert meta["temperature"] == meta["calibration"]["temperature"] > 0
  classifier = ExpressionClassifier(exported_model_dir)
  faces = np.random.default_rng(3).integers(0, 256, (5, 48, 48)).astype(np.float32)
  raw = classifier.predict(faces, calibrated=False)
  np.testing.assert_allclose(classifier.predict(faces),
                             calibration.apply_temperature(raw, meta["temperature"]),
                             atol=1e-6)
