"""End-to-end training on the synthetic smoke config: learning, resume, sharding, errors."""

import json
import os
import socket
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

from tests import smoke_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Device-count runs: a few steps of a smaller network (conftest `one_device_run`).
FEW_STEPS = smoke_config.FEW_STEPS


def _config(**overrides):
  """The session smoke run's config (conftest `smoke_run`) with `overrides`."""
  return smoke_config.make(**overrides)


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def _params(workdir):
  model, _, info = checkpoints.restore_best(workdir)
  return jax.tree.leaves(nnx.state(model, nnx.Param)), info


def _final_state(workdir, config):
  """The latest checkpoint's full train state: params, batch stats, optimizer, step, key."""
  _, _, template = steps.init_state(config, config_lib.run_spec(config))
  ckpt = checkpoints.Checkpointer(str(workdir), config.keep)
  try:
    state, _ = ckpt.restore_latest(template)
  finally:
    ckpt.close()
  return state


def _assert_same_run(a, b):
  """Workdirs `a` and `b` (of `_config()` runs) hold the same final state and best model."""
  config = _config()
  final_a, final_b = _final_state(a, config), _final_state(b, config)
  assert int(final_a["step"]) == int(final_b["step"]) == config.total_steps
  for x, y in zip(jax.tree.leaves(final_a), jax.tree.leaves(final_b)):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
  (best_a, info_a), (best_b, info_b) = _params(a), _params(b)
  assert info_a == info_b
  for x, y in zip(best_a, best_b):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def _assert_close_params(a, b):
  """Best-model parameters of workdirs `a` and `b` agree up to float reordering."""
  (x_params, _), (y_params, _) = _params(a), _params(b)
  for x, y in zip(x_params, y_params):
    np.testing.assert_allclose(x, y, rtol=1e-4, atol=2e-6)


def _command(workdir, *flags):
  return [sys.executable, "-m", "ferjax.train", "--config", "experiments/smoke.py",
          "--workdir", str(workdir), *smoke_config.flags(), *flags]


def _env(devices=1):
  """This process's environment with `devices` CPUs.

  XLA_FLAGS are part of the compilation cache key: they change only when they must,
  so one-device runs reuse what this process compiled.
  """
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  if devices > 1:
    env["XLA_FLAGS"] = (f"{env.get('XLA_FLAGS', '')} "
                        f"--xla_force_host_platform_device_count={devices}")
  return env


def _cli(workdir, *flags, devices=1):
  return subprocess.run(_command(workdir, *flags), cwd=REPO, env=_env(devices),
                        capture_output=True, text=True, timeout=300, check=False)


def _start(workdir, *flags, log):
  """Starts `python -m ferjax.train` in the background, output to the open file `log`."""
  return subprocess.Popen(_command(workdir, *flags), cwd=REPO, env=_env(), stdout=log,
                          stderr=subprocess.STDOUT)


def _flags(overrides: dict) -> list[str]:
  return [f"--config.{k}={v}" for k, v in overrides.items()]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.mark.slow(33)  # The session's smoke run, trained and exported.
def test_smoke_learns_and_reports_test_once(smoke_run):
  workdir, summary = smoke_run
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
  logits = nnx.jit(lambda model, x: model(x))(model, np.zeros((2, 48, 48, 1), np.float32))
  assert logits.shape == (2, 7)


def test_a_run_without_the_test_split_never_reads_it(tmp_path):
  config = _config(test=False, total_steps=3, warmup_steps=1, eval_every=3,
                   **{"model_kwargs.widths": (16,)})
  summary = loop.train(config, str(tmp_path))
  assert summary["step"] == 3 and "test" not in summary
  assert not [r for r in _records(tmp_path) if "test_accuracy" in r]
  again = loop.train(config, str(tmp_path))  # Finished: neither trained nor tested again.
  assert again["already_finished"] and "test" not in again


@pytest.mark.slow(8)
def test_resume_matches_straight_run(smoke_workdir, tmp_path):
  resumed = str(tmp_path / "resumed")
  stopped = loop.train(_config(stop_after=5), resumed)
  assert stopped["step"] == 5 and "test" not in stopped
  loop.train(_config(), resumed)
  _assert_same_run(smoke_workdir, resumed)  # The session's run went straight through.


def test_init_from_starts_a_new_run_from_the_best_model(smoke_workdir, tmp_path):
  warm, cold = str(tmp_path / "warm"), str(tmp_path / "cold")
  source_params, _ = _params(smoke_workdir)
  one_step = dict(eval_every=1, stop_after=1)  # At step 0 the warmup's rate is 0.
  warm_summary = loop.train(_config(init_from=smoke_workdir, **one_step), warm)
  cold_summary = loop.train(_config(**one_step), cold)
  warm_params, warm_info = _params(warm)
  assert warm_info["step"] == 1  # A new run: its own steps, its own schedule.
  for x, y in zip(source_params, warm_params):  # The source's weights.
    np.testing.assert_allclose(x, y, atol=1e-3)
  assert (warm_summary["best_validation"]["validation_accuracy"]
          > cold_summary["best_validation"]["validation_accuracy"] + 0.2)


