"""jax2tf export: SavedModel and TFLite agree with JAX; consumers need no JAX."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest
from flax import nnx

from ferjax import models
from ferjax.train import checkpoints
from ferjax.train import config_lib
from ferjax.train import export
from ferjax.train import steps
from ferjax.inference import ExpressionClassifier, ModelError, read_metadata
from ferjax.labels import EMOTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TFLITE_BATCH = export.DEFAULT_TFLITE_BATCH


@pytest.fixture(scope="module")
def exported(smoke_workdir):
  """The smoke-trained model and the export its training run wrote."""
  model, _, _ = checkpoints.restore_best(smoke_workdir)
  out = pathlib.Path(smoke_workdir) / "export"
  paths = {"saved_model": str(out / "saved_model"), "tflite": str(out / "model.tflite"),
           "metadata": str(out / "metadata.json")}
  return model, out, paths


def _faces(n, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, 48, 48, 1)).astype(np.float32)


def _jax_probabilities(model, faces):
  predict, params = export.inference_function(model)
  return np.asarray(jax.jit(predict)(params, faces))


def test_artifacts_and_metadata(exported):
  _, out, paths = exported
  assert sorted(os.listdir(out)) == ["metadata.json", "model.tflite", "model_b1.tflite",
                                     "model_b8.tflite", "saved_model"]
  meta = read_metadata(out)
  assert meta["tflite_files"] == {"1": "model_b1.tflite", "8": "model_b8.tflite",
                                  str(TFLITE_BATCH): "model.tflite"}
  assert meta["class_names"] == list(EMOTIONS)
  assert meta["input"]["shape"] == [None, 48, 48, 1] and meta["input"]["range"] == [0, 255]
  assert meta["tflite_batch"] == TFLITE_BATCH and meta["model"] == "mini_xception"
  assert meta["dataset"] == "synthetic" and len(meta["config_hash"]) == 12
  assert 0.5 < meta["validation_accuracy"] <= 1 and 0.5 < meta["test_accuracy"] <= 1
  assert os.path.getsize(paths["tflite"]) < 4 << 20


@pytest.mark.slow(9)
def test_jax_savedmodel_tflite_parity(exported, tmp_path):
  """Batch of 45 (not a multiple of the TFLite batch); SavedModel in a fresh process."""
  model, out, _ = exported
  faces = _faces(45)
  reference = _jax_probabilities(model, faces)
  np.testing.assert_allclose(reference.sum(-1), 1.0, atol=1e-5)
  tflite = ExpressionClassifier(out, backend="tflite").predict(faces, calibrated=False)
  np.testing.assert_allclose(tflite, reference, atol=1e-4)
  faces_path, saved_path = tmp_path / "faces.npy", tmp_path / "saved.npy"
  np.save(faces_path, faces)
  code = ("import sys, numpy as np; from ferjax.inference import ExpressionClassifier; "
          f"c = ExpressionClassifier({str(out)!r}, backend='savedmodel'); "
          f"np.save({str(saved_path)!r}, c.predict(np.load({str(faces_path)!r}), calibrated=False)); "
          "assert 'flax' not in sys.modules")
  result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
  assert result.returncode == 0, result.stderr[-2000:]
  saved = np.load(saved_path)
  np.testing.assert_allclose(saved, reference, atol=1e-4)


def test_tflite_consumer_imports_no_jax(exported):
  _, out, _ = exported
  code = ("import sys, numpy as np; from ferjax.inference import ExpressionClassifier; "
          f"p = ExpressionClassifier({str(out)!r}).predict(np.zeros((3, 48, 48), np.uint8)); "
          "assert p.shape == (3, 7), p.shape; "
          "bad = [m for m in ('jax', 'flax', 'tensorflow') if m in sys.modules]; "
          "assert not bad, bad")
  result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
  assert result.returncode == 0, result.stderr[-2000:]


def test_every_batch_size_gives_the_same_answer(exported):
  """1, 8 and 32-face TFLite files are used by turns and agree with one another."""
  _, out, _ = exported
  classifier = ExpressionClassifier(out)
  assert classifier.batch_sizes == [1, 8, TFLITE_BATCH]
  faces = _faces(TFLITE_BATCH + 9, seed=2)  # one chunk of 32, then 8, then 1
  together = classifier.predict(faces)
  one_by_one = np.concatenate([classifier.predict(faces[i:i + 1]) for i in range(len(faces))])
  np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_predictions_depend_on_the_face(exported):
  _, out, _ = exported
  classifier = ExpressionClassifier(out)
  faces = _faces(2, seed=1)
  together = classifier.predict(faces)
  alone = classifier.predict(faces[1:])
  np.testing.assert_allclose(together[1], alone[0], atol=1e-5)  # padding does not leak
  assert not np.allclose(together[0], together[1])
  assert classifier.predict(np.zeros((0, 48, 48))).shape == (0, 7)
  with pytest.raises(ValueError, match=r"faces must be \(n, 48, 48"):
    classifier.predict(np.zeros((2, 64, 64)))


def test_wrong_model_paths_are_reported(tmp_path, exported):
  _, out, _ = exported
  with pytest.raises(ModelError, match="not a folder"):
    ExpressionClassifier(tmp_path / "missing")
  with pytest.raises(ModelError, match="no metadata.json"):
    ExpressionClassifier(tmp_path)
  (tmp_path / "metadata.json").write_text(json.dumps({"format": "something-else"}))
  with pytest.raises(ModelError, match="not ferjax export metadata"):
    ExpressionClassifier(tmp_path)
  (tmp_path / "metadata.json").write_text((out / "metadata.json").read_text())
  with pytest.raises(ModelError, match="no model_b1.tflite"):
    ExpressionClassifier(tmp_path)
  for name in read_metadata(out)["tflite_files"].values():
    (tmp_path / name).write_bytes(b"garbage")
  with pytest.raises(ModelError, match="not a loadable TFLite model"):
    ExpressionClassifier(tmp_path)
  with pytest.raises(ModelError, match="not a loadable SavedModel"):
    ExpressionClassifier(tmp_path, backend="savedmodel")
  with pytest.raises(ModelError, match="unknown backend"):
    ExpressionClassifier(out, backend="onnx")


def test_failed_export_leaves_previous_model_untouched(tmp_path, exported, monkeypatch):
  import tensorflow as tf
  model, _, _ = exported
  target = tmp_path / "model"
  target.mkdir()
  (target / "metadata.json").write_text(json.dumps({"format": export.FORMAT}))
  (target / "keep.txt").write_text("previous")

  def broken_converter(*args, **kwargs):
    raise RuntimeError("converter failed")

  monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", broken_converter)
  with pytest.raises(RuntimeError, match="converter failed"):
    export.export(model, target, tflite_batch=4, overwrite=True)
  with pytest.raises(ValueError, match="tflite_batch must be at least 1"):
    export.export(model, target, tflite_batch=0, overwrite=True)
  assert (target / "keep.txt").read_text() == "previous"
  assert sorted(os.listdir(tmp_path)) == ["model"]  # No staging folder, nothing moved aside.


def test_an_ensemble_predicts_the_mean_of_its_members():
  members = [models.create_model("mini_xception", 7, rngs=nnx.Rngs(seed)) for seed in (1, 2)]
  faces = _faces(5, seed=3)
  single = [_jax_probabilities(m, faces) for m in members]
  assert not np.allclose(single[0], single[1], atol=1e-3)
  predict, params = export.inference_function(members)
  assert len(params) == sum(len(export.inference_function(m)[1]) for m in members)
  np.testing.assert_allclose(np.asarray(jax.jit(predict)(params, faces)),
                             (single[0] + single[1]) / 2, atol=1e-6)


@pytest.mark.slow(20)
def test_workdirs_export_as_one_ensemble(smoke_workdir, tmp_path):
  """Two runs in one export: one set of files, the members in metadata, each a warm start."""
  other = tmp_path / "other_run"
  shutil.copytree(smoke_workdir, other, ignore=shutil.ignore_patterns("export*"))
  out = tmp_path / "ensemble"
  result = subprocess.run(
      [sys.executable, "-m", "ferjax.train.export", "--workdir", f"{smoke_workdir},{other}",
       "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
  meta, single = read_metadata(out), read_metadata(os.path.join(smoke_workdir, "export"))
  assert meta["ensemble"] == 2 and [m["workdir"] for m in meta["members"]] == [
      os.path.basename(smoke_workdir), "other_run"]
  assert meta["num_params"] == 2 * single["num_params"] and "test_accuracy" not in meta
  assert meta["class_names"] == single["class_names"]
  assert meta["temperature"] == pytest.approx(single["temperature"], abs=1e-3)
  faces = _faces(9, seed=4)
  np.testing.assert_allclose(  # Two copies of one run average to that run.
      ExpressionClassifier(out).predict(faces, calibrated=False),
      ExpressionClassifier(os.path.join(smoke_workdir, "export")).predict(
          faces, calibrated=False), atol=1e-5)
  config = checkpoints.load_config(smoke_workdir)
  config.init_member = 1  # A new run may start from either member.
  _, _, state = steps.init_state(config, config_lib.run_spec(config))
  from_member, step = checkpoints.warm_start_weights(state, str(out), config)
  from_run, _ = checkpoints.warm_start_weights(state, smoke_workdir, config)
  assert step == single["step"]
  for x, y in zip(jax.tree.leaves(from_member["params"]), jax.tree.leaves(from_run["params"])):
    np.testing.assert_array_equal(x, y)
  config.init_member = 2
  with pytest.raises(config_lib.ConfigError, match="holds 2 model"):
    checkpoints.warm_start_weights(state, str(out), config)
  missing = subprocess.run(
      [sys.executable, "-m", "ferjax.train.export", "--workdir",
       f"{smoke_workdir},{tmp_path / 'nope'}", "--out", str(tmp_path / "x")],
      cwd=ROOT, capture_output=True, text=True)
  assert missing.returncode != 0 and "is not a folder" in missing.stderr
  no_data = subprocess.run(
      [sys.executable, "-m", "ferjax.train.export", "--workdir", smoke_workdir,
       "--validation_npz", str(tmp_path / "gone.npz"), "--out", str(tmp_path / "x")],
      cwd=ROOT, capture_output=True, text=True)
  assert no_data.returncode != 0 and "gone.npz: no such file" in no_data.stderr
  assert not (tmp_path / "x").exists()


def test_batch_plan_pads_the_least():
  from ferjax.inference import batch_plan
  sizes = [1, 8, 32]
  assert batch_plan(15, sizes) == [8, 8]  # Not one batch of 32, half of it padding.
  assert batch_plan(9, sizes) == [8, 1] and batch_plan(5, sizes) == [8]
  assert batch_plan(30, sizes) == [32] and batch_plan(70, sizes) == [32, 32, 8]
  assert batch_plan(3, [32]) == [32] and batch_plan(0, sizes) == []
  for count in range(1, 100):
    plan = batch_plan(count, sizes)
    assert sum(plan) >= count and sum(plan) - count < 8  # Never a padded batch of 32.
