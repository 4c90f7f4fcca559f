"""Test-wide settings: quiet TensorFlow logs, CPU only."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO_ROOT, "..", "shared")


@pytest.fixture(scope="session")
def smoke_workdir(tmp_path_factory) -> str:
  """A workdir trained with experiments/smoke.py (seconds on a CPU) and exported."""
  from ferjax.train import config_lib  # pylint: disable=g-import-not-at-top
  from ferjax.train import loop  # pylint: disable=g-import-not-at-top
  config = config_lib.load_recipe(os.path.join(REPO_ROOT, "experiments", "smoke.py"))
  config.export = True
  config.tensorboard = False
  workdir = str(tmp_path_factory.mktemp("smoke_run"))
  loop.train(config, workdir)
  return workdir


@pytest.fixture(scope="session")
def exported_model_dir(smoke_workdir) -> str:
  """The smoke-trained compact network, exported by the training run's export hook."""
  return os.path.join(smoke_workdir, "export")
