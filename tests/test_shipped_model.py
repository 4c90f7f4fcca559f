"""The model shipped in ferjax/pretrained/realtime: loads without JAX, and its stated accuracy holds."""

import os

import numpy as np
import pytest

from ferjax.evaluation import evaluator
from ferjax.inference import DEFAULT_MODEL_DIR as SHIPPED
from ferjax.inference import FACE_CHECK_MODEL_DIR as FACE_CHECK
from ferjax.inference import ExpressionClassifier, read_metadata
from ferjax.labels import EMOTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FER_DIR = os.path.join(ROOT, "..", "shared", "datasets", "fer2013")


def test_shipped_model_is_small_and_complete():
  meta = read_metadata(SHIPPED)
  assert meta["class_names"] == list(EMOTIONS)
  size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(SHIPPED) for f in fs)
  assert size < 28 << 20  # Two networks: three TFLite batch sizes and a float32 SavedModel.
  assert os.path.getsize(os.path.join(SHIPPED, "model.tflite")) < 6 << 20  # float16 weights
  assert meta["ensemble"] == len(meta["members"]) == 2
  assert meta["datasets"] == ["ferplus", "rafdb"] and meta["recipe"] == "experiments/realtime.py"
  assert 0.2 < meta["temperature"] < 5
  probabilities = ExpressionClassifier(SHIPPED).predict(np.zeros((3, 48, 48), np.uint8))
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_shipped_face_checker_is_one_network_with_a_face_output():
  meta = read_metadata(FACE_CHECK)
  assert meta["class_names"] == list(EMOTIONS) and "ensemble" not in meta
  assert meta["recipe"] == "experiments/realtime_single.py:hard"
  assert meta["datasets"] == ["ferplus", "rafdb", "nonface"]
  assert 0 < meta["face_output"]["threshold"] < 1 and meta["face_output"]["index"] == 7
  size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(FACE_CHECK)
             for f in fs)
  assert size < 13 << 20
  classifier = ExpressionClassifier(FACE_CHECK)
  rng = np.random.default_rng(0)
  probabilities, face = classifier.predict_with_face(rng.integers(0, 256, (4, 48, 48)))
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
  assert face.shape == (4,) and ((0 <= face) & (face <= 1)).all()


@pytest.mark.skipif(not os.path.isfile(os.path.join(FER_DIR, "fer2013new.csv")),
                    reason="real FER2013 archive and FER+ labels absent")
@pytest.mark.parametrize("model", [SHIPPED, FACE_CHECK])
def test_stated_ferplus_test_accuracy_is_reproduced(fer2013_npz, model):
  """The TFLite model (float16 weights) matches the test accuracy stated in its metadata."""
  report = evaluator.evaluate_model(ExpressionClassifier(model), "ferplus", "test",
                                    npz_path=fer2013_npz, progress=False)
  assert report["num_examples"] == 3137  # FER+ majority rows of PrivateTest, no contempt.
  assert report["accuracy"] == pytest.approx(read_metadata(model)["test_accuracy"],
                                             abs=2e-3)
  assert report["accuracy"] > 0.8
