"""End-to-end training on the synthetic smoke config: learning, resume, sharding, errors."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from flax import nnx

from ferjax.train import checkpoints
from ferjax.train import config_lib
from ferjax.train import steps
from ferjax.train import loop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE = os.path.join(REPO, "experiments", "smoke.py")


def _config(**overrides):
  config = config_lib.load_recipe(SMOKE)
  config.tensorboard = False
  config.update(overrides)
  return config


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def _params(workdir):
  model, _, info = checkpoints.restore_best(workdir)
  return jax.tree.leaves(nnx.state(model, nnx.Param)), info


def _cli(workdir, *flags, devices=1):
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             JAX_PLATFORMS="cpu")
  return subprocess.run(
      [sys.executable, "-m", "ferjax.train", "--config", "experiments/smoke.py",
       "--workdir", str(workdir), "--config.tensorboard=False", *flags],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_smoke_learns_and_reports_test_once(tmp_path):
  workdir = str(tmp_path)
  summary = loop.train(_config(), workdir)
  records = _records(workdir)
  losses = [r["train_loss"] for r in records if "train_loss" in r]
  assert np.mean(losses[-2:]) < 0.7 * losses[0]
  assert summary["best_validation"]["validation_accuracy"] > 0.5  # Chance is 1/7.
  tests = [r for r in records if "test_accuracy" in r]
  assert len(tests) == 1 and tests[0]["test_accuracy"] > 0.5
  assert tests[0]["test_checkpoint_step"] == summary["best_validation"]["step"]
  model, config, info = checkpoints.restore_best(workdir)
  assert config.model == "mini_xception" and info["step"] == summary["best_validation"]["step"]
  assert info["validation_accuracy"] == summary["best_validation"]["validation_accuracy"]
  assert model(np.zeros((2, 48, 48, 1), np.float32)).shape == (2, 7)


def test_resume_matches_straight_run(tmp_path):
  kwargs = dict(total_steps=12, eval_every=12, log_every=4, warmup_steps=2,
                mixup_alpha=0.4, label_smoothing=0.1)
  straight, resumed = str(tmp_path / "straight"), str(tmp_path / "resumed")
  loop.train(_config(**kwargs), straight)
  stopped = loop.train(_config(stop_after=5, **kwargs), resumed)
  assert stopped["step"] == 5 and "test" not in stopped
  loop.train(_config(**kwargs), resumed)
  (a, info_a), (b, info_b) = _params(straight), _params(resumed)
  assert info_a["step"] == info_b["step"] == 12
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def test_init_from_starts_a_new_run_from_the_best_model(tmp_path):
  source, warm, cold = (str(tmp_path / name) for name in ("source", "warm", "cold"))
  loop.train(_config(), source)
  source_params, _ = _params(source)
  kwargs = dict(total_steps=4, eval_every=4, log_every=2, warmup_steps=1, learning_rate=1e-6)
  warm_summary = loop.train(_config(init_from=source, **kwargs), warm)
  cold_summary = loop.train(_config(**kwargs), cold)
  warm_params, warm_info = _params(warm)
  assert warm_info["step"] == 4  # A new run: its own steps, its own schedule.
  for x, y in zip(source_params, warm_params):  # A tiny rate barely moves the weights.
    np.testing.assert_allclose(x, y, atol=1e-3)
  assert (warm_summary["best_validation"]["validation_accuracy"]
          > cold_summary["best_validation"]["validation_accuracy"] + 0.2)


def test_init_from_an_export_restores_the_exported_weights(smoke_workdir):
  """An export folder (like the shipped ferjax/pretrained/realtime) seeds a run with its exact weights."""
  config = _config()
  graphdef, rng_template, state = steps.init_state(config)
  from_workdir, _ = checkpoints.warm_start_weights(state, smoke_workdir, config)
  from_export, step = checkpoints.warm_start_weights(
      state, os.path.join(smoke_workdir, "export"), config)
  _, info = _params(smoke_workdir)
  assert step == info["step"]
  for key in ("params", "batch_stats"):
    for x, y, fresh in zip(jax.tree.leaves(from_workdir[key]), jax.tree.leaves(from_export[key]),
                           jax.tree.leaves(state[key])):
      np.testing.assert_array_equal(x, y)
      assert x.shape == fresh.shape
  assert not all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(state["params"]),
                                                      jax.tree.leaves(from_export["params"])))
  wider = _config(model_kwargs={"widths": (16,)})
  _, _, wider_state = steps.init_state(wider)
  with pytest.raises(config_lib.ConfigError, match="different architecture"):
    checkpoints.warm_start_weights(wider_state, os.path.join(smoke_workdir, "export"), wider)


def test_init_from_another_architecture_exits_cleanly(tmp_path):
  source = str(tmp_path / "source")
  loop.train(_config(total_steps=2, eval_every=2, warmup_steps=1), source)
  result = _cli(tmp_path / "work", f"--config.init_from={source}",
                "--config.model_kwargs.widths=(16,)")
  _assert_clean_failure(result, "init_from", "different architecture")
  result = _cli(tmp_path / "work2", f"--config.init_from={tmp_path / 'nowhere'}")
  _assert_clean_failure(result, "init_from", "neither a training workdir")


def test_killed_run_resumes_to_the_same_parameters(tmp_path):
  """SIGKILL after the first checkpoint, run again: same result as an uninterrupted run."""
  flags = ["--config.total_steps=240", "--config.eval_every=20", "--config.log_every=10"]
  straight = _cli(tmp_path / "straight", *flags)
  assert straight.returncode == 0, straight.stderr[-2000:]
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  process = subprocess.Popen(
      [sys.executable, "-m", "ferjax.train", "--config", "experiments/smoke.py",
       "--workdir", str(tmp_path / "killed"), "--config.tensorboard=False", *flags],
      cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  latest = tmp_path / "killed" / checkpoints.LATEST_DIR
  deadline = time.monotonic() + 240
  while time.monotonic() < deadline and process.poll() is None:
    if latest.is_dir() and any(p.name.isdigit() for p in latest.iterdir()):
      break
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  saved = sorted(int(p.name) for p in latest.iterdir() if p.name.isdigit())
  assert saved and saved[-1] < 240, f"not killed mid-run (checkpoints {saved})"
  resumed = _cli(tmp_path / "killed", *flags)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "resumed from" in resumed.stdout + resumed.stderr
  (a, info_a), (b, info_b) = _params(tmp_path / "straight"), _params(tmp_path / "killed")
  assert info_a == info_b
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def test_four_devices_match_one(tmp_path):
  # Few, small steps: longer runs amplify float reordering chaotically.
  flags = ["--config.total_steps=3", "--config.eval_every=3", "--config.warmup_steps=1",
           "--config.learning_rate=0.02"]
  one, four = _cli(tmp_path / "one", *flags), _cli(tmp_path / "four", *flags, devices=4)
  assert one.returncode == 0, one.stderr[-2000:]
  assert four.returncode == 0, four.stderr[-2000:]
  assert "4 x cpu device(s)" in four.stdout + four.stderr
  (a, _), (b, _) = _params(tmp_path / "one"), _params(tmp_path / "four")
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-6)


def _assert_clean_failure(result, *needles):
  output = result.stdout + result.stderr
  assert result.returncode != 0
  assert "Traceback" not in output, output[-2000:]
  for needle in needles:
    assert needle in output, output[-2000:]


def test_nan_loss_exits_cleanly(tmp_path):
  result = _cli(tmp_path, "--config.learning_rate=1e30", "--config.grad_clip_norm=0",
                "--config.log_every=2")
  _assert_clean_failure(result, "error: loss is", "at step")


def test_unknown_model_exits_cleanly(tmp_path):
  _assert_clean_failure(_cli(tmp_path, "--config.model=resnet9000"),
                        "unknown model 'resnet9000'")


def test_unknown_config_key_exits_cleanly(tmp_path):
  _assert_clean_failure(_cli(tmp_path, "--config.learnin_rate=0.1"), "learnin_rate")


def test_bad_value_exits_cleanly(tmp_path):
  _assert_clean_failure(_cli(tmp_path, "--config.optimizer=adagrad"),
                        "unknown optimizer 'adagrad'")


def test_missing_dataset_prints_instructions(tmp_path):
  empty = tmp_path / "manual"
  empty.mkdir()
  result = _cli(tmp_path / "work", "--config.dataset=fer2013",
                f"--config.manual_dir={empty}", f"--config.data_dir={tmp_path / 'tfds'}")
  _assert_clean_failure(result, "error:", "fer2013.tar.gz")
