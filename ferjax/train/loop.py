"""The training loop: data on device, periodic validation and checkpoints, final test.

Model selection uses only the validation split (FER2013 PublicTest); the test
split (PrivateTest) is evaluated once at the end with the best checkpoint.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import time
from typing import Any

import jax
import ml_collections
import numpy as np
import tqdm

from ferjax import files
from ferjax.train import checkpoints
from ferjax.train import config_lib
from ferjax.train import input_pipeline
from ferjax.train import metrics_writer
from ferjax.train import sharding
from ferjax.train import steps


class TrainingError(RuntimeError):
  """Training cannot go on (e.g. the loss is no longer finite)."""


def _say(message: str) -> None:
  if jax.process_index() == 0:
    tqdm.tqdm.write(message)


def _eval_batches(split: dict[str, np.ndarray], batch_size: int, mesh) -> list[tuple]:
  """The split as padded (images, labels, mask) batches, sharded over 'data'."""
  n = len(split["label"])
  padded = -(-n // batch_size) * batch_size
  pad = padded - n
  images = np.concatenate([split["image"], np.zeros((pad,) + split["image"].shape[1:],
                                                    np.uint8)])
  labels = np.concatenate([split["label"], np.zeros(pad, np.int32)])
  mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
  batch = sharding.batch_sharding(mesh)
  return [sharding.put((images[i:i + batch_size], labels[i:i + batch_size],
                        mask[i:i + batch_size]), batch)
          for i in range(0, padded, batch_size)]


def evaluate_batches(eval_step, params, batch_stats, batches: list[tuple]) -> dict[str, Any]:
  """Accuracy, mean loss and per-class accuracy (recall) over prepared batches."""
  confusion, loss = None, 0.0
  for images, labels, mask in batches:
    c, l = eval_step(params, batch_stats, images, labels, mask)
    confusion = c if confusion is None else confusion + c
    loss += l
  confusion = np.asarray(jax.device_get(confusion), np.int64)
  total = confusion.sum()
  per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
  return {"accuracy": float(confusion.trace() / total),
          "loss": float(jax.device_get(loss) / total),
          "per_class_accuracy": [round(float(x), 4) for x in per_class],
          "confusion": confusion.tolist(), "count": int(total)}


# Sets that are watched but do not select the model: the face/non-face patches.
MONITOR_ONLY = ("nonface",)


def face_rejection(confusion: list[list[int]]) -> dict[str, float]:
  """Of a confusion whose last class is "not a face": shares of faces and non-faces so called."""
  confusion = np.asarray(confusion)
  faces, not_faces = confusion[:-1], confusion[-1]
  return {"faces_rejected": float(faces[:, -1].sum() / max(faces.sum(), 1)),
          "non_faces_rejected": float(not_faces[-1] / max(not_faces.sum(), 1))}


def evaluate_sets(eval_step, params, batch_stats, sets: dict[str, list[tuple]]
                 ) -> dict[str, Any]:
  """`evaluate_batches` on each named set; `accuracy` and `loss` are the means over the sets.

  With one set the result is that set's, plus empty `per_dataset`; with several,
  the per-class figures and confusion are those of the first set. `MONITOR_ONLY`
  sets are reported in `per_dataset` (with their face rejection rates) but left
  out of the means.
  """
  results = {name: evaluate_batches(eval_step, params, batch_stats, b) for name, b in sets.items()}
  scored = {n: r for n, r in results.items() if n not in MONITOR_ONLY} or results
  first = next(iter(scored.values()))
  out = dict(first, datasets=list(results))
  out["per_dataset"] = {}
  if len(results) > 1:
    out["accuracy"] = float(np.mean([r["accuracy"] for r in scored.values()]))
    out["loss"] = float(np.mean([r["loss"] for r in scored.values()]))
    for name, r in results.items():
      out["per_dataset"][f"validation_{name}_accuracy"] = r["accuracy"]
      out["per_dataset"][f"validation_{name}_per_class_accuracy"] = r["per_class_accuracy"]
      if name in MONITOR_ONLY:
        out["per_dataset"].update({f"validation_{name}_{k}": v
                                   for k, v in face_rejection(r["confusion"]).items()})
  return out


def _flush(pending: list, writer, pbar, batch_size: int, window_start: float,
           first: bool = False) -> None:
  """Fetches the queued step metrics, stops on a non-finite loss, logs window means."""
  fetched = jax.device_get([m for _, m in pending])
  seconds = time.perf_counter() - window_start
  for (step, _), metrics in zip(pending, fetched):
    if not np.isfinite(metrics["loss"]):
      raise TrainingError(f"loss is {float(metrics['loss'])} at step {step}; lower "
                          "learning_rate, enable grad_clip_norm or check the data")
  means = {f"train_{k}": float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
  means["train_learning_rate"] = float(fetched[-1]["learning_rate"])
  if first:  # Includes compilation: not a throughput.
    means["first_step_seconds"] = seconds
  else:
    means["images_per_second"] = len(fetched) * batch_size / max(seconds, 1e-9)
  writer.write(pending[-1][0], means)
  pbar.set_postfix(loss=f"{means['train_loss']:.3f}", acc=f"{means['train_accuracy']:.3f}",
                   img_s=f"{means.get('images_per_second', 0):.0f}")


EXPORT_DIR = "export"


def is_workdir(path: str) -> bool:
  """True if `path` holds a training run (its config.json or checkpoints)."""
  return (os.path.isfile(os.path.join(path, checkpoints.CONFIG_FILE))
          or os.path.isdir(os.path.join(path, checkpoints.LATEST_DIR)))


def check_workdir(workdir: str, export: bool = False) -> None:
  """Raises `files.OutputError` unless `workdir` can hold (or already holds) a run.

  A new or empty folder starts a run and a ferjax workdir resumes; any other
  non-empty folder is refused before any work, as is an `export/` in it that
  holds something other than an export (when `export`).
  """
  files.check_output_dir(workdir, "--workdir")
  if os.path.isdir(workdir) and os.listdir(workdir) and not is_workdir(workdir):
    raise files.OutputError(
        f"--workdir {workdir} is not empty and holds no training run (no "
        f"{checkpoints.CONFIG_FILE} or {checkpoints.LATEST_DIR}/); choose a new or empty "
        "folder, or the workdir of the run to resume")
  out_dir = os.path.join(workdir, EXPORT_DIR)
  if export and os.path.isdir(out_dir) and os.listdir(out_dir):
    from ferjax.train import export as export_lib  # pylint: disable=g-import-not-at-top
    if not export_lib.is_export(out_dir):
      raise files.OutputError(f"{out_dir} holds something other than a ferjax export; "
                              "move it away (the run exports there) or pass "
                              "--config.export=False")


def _test_record(workdir: str) -> dict[str, Any] | None:
  """The test record of metrics.jsonl, or None if the test split was not evaluated."""
  path = os.path.join(workdir, metrics_writer.METRICS_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        record = json.loads(line)
      except json.JSONDecodeError:
        continue  # A line cut short by a killed run.
      if isinstance(record, dict) and "test_accuracy" in record:
        return record
  return None


def _export(workdir: str) -> None:
  """Exports the best model to <workdir>/export; skipped without TensorFlow.

  An earlier export there is moved aside to export.previous-<date-time>.
  """
  if importlib.util.find_spec("tensorflow") is None:
    _say("export skipped: exporting needs TensorFlow (pip install tensorflow)")
    return
  try:
    from ferjax.train import export as export_lib  # pylint: disable=g-import-not-at-top
    out_dir = os.path.join(workdir, EXPORT_DIR)
    paths = export_lib.export_workdir(workdir, out_dir, overwrite=True)
  except ImportError as e:
    _say(f"export skipped: exporting needs TensorFlow ({e})")
    return
  except files.OutputError as e:
    _say(f"export skipped: {e}")
    return
  if "previous" in paths:
    _say(f"moved the previous export to {paths['previous']}")
  _say(f"exported to {out_dir}")


@dataclasses.dataclass
class _Run:
  """A run set up to train: its parts, and the state and best info it updates."""
  config: ml_collections.ConfigDict
  spec: config_lib.RunSpec
  workdir: str
  mesh: Any
  ckpt: checkpoints.Checkpointer
  writer: metrics_writer.MetricsWriter
  state: dict[str, Any]
  best: dict[str, Any] | None
  train_data: Any
  validation: dict[str, list[tuple]]
  train_step: Any
  eval_step: Any
  eval_batch_size: int


def _load_data(config: ml_collections.ConfigDict, spec: config_lib.RunSpec, num_devices: int
               ) -> tuple[ml_collections.ConfigDict, dict[str, np.ndarray],
                          dict[str, dict[str, np.ndarray]]]:
  """(config with its step counts, train data, validation splits); checks the batch size."""
  if config.batch_size % num_devices:
    raise config_lib.ConfigError(
        f"batch_size {config.batch_size} is not divisible by the {num_devices} devices")
  train_data = input_pipeline.load_train_mixture(config, spec)
  validation_data = input_pipeline.load_eval_splits(config, spec, "validation")
  num_train = len(train_data["label"])
  if num_train < config.batch_size:
    raise config_lib.ConfigError(
        f"batch_size {config.batch_size} is larger than the train split ({num_train})")
  return config_lib.with_steps(config, num_train), train_data, validation_data


def _finished_summary(config: ml_collections.ConfigDict, workdir: str,
                      ckpt: checkpoints.Checkpointer) -> dict[str, Any] | None:
  """The summary of a run that already finished (closing `ckpt`), else None."""
  test_record = _test_record(workdir)
  if ckpt.latest_step() != config.total_steps or (config.test and test_record is None):
    return None
  summary = {"step": config.total_steps, "best_validation": ckpt.best_info(),
             "already_finished": True}
  ckpt.close()
  if test_record is None:
    tested = "test split not evaluated); nothing to do"
  else:
    summary["test"] = {"accuracy": test_record["test_accuracy"]}
    tested = (f"test accuracy {test_record['test_accuracy']:.4f}); nothing to do: the "
              "test split is evaluated once")
  _say(f"{workdir} holds a finished run (step {config.total_steps}, {tested}. "
       "Pass a new --workdir to train again.")
  return summary


def _start(config: ml_collections.ConfigDict, spec: config_lib.RunSpec, workdir: str, mesh,
           ckpt: checkpoints.Checkpointer, train_data: dict[str, np.ndarray],
           validation_data: dict[str, dict[str, np.ndarray]]) -> _Run:
  """Builds the model and steps, warm-starts or resumes, puts the data on device."""
  num_devices = mesh.devices.size
  num_train = len(train_data["label"])
  graphdef, rng_template, state = steps.init_state(config, spec)
  flops = steps.model_flops(graphdef, state, rng_template)
  _say(f"model {config.model}: {steps.count_params(state):,} parameters, "
       + (f"{flops / 1e6:.1f} MFLOPs" if flops else "unknown FLOPs")
       + f" per 48x48 image (forward); {num_devices} x {jax.devices()[0].platform} device(s)")
  _say(f"data {config.mixture or config.dataset}: train {num_train:,}, validation "
       + ", ".join(f"{n} {len(d['label']):,}" for n, d in validation_data.items())
       + f"; {config.total_steps:,} steps of {config.batch_size}")

  replicated = sharding.replicated(mesh)
  if config.init_from and ckpt.latest_step() is None:
    state, source_step = checkpoints.warm_start_weights(state, config.init_from, config)
    _say(f"initialised from {config.init_from} (its model of step {source_step})")
  state = sharding.put(jax.device_get(state), replicated)
  checkpoints.save_config(workdir, config)
  best = ckpt.best_info()
  if ckpt.latest_step() is not None:
    state, _ = ckpt.restore_latest(state)
    _say(f"resumed from {workdir} at step {int(state['step'])}")

  writer = metrics_writer.MetricsWriter(workdir, start_step=int(state["step"]),
                                        tensorboard=config.tensorboard,
                                        enabled=jax.process_index() == 0)
  eval_batch_size = -(-config.eval_batch_size // num_devices) * num_devices
  return _Run(
      config=config, spec=spec, workdir=workdir, mesh=mesh, ckpt=ckpt, writer=writer, state=state,
      best=best, train_data=sharding.put(train_data, replicated),
      validation={name: _eval_batches(d, eval_batch_size, mesh)
                  for name, d in validation_data.items()},
      train_step=steps.make_train_step(config, graphdef, rng_template, num_train, mesh),
      eval_step=steps.make_eval_step(graphdef, rng_template, spec.num_outputs, mesh),
      eval_batch_size=eval_batch_size)


def _validate(run: _Run, done: int) -> None:
  """Evaluates the validation sets at step `done`, checkpoints and logs; updates best."""
  state = run.state
  result = evaluate_sets(run.eval_step, state["params"], state["batch_stats"], run.validation)
  is_best = run.best is None or result["accuracy"] > run.best["validation_accuracy"]
  info = {"step": done, "validation_accuracy": result["accuracy"],
          "validation_loss": result["loss"]}
  if is_best:
    run.best = info
  run.ckpt.save(done, state, info, is_best=is_best)
  run.writer.write(done, {"validation_accuracy": result["accuracy"],
                          "validation_loss": result["loss"],
                          "best_validation_accuracy": run.best["validation_accuracy"],
                          **result["per_dataset"]})
  rejection = "".join(f", {k.removeprefix('validation_')} {v:.3f}"
                      for k, v in result["per_dataset"].items() if k.endswith("_rejected"))
  _say(f"step {done}: validation accuracy {result['accuracy']:.4f} "
       f"(best {run.best['validation_accuracy']:.4f} at step {run.best['step']}){rejection}")


def _run_steps(run: _Run, end: int) -> None:
  """Trains up to step `end`, validating and checkpointing on the way."""
  config = run.config
  start = int(run.state["step"])
  pbar = tqdm.tqdm(total=config.total_steps, initial=start, unit="step", dynamic_ncols=True,
                   disable=jax.process_index() != 0)
  pending, window_start = [], time.perf_counter()
  try:
    for step in range(start, end):
      run.state, metrics = run.train_step(run.state, run.train_data)
      pending.append((step + 1, metrics))
      pbar.update(1)
      done = step + 1
      if step == start:  # Exclude compilation from the throughput windows.
        _flush(pending, run.writer, pbar, config.batch_size, window_start, first=True)
        pending, window_start = [], time.perf_counter()
      at_eval = done % config.eval_every == 0 or done == config.total_steps
      if pending and (done % config.log_every == 0 or at_eval or done == end):
        _flush(pending, run.writer, pbar, config.batch_size, window_start)
        pending, window_start = [], time.perf_counter()
      if at_eval:
        _validate(run, done)
        window_start = time.perf_counter()  # Exclude evaluation from the windows too.
      elif done == end:  # Stopped early on purpose: save so a re-run resumes here.
        run.ckpt.save(done, run.state, {"step": done}, is_best=False)
  finally:
    pbar.close()
    run.ckpt.wait()


def _test(run: _Run) -> dict[str, Any]:
  """Evaluates the test split once, with the best-by-validation model, and logs it."""
  state = run.state
  restored = run.ckpt.restore_best_model({"params": state["params"],
                                          "batch_stats": state["batch_stats"]})
  model_state, info = restored if restored else (state, {"step": int(state["step"])})
  test = evaluate_sets(run.eval_step, model_state["params"], model_state["batch_stats"],
                      {name: _eval_batches(d, run.eval_batch_size, run.mesh)
                       for name, d in input_pipeline.load_eval_splits(
                           run.config, run.spec, "test").items()})
  run.writer.write(info["step"], {
      "test_accuracy": test["accuracy"], "test_loss": test["loss"],
      "test_per_class_accuracy": test["per_class_accuracy"],
      "test_confusion": test["confusion"], "test_checkpoint_step": info["step"],
      **{k.replace("validation", "test", 1): v for k, v in test["per_dataset"].items()},
      "test_note": "test split evaluated once, with the best-by-validation checkpoint"})
  _say(f"TEST accuracy {test['accuracy']:.4f} (test split of "
       f"{', '.join(test['datasets'])}; evaluated once, with the best-by-validation "
       f"checkpoint: step {info['step']}, validation accuracy "
       f"{info.get('validation_accuracy', float('nan')):.4f})")
  return test


def train(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (or resumes) in `workdir`; returns a summary of the final results.

  A run that already finished (last step reached, test split evaluated) is
  not evaluated or exported again: the summary says `already_finished`.
  """
  config_lib.validate(config)
  spec = config_lib.run_spec(config)
  check_workdir(workdir, export=bool(config.export))
  mesh = sharding.make_mesh()
  config, train_data, validation_data = _load_data(config, spec, mesh.devices.size)
  ckpt = checkpoints.Checkpointer(workdir, config.keep)
  finished = _finished_summary(config, workdir, ckpt)
  if finished is not None:
    return finished

  run = _start(config, spec, workdir, mesh, ckpt, train_data, validation_data)
  end = min(config.total_steps, config.stop_after or config.total_steps)
  _run_steps(run, end)
  summary: dict[str, Any] = {"step": int(run.state["step"]),
                             "best_validation": run.best}
  if end < config.total_steps:
    _say(f"stopped at step {end} of {config.total_steps} (stop_after); "
         "run again with the same --workdir to resume")
    ckpt.close()
    run.writer.close()
    return summary

  if config.test:
    summary["test"] = _test(run)
  ckpt.close()
  run.writer.close()
  if config.export and jax.process_index() == 0:
    _export(workdir)  # metadata (accuracies, config hash) comes from the workdir
  return summary
