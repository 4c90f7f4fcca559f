"""Test-wide settings (quiet TensorFlow logs, CPU only) and shared session fixtures."""

import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One compilation cache for the session, shared with the training subprocesses:
# every run compiles the same initialisers and steps again otherwise.
_JAX_CACHE = tempfile.mkdtemp(prefix="ferjax-tests-jax-cache-")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _JAX_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import pytest  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO_ROOT, "..", "shared")
FER2013_DIR = os.path.join(SHARED, "datasets", "fer2013")


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
  shutil.rmtree(_JAX_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> tuple[str, dict]:
  """(workdir, summary) of a run of `smoke_config.make()` (seconds on a CPU), exported."""
  from ferjax.train import loop  # pylint: disable=g-import-not-at-top
  from tests import smoke_config  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path_factory.mktemp("smoke_run"))
  return workdir, loop.train(smoke_config.make(export=True), workdir)


@pytest.fixture(scope="session")
def smoke_workdir(smoke_run) -> str:
  """The workdir of `smoke_run`: trained with experiments/smoke.py and exported."""
  return smoke_run[0]


@pytest.fixture(scope="session")
def exported_model_dir(smoke_workdir) -> str:
  """The smoke-trained compact network, exported by the training run's export hook."""
  return os.path.join(smoke_workdir, "export")


@pytest.fixture(scope="session")
def fer2013_table():
  """The real FER2013 CSV beside the repo, parsed once per session (skips when absent)."""
  from ferjax.data import fer2013  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(os.path.join(FER2013_DIR, fer2013.ARCHIVE_NAME)):
    pytest.skip(f"real FER2013 not found in {os.path.abspath(FER2013_DIR)}")
  return fer2013.read_fer2013(FER2013_DIR)


@pytest.fixture(scope="session")
def fer2013_test_faces(fer2013_table):
  """Real FER2013 test-split (PrivateTest) faces (n, 48, 48) uint8 and their labels."""
  rows = fer2013_table.split_rows("test")
  return fer2013_table.images[rows], fer2013_table.labels[rows]


@pytest.fixture(scope="session")
def fer2013_npz(fer2013_table, tmp_path_factory) -> str:
  """`npz.prepare` of the real FER2013 (with FER+ votes), from the session's parse of the CSV."""
  from ferjax.data import fer2013, npz  # pylint: disable=g-import-not-at-top
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(fer2013, "read_fer2013", lambda manual_dir: fer2013_table)
    return npz.prepare(FER2013_DIR, tmp_path_factory.mktemp("fer2013") / "fer2013.npz")
