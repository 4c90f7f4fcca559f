"""Test-wide settings: quiet TensorFlow logs, CPU only."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO_ROOT, "..", "shared")


@pytest.fixture(scope="session")
def exported_model_dir(tmp_path_factory) -> str:
  """The compact network, exported with jax2tf (untrained: for plumbing, not accuracy)."""
  from flax import nnx  # pylint: disable=g-import-not-at-top
  from ferjax import export  # pylint: disable=g-import-not-at-top
  from ferjax.labels import EMOTIONS  # pylint: disable=g-import-not-at-top
  from ferjax.models import create_model  # pylint: disable=g-import-not-at-top
  out = tmp_path_factory.mktemp("exported") / "model"
  model = create_model("mini_xception", len(EMOTIONS), rngs=nnx.Rngs(0))
  export.export(model, out, metadata={"model": "mini_xception"}, tflite_batch=16)
  return str(out)