def test_init_from_an_export_restores_the_exported_weights(smoke_workdir):
  """An export folder (like the shipped ferjax/pretrained/realtime) seeds a run with its exact weights."""
  config = _config()
  graphdef, rng_template, state = steps.init_state(config, config_lib.run_spec(config))
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
  _, _, wider_state = steps.init_state(wider, config_lib.run_spec(wider))
  with pytest.raises(config_lib.ConfigError, match="different architecture"):
    checkpoints.warm_start_weights(wider_state, os.path.join(smoke_workdir, "export"), wider)


@pytest.mark.slow(9)
def test_init_from_another_architecture_exits_cleanly(smoke_workdir, tmp_path):
  result = _cli(tmp_path / "work", f"--config.init_from={smoke_workdir}",
                "--config.model_kwargs.widths=(16,)")
  _assert_clean_failure(result, "init_from", "different architecture")
  result = _cli(tmp_path / "work2", f"--config.init_from={tmp_path / 'nowhere'}")
  _assert_clean_failure(result, "init_from", "neither a training workdir")


def _saved_steps(directory) -> list[int]:
  if not directory.is_dir():
    return []
  return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())


@pytest.mark.slow(13)
def test_killed_run_resumes_to_the_same_parameters(smoke_workdir, tmp_path, capsys):
  """SIGKILL once the first checkpoint exists, run again: same result as an uninterrupted run."""
  workdir = tmp_path / "killed"
  latest = workdir / checkpoints.LATEST_DIR
  with open(tmp_path / "killed.log", "w", encoding="utf-8") as log:
    process = _start(workdir, log=log)
    try:
      deadline = time.monotonic() + 240
      while (process.poll() is None and time.monotonic() < deadline
             and not _saved_steps(latest)):
        time.sleep(0.02)
    finally:
      process.kill()  # SIGKILL: no clean-up of any kind.
      process.wait()
  saved = _saved_steps(latest)
  assert saved and saved[-1] < _config().total_steps, (
      f"not killed mid-run (checkpoints {saved}): "
      f"{(tmp_path / 'killed.log').read_text(encoding='utf-8')[-2000:]}")
  capsys.readouterr()
  loop.train(_config(), str(workdir))  # The next run, in place of a new process.
  assert "resumed from" in capsys.readouterr().out
  _assert_same_run(smoke_workdir, workdir)


@pytest.mark.slow(30)
def test_four_devices_match_one(one_device_run, tmp_path):
  four = _cli(tmp_path / "four", *_flags(FEW_STEPS), devices=4)
  assert four.returncode == 0, four.stderr[-2000:]
  assert "4 x cpu device(s)" in four.stdout + four.stderr
  _assert_close_params(one_device_run, tmp_path / "four")


@pytest.mark.slow(29)
def test_two_processes_match_one(one_device_run, tmp_path):
  """--multihost on two local CPU processes: each step's global batch is split over both."""
  workdir = tmp_path / "two"
  distributed = ["--multihost", f"--coordinator_address=localhost:{_free_port()}",
                 "--num_processes=2"]
  logs = [tmp_path / f"process_{i}.log" for i in range(2)]
  processes = []
  try:
    for i, path in enumerate(logs):
      with open(path, "w", encoding="utf-8") as log:
        processes.append(_start(workdir, *_flags(FEW_STEPS), *distributed,
                                f"--process_id={i}", log=log))
    codes = [p.wait(timeout=300) for p in processes]
  finally:
    for p in processes:
      if p.poll() is None:
        p.kill()
        p.wait()
  outputs = [path.read_text(encoding="utf-8") for path in logs]
  assert codes == [0, 0], "\n".join(o[-2000:] for o in outputs)
  assert "2 x cpu device(s)" in outputs[0]
  assert "validation accuracy" in outputs[0]  # Process 0 reports; the other is quiet.
  assert "validation accuracy" not in outputs[1]
  records = _records(workdir)  # Written once, by process 0.
  assert [r["step"] for r in records if "validation_accuracy" in r] == [3]
  train_steps = [r["step"] for r in records if "train_loss" in r]
  assert train_steps and len(train_steps) == len(set(train_steps))
  _assert_close_params(one_device_run, workdir)


def _assert_clean_failure(result, *needles):
  output = result.stdout + result.stderr
  assert result.returncode != 0
  assert "Traceback" not in output, output[-2000:]
  for needle in needles:
    assert needle in output, output[-2000:]


@pytest.mark.slow(14)
def test_nan_loss_exits_cleanly(tmp_path):
  result = _cli(tmp_path, "--config.learning_rate=1e30", "--config.grad_clip_norm=0",
                "--config.log_every=2", "--config.model_kwargs.widths=(16,)")
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
