"""Model zoo: shapes, sizes, modes and the shared preprocessing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ferjax import models


def _num_params(model) -> int:
  return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


@pytest.mark.parametrize("name,low,high", [("mini_xception", 1e5, 5e5),
                                           ("vgg", 2e6, 8e6)])
def test_default_models_shapes_and_sizes(name, low, high):
  """Shapes only: the model is traced abstractly, never initialised or run."""
  model = nnx.eval_shape(lambda: models.create_model(name, 7, rngs=nnx.Rngs(0)))
  assert low <= _num_params(model) <= high
  model.eval()
  graphdef, state = nnx.split(model)
  images = jax.ShapeDtypeStruct((3, 48, 48, 1), jnp.uint8)
  logits = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s)(models.preprocess(x)),
                          state, images)
  assert logits.shape == (3, 7)
  assert logits.dtype == jnp.float32


@pytest.mark.slow(9)
@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_num_classes_bfloat16_and_modes(name):
  # Compiled whole (one compilation per mode) rather than op by op.
  model = nnx.jit(lambda: models.create_model(name, 8, rngs=nnx.Rngs(1), widths=(8, 16),
                                              dtype=jnp.bfloat16))()
  forward = nnx.jit(lambda model, x: model(x))
  x = models.preprocess(np.random.default_rng(0).integers(0, 256, (4, 48, 48, 1)))
  model.eval()
  first, second = forward(model, x), forward(model, x)
  assert first.shape == (4, 8) and first.dtype == jnp.float32
  np.testing.assert_array_equal(first, second)  # Eval mode is deterministic.
  model.train()
  assert not np.allclose(forward(model, x), first)  # Dropout and batch statistics are on.


def test_unknown_model():
  with pytest.raises(ValueError, match="unknown model 'nope'"):
    models.create_model("nope", 7, rngs=nnx.Rngs(0))


def test_preprocess_range_and_shapes():
  images = np.array([[[0, 255]]], np.uint8).repeat(48, 1).repeat(24, 2)  # (1, 48, 48)
  out = models.preprocess(images)
  assert out.shape == (1, 48, 48, 1) and out.dtype == jnp.float32
  np.testing.assert_allclose([out.min(), out.max()], [-2.0, 2.0])
  np.testing.assert_array_equal(models.preprocess(images[..., None]), out)


def test_depthwise_matches_grouped_convolution():
  from ferjax.models import mini_xception  # pylint: disable=g-import-not-at-top
  layer = mini_xception.DepthwiseConv(5, dtype=jnp.float32, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(1), (2, 7, 9, 5))
  expected = jax.lax.conv_general_dilated(
      x, layer.kernel[...][:, :, None, :], (1, 1), "SAME",
      dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=5)
  np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_max_pool_2x2():
  from ferjax.models import layers  # pylint: disable=g-import-not-at-top
  x = jax.random.normal(jax.random.key(0), (2, 6, 5, 3))
  expected = nnx.max_pool(jnp.pad(x, ((0, 0), (0, 0), (0, 1), (0, 0)), mode="edge"),
                          (2, 2), strides=(2, 2))
  np.testing.assert_array_equal(layers.max_pool_2x2(x), expected)
