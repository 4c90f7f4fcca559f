"""Dataset mixtures: FER+ soft targets, sampling weights, draws by weight in the train step."""

import jax
import numpy as np
import pytest

from ferjax.data import npz
from ferjax.labels import EMOTIONS
from ferjax.train import config_lib
from ferjax.train import input_pipeline
from ferjax.train import sharding
from ferjax.train import steps
from tests import data_fixtures as fx


@pytest.fixture(scope="module")
def npz_files(tmp_path_factory):
  """A tiny FER2013 + FER+ .npz and a tiny RAF-DB .npz."""
  root = tmp_path_factory.mktemp("mix")
  rows = list(fx.fer2013_rows(20))
  fx.write_fer2013_archive(str(root / "fer"), fx.fer2013_csv_text(rows))
  # File order: neutral happiness surprise sadness anger disgust fear contempt unknown NF
  votes = [[6, 4, 0, 0, 0, 0, 0, 0, 0, 0] for _ in rows]  # neutral majority, happy votes
  votes[3] = [0, 0, 0, 0, 0, 0, 0, 10, 0, 0]  # contempt: left out of a 7-class run
  fx.write_ferplus_csv(str(root / "fer"), votes)
  fx.write_rafdb_official(str(root / "raf"))
  return (npz.prepare(root / "fer", root / "fer.npz"),
          npz.prepare(root / "raf", root / "raf.npz", dataset="rafdb"))


def _config(npz_files, **overrides):
  config = config_lib.base_config()
  config.update(dataset="ferplus", mixture="ferplus:0.75,rafdb:0.25", num_classes=7,
                soft_labels=True, npz_path=",".join(npz_files), batch_size=4)
  config.update(overrides)
  return config


def test_the_run_spec_resolves_the_mixture_classes_and_outputs():
  config = config_lib.base_config()
  config.update(dataset="ferplus", mixture="", num_classes=0)
  alone = config_lib.run_spec(config)
  assert alone.mixture == (("ferplus", 1.0),) and alone.num_classes == 8  # + contempt.
  config.update(mixture="ferplus:0.6, rafdb:0.3,nonface:0.1", face_output=True)
  mixed = config_lib.run_spec(config)
  assert mixed.datasets == ("ferplus", "rafdb", "nonface")
  assert mixed.mixture[1] == ("rafdb", 0.3)
  assert (mixed.num_classes, mixed.num_outputs) == (7, 8)  # 7 emotions + "not a face".
  config.num_classes = 8
  assert config_lib.run_spec(config).num_outputs == 9  # An explicit count wins.


def test_soft_targets_are_the_votes_over_seven_emotions(npz_files):
  config = _config(npz_files)
  train = input_pipeline.load_dataset_split(config, config_lib.run_spec(config), "ferplus",
                                            "train")
  assert train["target"].shape[1] == 7 and (train["label"] < 7).all()
  expected = np.zeros(7)
  expected[EMOTIONS.index("neutral")], expected[EMOTIONS.index("happy")] = 0.6, 0.4
  np.testing.assert_allclose(train["target"], np.tile(expected, (len(train["label"]), 1)))
  config = _config(npz_files, fer2013_label_weight=0.5)
  blended = input_pipeline.load_dataset_split(config, config_lib.run_spec(config), "ferplus",
                                              "train")
  np.testing.assert_allclose(blended["target"].sum(1), 1.0, atol=1e-6)
  assert not np.allclose(blended["target"], train["target"])


def test_mixture_weights_follow_the_recipe_and_class_balance(npz_files):
  config = _config(npz_files, class_balance=1.0)
  spec = config_lib.run_spec(config)
  mix = input_pipeline.load_train_mixture(config, spec)
  fer = input_pipeline.load_dataset_split(config, spec, "ferplus", "train")
  n_fer = len(fer["label"])
  np.testing.assert_allclose(mix["weight"][:n_fer].sum(), 0.75, atol=1e-6)
  np.testing.assert_allclose(mix["weight"][n_fer:].sum(), 0.25, atol=1e-6)
  raf = mix["label"][n_fer:]
  per_class = {c: mix["weight"][n_fer:][raf == c].sum() for c in np.unique(raf)}
  np.testing.assert_allclose(list(per_class.values()), 0.25 / len(per_class), atol=1e-6)
  config = _config(npz_files, mixture="")
  single = input_pipeline.load_train_mixture(config, config_lib.run_spec(config))
  assert "weight" not in single  # Uniform: one permutation per epoch instead.


def test_batches_are_drawn_by_weight_or_once_per_epoch():
  key, n, batch = jax.random.PRNGKey(0), 64, 16
  weight = np.zeros(n, np.float32)
  weight[:8] = 1 / 8  # Only the first 8 examples may be drawn.
  drawn = np.concatenate([np.asarray(steps.batch_indices(key, s, n, batch, weight))
                          for s in range(20)])
  assert drawn.max() < 8 and len(np.unique(drawn)) == 8
  epoch = np.concatenate([np.asarray(steps.batch_indices(key, s, n, batch))
                          for s in range(n // batch)])
  assert sorted(epoch) == list(range(n))  # Each example exactly once per epoch.
  next_epoch = np.asarray(steps.batch_indices(key, n // batch, n, batch))
  assert not np.array_equal(next_epoch, epoch[:batch])  # A fresh order.


@pytest.mark.slow(12)
def test_train_step_runs_on_a_weighted_split():
  config = config_lib.base_config()
  config.update(dataset="synthetic", batch_size=32, model="mini_xception",
                model_kwargs=dict(stem=4, widths=(8,)), total_steps=10, warmup_steps=1)
  mesh = sharding.make_mesh()
  n = 128
  labels = np.arange(n, dtype=np.int32) % 7
  data = sharding.put({"image": np.zeros((n, 48, 48, 1), np.uint8), "label": labels,
                       "target": np.eye(7, dtype=np.float32)[labels],
                       "weight": np.full(n, 1 / n, np.float32)}, sharding.replicated(mesh))
  graphdef, rngs, state = steps.init_state(config, config_lib.run_spec(config))
  step = steps.make_train_step(config, graphdef, rngs, n, mesh)
  state, metrics = step(sharding.put(jax.device_get(state), sharding.replicated(mesh)), data)
  assert np.isfinite(float(metrics["loss"])) and int(state["step"]) == 1
