"""Orbax checkpoints of a training run, and `restore_best` for export and inference.

Workdir layout::

    config.json        the run's config (restore needs nothing else)
    checkpoints/<step> latest `keep` steps: items model, train, info
    best/<step>        best by validation accuracy: items model, info
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from flax import nnx

from ferjax.train import config_lib
from ferjax import inference
from ferjax import models

CONFIG_FILE = "config.json"
LATEST_DIR = "checkpoints"
BEST_DIR = "best"


def save_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Writes the config as JSON (only from process 0)."""
  if jax.process_index() != 0:
    return
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, CONFIG_FILE), "w", encoding="utf-8") as f:
    f.write(config.to_json(indent=2))


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config saved by `save_config`."""
  with open(os.path.join(workdir, CONFIG_FILE), encoding="utf-8") as f:
    return ml_collections.ConfigDict(json.load(f))


def _abstract(tree, sharding=None):
  """Shapes and dtypes of `tree` (with `sharding`, default: its own) for restoring."""
  def one(x):
    return jax.ShapeDtypeStruct(x.shape, x.dtype,
                                sharding=sharding or getattr(x, "sharding", None))
  return jax.tree.map(one, tree)


class Checkpointer:
  """The latest `keep` checkpoints plus the single best one by validation accuracy."""

  def __init__(self, workdir: str, keep: int):
    workdir = os.path.abspath(workdir)
    # Both managers save the same steps: their cross-process barriers need distinct names.
    self._latest = ocp.CheckpointManager(
        os.path.join(workdir, LATEST_DIR),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True,
            multiprocessing_options=ocp.options.MultiprocessingOptions(
                barrier_sync_key_prefix=LATEST_DIR)))
    self._best = ocp.CheckpointManager(
        os.path.join(workdir, BEST_DIR),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=1, create=True,
            multiprocessing_options=ocp.options.MultiprocessingOptions(
                barrier_sync_key_prefix=BEST_DIR)))

  def latest_step(self) -> int | None:
    return self._latest.latest_step()

  def best_info(self) -> dict[str, Any] | None:
    """The info saved with the best checkpoint, or None if there is none yet."""
    step = self._best.latest_step()
    if step is None:
      return None
    return self._best.restore(step, args=ocp.args.Composite(info=ocp.args.JsonRestore()))["info"]

  def save(self, step: int, state: dict[str, Any], info: dict[str, Any], *,
           is_best: bool) -> None:
    """Saves the full train state; also as the best model if `is_best`."""
    model_state = {"params": state["params"], "batch_stats": state["batch_stats"]}
    train_state = {k: state[k] for k in ("opt_state", "step", "key")}
    self._latest.save(step, args=ocp.args.Composite(
        model=ocp.args.StandardSave(model_state),
        train=ocp.args.StandardSave(train_state),
        info=ocp.args.JsonSave(info)))
    if is_best:
      self._best.save(step, args=ocp.args.Composite(
          model=ocp.args.StandardSave(model_state), info=ocp.args.JsonSave(info)))

  def restore_latest(self, state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The latest full train state, shaped and sharded like `state`, and its info."""
    model_keys = ("params", "batch_stats")
    restored = self._latest.restore(self._latest.latest_step(), args=ocp.args.Composite(
        model=ocp.args.StandardRestore(_abstract({k: state[k] for k in model_keys})),
        train=ocp.args.StandardRestore(
            _abstract({k: state[k] for k in ("opt_state", "step", "key")})),
        info=ocp.args.JsonRestore()))
    return {**restored["model"], **restored["train"]}, restored["info"]

  def restore_best_model(self, model_state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The best model state (shaped like `model_state`) and info, or None if none saved."""
    step = self._best.latest_step()
    if step is None:
      return None
    restored = self._best.restore(step, args=ocp.args.Composite(
        model=ocp.args.StandardRestore(_abstract(model_state)), info=ocp.args.JsonRestore()))
    return restored["model"], restored["info"]

  def wait(self) -> None:
    self._latest.wait_until_finished()
    self._best.wait_until_finished()

  def close(self) -> None:
    self._latest.close()
    self._best.close()


def _architecture_mismatch(source: str) -> config_lib.ConfigError:
  return config_lib.ConfigError(
      f"init_from: the model in {source} has a different architecture (model, "
      "model_kwargs or number of classes) from this config")


def _model_state_from_workdir(workdir: str) -> tuple[dict[str, Any], int]:
  """Params and batch stats of a training workdir's best model, and its step."""
  model, _, info = restore_best(workdir)
  _, params, batch_stats, _ = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
  return {"params": params, "batch_stats": batch_stats}, int(info["step"])


def _model_state_from_export(export_dir: str, config: ml_collections.ConfigDict
                             ) -> tuple[dict[str, Any], int]:
  """Params and batch stats read back from an export's SavedModel variables.

  `ferjax.train.export` stores the model's non-RNG variables as `param_<i>` in the
  flattening order of `nnx.split(model, nnx.RngState, ...)`, member after member
  for an ensemble (`config.init_member` picks one); the same split of a model
  built from `config` gives the tree they go back into.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  metadata = inference.read_metadata(export_dir)
  members = metadata.get("members") or [metadata]
  member = config.get("init_member", 0)
  if member >= len(members):
    raise config_lib.ConfigError(
        f"init_member {member}: {export_dir} holds {len(members)} model(s), numbered "
        "from 0")
  # The export's own outputs: its classes, plus "not a face" if it has that output.
  num_outputs = len(metadata["class_names"]) + int(bool(metadata.get("face_output")))
  model = models.create_model(config.model, num_outputs, rngs=nnx.Rngs(0),
                              **dict(config.model_kwargs))
  graphdef, rng_state, rest = nnx.split(model, nnx.RngState, ...)
  template, treedef = jax.tree_util.tree_flatten(rest)
  stored = tf.saved_model.load(os.path.join(export_dir, inference.SAVED_MODEL_DIR)).params
  if (members[member].get("model") not in (None, config.model)
      or len(stored) != len(members) * len(template)):
    raise _architecture_mismatch(export_dir)  # Shapes are checked by the caller.
  stored = stored[member * len(template):(member + 1) * len(template)]
  leaves = [np.asarray(v.numpy(), t.dtype) for v, t in zip(stored, template)]
  model = nnx.merge(graphdef, rng_state, jax.tree_util.tree_unflatten(treedef, leaves))
  _, params, batch_stats, _ = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
  return {"params": params, "batch_stats": batch_stats}, int(members[member].get("step") or 0)


def _grown_head(loaded: Any, fresh: Any) -> Any:
  """`loaded`, or for an output layer one output short, `loaded` plus `fresh`'s last output.

  So a model without the "not a face" output starts one that has it: the emotion
  outputs keep their weights, the new one starts as initialised.
  """
  loaded = np.asarray(loaded)
  if loaded.shape[:-1] == fresh.shape[:-1] and loaded.shape[-1] + 1 == fresh.shape[-1]:
    return np.concatenate([loaded, np.asarray(fresh)[..., -1:].astype(loaded.dtype)], -1)
  return loaded


def warm_start_weights(state: dict[str, Any], source: str,
                       config: ml_collections.ConfigDict) -> tuple[dict[str, Any], int]:
  """`state` with params and batch stats from `source`; the optimizer stays fresh.

  `source` is a training workdir (its best model) or an export folder such as
  the shipped `ferjax/pretrained/realtime`. Returns (state, source step). The source must
  be the same architecture: a mismatch raises ConfigError naming it.
  """
  if os.path.isfile(os.path.join(source, CONFIG_FILE)):
    loaded, step = _model_state_from_workdir(source)
  elif os.path.isdir(os.path.join(source, inference.SAVED_MODEL_DIR)):
    loaded, step = _model_state_from_export(source, config)
  else:
    raise config_lib.ConfigError(
        f"init_from: {source} is neither a training workdir (no {CONFIG_FILE}) nor an "
        f"export (no {inference.SAVED_MODEL_DIR}/)")
  target = {k: state[k] for k in loaded}
  if jax.tree.structure(loaded) != jax.tree.structure(target):
    raise _architecture_mismatch(source)
  if config.get("face_output"):
    loaded = jax.tree.map(_grown_head, loaded, target)
  shapes = lambda tree: jax.tree.map(lambda x: tuple(x.shape), tree)
  if shapes(loaded) != shapes(target):
    raise _architecture_mismatch(source)
  loaded = jax.tree.map(lambda s, t: jax.numpy.asarray(s, t.dtype), loaded, target)
  return {**state, **loaded}, step


def restore_best(workdir: str) -> tuple[nnx.Module, ml_collections.ConfigDict, dict[str, Any]]:
  """(model in eval mode, config, info) from the best checkpoint, else the latest.

  `info` holds at least `step` and `validation_accuracy`. The model computes in
  float32 whatever dtype it was trained with.
  """
  config = load_config(workdir)
  num_outputs = config_lib.run_spec(config).num_outputs
  model = models.create_model(config.model, num_outputs, rngs=nnx.Rngs(0),
                              **dict(config.model_kwargs))
  graphdef, params, batch_stats, rest = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
  template = {"params": params, "batch_stats": batch_stats}
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = _abstract(template, device)
  # A local read: in a multi-process run only one process (e.g. the exporter) calls this.
  this_process = ocp.options.MultiprocessingOptions(
      primary_host=jax.process_index(), active_processes={jax.process_index()})
  restored = None
  for subdir in (BEST_DIR, LATEST_DIR):
    path = os.path.join(os.path.abspath(workdir), subdir)
    if not os.path.isdir(path):
      continue
    manager = ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(
        create=False, multiprocessing_options=this_process))
    step = manager.latest_step()
    if step is not None:
      restored = manager.restore(step, args=ocp.args.Composite(
          model=ocp.args.StandardRestore(abstract), info=ocp.args.JsonRestore()))
      manager.close()
      break
    manager.close()
  if restored is None:
    raise FileNotFoundError(f"{workdir}: no checkpoint in {BEST_DIR}/ or {LATEST_DIR}/")
  model = nnx.merge(graphdef, restored["model"]["params"], restored["model"]["batch_stats"],
                    rest)
  model.eval()
  return model, config, dict(restored["info"])

