"""Pure, jitted pieces of training: optimizer, initial state, train step, eval step.

The train state is a pytree dict: `params`, `batch_stats` (nnx.State),
`opt_state`, `step` (int32) and `key` (raw uint32 PRNG key). The step draws
its batch from device-resident arrays, so the host only calls it in a loop.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx
from jax.sharding import Mesh

from ferjax.train import augment
from ferjax.train import config_lib
from ferjax import models
from ferjax.train import sharding

State = dict[str, Any]


def learning_rate_schedule(config: ml_collections.ConfigDict) -> optax.Schedule:
  """Linear warmup, then cosine decay to 0 or a constant rate."""
  if config.schedule == "cosine":
    return optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, config.warmup_steps, config.total_steps, 0.0)
  warmup = optax.linear_schedule(0.0, config.learning_rate, max(config.warmup_steps, 1))
  return optax.join_schedules(
      [warmup, optax.constant_schedule(config.learning_rate)], [config.warmup_steps])


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Clipping, then SGD(-Nesterov) with decoupled-from-bias weight decay, or AdamW."""
  schedule = learning_rate_schedule(config)
  decay_mask = lambda params: jax.tree.map(lambda p: p.ndim > 1, params)  # Kernels only.
  parts = []
  if config.grad_clip_norm > 0:
    parts.append(optax.clip_by_global_norm(config.grad_clip_norm))
  if config.optimizer == "sgd":
    if config.weight_decay > 0:
      parts.append(optax.add_decayed_weights(config.weight_decay, mask=decay_mask))
    parts.append(optax.sgd(schedule, momentum=config.momentum or None,
                           nesterov=config.nesterov))
  else:
    parts.append(optax.adamw(schedule, weight_decay=config.weight_decay, mask=decay_mask))
  return optax.chain(*parts)


def build_model(config: ml_collections.ConfigDict, num_outputs: int, seed: int
                ) -> nnx.Module:
  """The configured model, `num_outputs` wide, with the configured compute dtype."""
  kwargs = dict(config.model_kwargs)
  kwargs["dtype"] = jnp.dtype(config.dtype)  # A name from config_lib.DTYPES.
  return models.create_model(config.model, num_outputs,
                             rngs=nnx.Rngs(seed), **kwargs)


def init_state(config: ml_collections.ConfigDict, spec: config_lib.RunSpec
               ) -> tuple[nnx.GraphDef, nnx.State, State]:
  """(graphdef, rng template, train state) for step 0, on the default device."""
  key = jax.random.PRNGKey(config.seed)
  model = build_model(config, spec.num_outputs,
                      int(jax.random.randint(key, (), 0, 2**31 - 1)))
  graphdef, params, batch_stats, rngs = nnx.split(model, nnx.Param, nnx.BatchStat, ...)
  state = {"params": params, "batch_stats": batch_stats,
           "opt_state": make_optimizer(config).init(params),
           "step": jnp.zeros((), jnp.int32), "key": key}
  return graphdef, rngs, state


def _fresh_rngs(template: nnx.State, key: jax.Array) -> nnx.State:
  """The model's RNG streams re-keyed from `key` (one fold per stream), counts zeroed."""
  leaves, treedef = jax.tree.flatten(template)
  out = []
  for i, leaf in enumerate(leaves):
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      out.append(jax.random.wrap_key_data(jax.random.fold_in(key, i)))
    elif leaf.dtype == jnp.uint32 and leaf.ndim == 0:
      out.append(jnp.zeros_like(leaf))
    else:
      out.append(leaf)
  return jax.tree.unflatten(treedef, out)


