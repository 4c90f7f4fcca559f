"""The "not a face" output: training targets, warm start, export, and the classifier's P(face)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ferjax import models
from ferjax.inference import ExpressionClassifier, read_metadata
from ferjax.labels import EMOTIONS
from ferjax.train import checkpoints
from ferjax.train import config_lib
from ferjax.train import export
from ferjax.train import input_pipeline
from ferjax.train import loop
from ferjax.train import steps
from tests import smoke_config

K = len(EMOTIONS)


def _faces(n, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 48, 48, 1)).astype(np.float32)


def test_face_output_probabilities_are_emotions_given_a_face_and_p_face():
  logits = jnp.asarray(np.random.default_rng(0).normal(size=(5, K + 1)) * 3, jnp.float32)
  out = np.asarray(export.face_output_probabilities(logits))
  full = np.asarray(jax.nn.softmax(logits, axis=-1))
  np.testing.assert_allclose(out[:, :K].sum(-1), 1.0, atol=1e-6)
  np.testing.assert_allclose(out[:, :K], full[:, :K] / full[:, :K].sum(-1, keepdims=True),
                             atol=1e-6)
  np.testing.assert_allclose(out[:, K], 1.0 - full[:, K], atol=1e-6)


@pytest.mark.slow(12)
def test_face_output_survives_export_to_tflite(tmp_path):
  """JAX, TFLite and the classifier agree on the emotions and on P(face)."""
  model = models.create_model("mini_xception", K + 1, rngs=nnx.Rngs(3))
  out = tmp_path / "model"
  export.export(model, out, face_output=True, tflite_batch=8, small_batches=(1,))
  meta = read_metadata(out)
  assert meta["class_names"] == list(EMOTIONS) and meta["num_classes"] == K
  assert meta["face_output"]["index"] == K and meta["face_output"]["name"] == "face"
  faces = _faces(11)
  predict, params = export.inference_function(model, face_output=True)
  reference = np.asarray(jax.jit(predict)(params, faces))
  classifier = ExpressionClassifier(out)
  assert classifier.has_face_output
  probabilities, face = classifier.predict_with_face(faces, calibrated=False)
  assert probabilities.shape == (11, K) and face.shape == (11,)
  np.testing.assert_allclose(probabilities, reference[:, :K], atol=1e-4)
  np.testing.assert_allclose(face, reference[:, K], atol=1e-4)
  np.testing.assert_allclose(classifier.predict(faces, calibrated=False), probabilities)
  empty, no_faces = classifier.predict_with_face(np.zeros((0, 48, 48)))
  assert empty.shape == (0, K) and no_faces.shape == (0,)


def test_an_export_without_the_face_output_still_loads(exported_model_dir):
  classifier = ExpressionClassifier(exported_model_dir)
  assert not classifier.has_face_output
  probabilities, face = classifier.predict_with_face(_faces(3))
  assert face is None and probabilities.shape == (3, len(classifier.class_names))
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


def test_warm_start_adds_the_face_output_to_a_model_without_it(smoke_workdir):
  config = smoke_config.make(face_output=True)
  _, _, state = steps.init_state(config, config_lib.run_spec(config))
  loaded, _ = checkpoints.warm_start_weights(state, os.path.join(smoke_workdir, "export"),
                                             config)
  source, _, _ = checkpoints.restore_best(smoke_workdir)
  source_head = np.asarray(source.head.kernel[...])
  grown = loaded["params"]["head"]["kernel"][...]
  fresh = state["params"]["head"]["kernel"][...]
  assert grown.shape == (source_head.shape[0], source_head.shape[1] + 1)
  np.testing.assert_array_equal(grown[:, :-1], source_head)  # Emotions keep their weights.
  np.testing.assert_array_equal(grown[:, -1], fresh[:, -1])  # The new output as initialised.


def _write_patches(path, is_face, splits):
  n = len(is_face)
  np.savez(path, images=np.random.default_rng(1).integers(0, 256, (n, 48, 48), np.uint8),
           is_face=np.asarray(is_face), splits=np.asarray(splits),
           sources=np.where(is_face, "face", "background"), sizes=np.full(n, 30.0),
           photos=np.asarray([f"p{i}" for i in range(n)]), dataset=np.asarray("nonface"))


def test_nonface_targets(tmp_path, monkeypatch):
  path = tmp_path / "nonface.npz"
  _write_patches(path, [True, False, False, True, False], ["train"] * 4 + ["test"])
  config = smoke_config.make(face_output=True, npz_path=str(path))
  spec = config_lib.run_spec(config)
  no_teacher = input_pipeline.load_dataset_split(config, spec, "nonface", "train")
  assert no_teacher["label"].tolist() == [K, K]  # Faces need a teacher's emotions.
  np.testing.assert_array_equal(no_teacher["target"], np.eye(K + 1)[[K, K]])

  teacher = np.full((2, K), 1.0 / K, np.float32)
  teacher[:, 3] += 0.5
  teacher /= teacher.sum(-1, keepdims=True)
  monkeypatch.setattr(input_pipeline, "teacher_probabilities",
                      lambda config, num_classes, images: teacher)
  config.distill_from = str(tmp_path)
  split = input_pipeline.load_dataset_split(config, spec, "nonface", "train")
  assert split["label"].tolist() == [3, K, K, 3] and split["image"].shape == (4, 48, 48, 1)
  np.testing.assert_allclose(split["target"][[0, 3], :K], teacher)
  assert (split["target"][[0, 3], K] == 0).all()


def test_face_output_and_distillation_targets_of_a_labelled_dataset(monkeypatch, tmp_path):
  config = smoke_config.make(face_output=True)
  spec = config_lib.run_spec(config)
  plain = input_pipeline.load_dataset_split(config, spec, "synthetic", "train")
  assert plain["target"].shape[1] == K + 1 and (plain["target"][:, K] == 0).all()
  np.testing.assert_array_equal(plain["target"][:, :K], np.eye(K)[plain["label"]])
  uniform = lambda config, num_classes, images: np.full((len(images), K), 1.0 / K, np.float32)
  monkeypatch.setattr(input_pipeline, "teacher_probabilities", uniform)
  config.distill_from, config.distill_weight = str(tmp_path), 0.25
  blended = input_pipeline.load_dataset_split(config, spec, "synthetic", "train")
  np.testing.assert_allclose(blended["target"][:, :K],
                             0.75 * np.eye(K)[plain["label"]] + 0.25 / K, atol=1e-6)
  validation = input_pipeline.load_dataset_split(config, spec, "synthetic", "validation")
  assert set(np.unique(validation["target"][:, :K])) <= {0.0, 1.0}  # Labels only.


def test_validation_leaves_the_patches_out_of_the_selection_mean():
  def confusion(rows):
    return np.asarray(rows, np.int64)

  faces = confusion([[8, 0, 2], [0, 9, 1], [0, 0, 0]])   # 3 of 20 faces rejected.
  patches = confusion([[1, 0, 1], [0, 0, 0], [0, 1, 9]])  # 9 of 10 non-faces rejected.
  rejection = loop.face_rejection(patches.tolist())
  assert rejection == {"faces_rejected": 0.5, "non_faces_rejected": 0.9}
  results = {"ferplus": faces, "nonface": patches}
  fake = {name: [(name,)] for name in results}
  step = lambda params, stats, name: (results[name], 0.0)
  original = loop.evaluate_batches
  try:
    loop.evaluate_batches = lambda eval_step, p, s, batches: {
        "accuracy": float(results[batches[0][0]].trace() / results[batches[0][0]].sum()),
        "loss": 0.0, "per_class_accuracy": [], "confusion": results[batches[0][0]].tolist(),
        "count": int(results[batches[0][0]].sum())}
    out = loop.evaluate_sets(step, None, None, fake)
  finally:
    loop.evaluate_batches = original
  assert out["accuracy"] == pytest.approx(17 / 20)  # FER+ alone selects.
  assert out["per_dataset"]["validation_nonface_non_faces_rejected"] == 0.9
  assert out["per_dataset"]["validation_nonface_faces_rejected"] == 0.5
