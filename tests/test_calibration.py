"""Temperature scaling and expected calibration error."""

import json
import shutil

import numpy as np
import pytest

from ferjax import calibration
from ferjax import inference
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


def test_a_prior_shift_moves_decisions_to_the_rare_class():
  """Two classes, the first nine times as common: scores that favour it slightly go to
  the rare class once the shift divides each class's odds by its share."""
  prior = np.array([0.9, 0.1])
  bias = calibration.prior_shift(prior, 1.0)
  np.testing.assert_allclose(bias, -np.log(prior))
  np.testing.assert_array_equal(calibration.prior_shift(prior, 0.0), [0.0, 0.0])
  p = np.array([[0.6, 0.4], [0.95, 0.05], [0.3, 0.7]], np.float32)
  shifted = calibration.apply_temperature(p, 1.0, bias)
  assert shifted.argmax(-1).tolist() == [1, 0, 1]
  np.testing.assert_allclose(shifted.sum(-1), 1.0, atol=1e-6)
  # softmax(log p / T + bias) with both at once.
  expected = np.exp(np.log(p) / 2.0 + bias)
  np.testing.assert_allclose(calibration.apply_temperature(p, 2.0, bias),
                             expected / expected.sum(-1, keepdims=True), atol=1e-6)


def test_the_classifier_applies_a_stored_class_bias(exported_model_dir, tmp_path):
  """An export whose metadata holds a class_bias: predict() adds it after the temperature,
  predict(calibrated=False) stays raw; a bias of the wrong length is a ModelError."""
  model = tmp_path / "model"
  shutil.copytree(exported_model_dir, model)
  meta = json.loads((model / "metadata.json").read_text())
  bias = np.linspace(-1.0, 1.0, len(meta["class_names"])).round(3)
  meta["class_bias"] = {"bias": bias.tolist(), "strength": 0.5}
  (model / "metadata.json").write_text(json.dumps(meta))
  classifier = ExpressionClassifier(model)
  faces = np.random.default_rng(4).integers(0, 256, (6, 48, 48)).astype(np.float32)
  raw = classifier.predict(faces, calibrated=False)
  np.testing.assert_allclose(
      classifier.predict(faces),
      calibration.apply_temperature(raw, meta["temperature"], bias), atol=1e-5)
  assert not np.allclose(classifier.predict(faces),
                         calibration.apply_temperature(raw, meta["temperature"]), atol=1e-3)
  meta["class_bias"]["bias"] = [0.0, 1.0]
  (model / "metadata.json").write_text(json.dumps(meta))
  with pytest.raises(inference.ModelError, match="class_bias"):
    ExpressionClassifier(model)