def batch_indices(key: jax.Array, step: jax.Array, num_examples: int, batch_size: int,
                  weight: jax.Array | None = None) -> jax.Array:
  """Indices of the global batch of `step`.

  Without `weight`, every epoch is a fresh permutation (each example once); with
  it, examples are drawn with replacement with probabilities `weight`.
  """
  steps_per_epoch = num_examples // batch_size
  epoch_key = jax.random.fold_in(jax.random.fold_in(key, 1), step // steps_per_epoch)
  if weight is not None:
    return jax.random.choice(jax.random.fold_in(epoch_key, step), num_examples,
                             (batch_size,), p=weight)
  order = jax.random.permutation(epoch_key, num_examples)
  return jax.lax.dynamic_slice_in_dim(order, (step % steps_per_epoch) * batch_size,
                                      batch_size)


def make_train_step(config: ml_collections.ConfigDict, graphdef: nnx.GraphDef,
                    rng_template: nnx.State, num_examples: int, mesh: Mesh) -> Callable:
  """jit(step(state, data) -> (state, metrics)); `data` holds the whole train split.

  With a `weight` array in `data`, each batch is drawn with replacement with
  those probabilities; otherwise every epoch is a fresh permutation.

  Randomness comes from (key, step) for the global batch only, so the result is
  the same on any number of devices.
  """
  tx = make_optimizer(config)
  schedule = learning_rate_schedule(config)
  batch_size = config.batch_size
  batch = sharding.batch_sharding(mesh)
  constrain = lambda x: jax.lax.with_sharding_constraint(x, batch)

  def step_fn(state: State, data: dict[str, jax.Array]) -> tuple[State, dict[str, jax.Array]]:
    step = state["step"]
    indices = batch_indices(state["key"], step, num_examples, batch_size, data.get("weight"))
    k_augment, k_mix, k_dropout = jax.random.split(
        jax.random.fold_in(jax.random.fold_in(state["key"], 2), step), 3)
    images = constrain(data["image"][indices].astype(jnp.float32))
    labels = constrain(data["label"][indices])
    targets = constrain(data["target"][indices])
    images = augment.augment_batch(images, k_augment, config.augment)
    images = augment.degrade_batch(images, jax.random.fold_in(k_augment, 1), config.augment)
    images, targets = augment.mix_batch(images, targets, k_mix,
                                        mixup_alpha=config.mixup_alpha,
                                        cutmix_alpha=config.cutmix_alpha)
    targets = augment.smooth_labels(targets, config.label_smoothing)
    inputs = constrain(models.preprocess(images))
    rngs = _fresh_rngs(rng_template, k_dropout)

    model = nnx.merge(graphdef, state["params"], state["batch_stats"], rngs)
    model.train()

    def loss_fn(model):
      logits = model(inputs)
      return optax.softmax_cross_entropy(logits, targets).mean(), logits

    (loss, logits), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
    batch_stats = nnx.state(model, nnx.BatchStat)
    updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
    metrics = {"loss": loss,
               "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
               "grad_norm": optax.tree.norm(grads),
               "learning_rate": schedule(step)}
    new_state = {"params": params, "batch_stats": batch_stats, "opt_state": opt_state,
                 "step": step + 1, "key": state["key"]}
    return new_state, metrics

  replicated = sharding.replicated(mesh)
  return jax.jit(step_fn, in_shardings=(replicated, replicated),
                 out_shardings=(replicated, replicated), donate_argnums=0)


def make_eval_step(graphdef: nnx.GraphDef, rng_template: nnx.State, num_classes: int,
                   mesh: Mesh) -> Callable:
  """jit(eval(params, batch_stats, images, labels, mask) -> (confusion, loss_sum)).

  `confusion[i, j]` counts masked examples of true class i predicted as j.
  """

  def eval_fn(params, batch_stats, images, labels, mask):
    model = nnx.merge(graphdef, params, batch_stats, rng_template)
    model.eval()
    logits = model(models.preprocess(images))
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    predicted = jax.nn.one_hot(jnp.argmax(logits, -1), num_classes) * mask[:, None]
    confusion = jax.nn.one_hot(labels, num_classes).T @ predicted
    return confusion, jnp.sum(losses * mask)

  replicated = sharding.replicated(mesh)
  batch = sharding.batch_sharding(mesh)
  return jax.jit(eval_fn, in_shardings=(replicated, replicated, batch, batch, batch),
                 out_shardings=replicated)


def model_flops(graphdef: nnx.GraphDef, state: State, rng_template: nnx.State) -> float | None:
  """Forward-pass FLOPs for one 48x48 image as XLA counts them (None if unavailable)."""

  def forward(params, batch_stats, x):
    model = nnx.merge(graphdef, params, batch_stats, rng_template)
    model.eval()
    return model(x)

  x = jax.ShapeDtypeStruct((1, models.IMAGE_SIZE, models.IMAGE_SIZE, 1), jnp.float32)
  try:
    cost = jax.jit(forward).lower(state["params"], state["batch_stats"], x).compile()
    cost = cost.cost_analysis()
  except Exception:  # pylint: disable=broad-except  # Cost analysis is best-effort.
    return None
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  return float(cost.get("flops", 0.0)) or None if cost else None


def count_params(state: State) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(state["params"]))
