"""Test-wide settings (quiet TensorFlow logs, CPU only) and shared session fixtures.

The suite runs on every core with pytest-xdist (pyproject.toml). Session fixtures
that train, export or parse real data run once per test session, not once per
worker: the first worker to ask builds, the others wait for it and load its result.
"""

import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One compilation cache for the session, shared with the xdist workers and the training
# subprocesses (they inherit the environment): every run compiles the same initialisers
# and steps again otherwise. The process that made it removes it at the end.
_JAX_CACHE = None
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _JAX_CACHE = tempfile.mkdtemp(prefix="ferjax-tests-jax-cache-")
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import pytest  # pylint: disable=wrong-import-position

from tests.session_cache import once_per_session  # pylint: disable=wrong-import-position

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(REPO_ROOT, "..", "shared")
FER2013_DIR = os.path.join(SHARED, "datasets", "fer2013")


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
  if _JAX_CACHE is not None:
    shutil.rmtree(_JAX_CACHE, ignore_errors=True)


def _expected_seconds(item) -> float:
  mark = item.get_closest_marker("slow")
  return 0.0 if mark is None else float(mark.args[0] if mark.args else 1.0)


def pytest_collection_modifyitems(items):
  """Slow tests first, slowest first (the `slow` mark's seconds); the rest in file order.

  The workers take tests one at a time from the front, so the long ones run side by
  side from the start instead of one after another at the end.
  """
  items.sort(key=lambda item: -_expected_seconds(item))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> tuple[str, dict]:
  """(workdir, summary) of a run of `smoke_config.make()` (seconds on a CPU), exported.

  Tests only read the workdir (they copy it to change it): all workers share it.
  """

  def build(folder):
    from ferjax.train import loop  # pylint: disable=g-import-not-at-top
    from tests import smoke_config  # pylint: disable=g-import-not-at-top
    return str(folder), loop.train(smoke_config.make(export=True), str(folder))

  return once_per_session(tmp_path_factory, "smoke_run", build)


@pytest.fixture(scope="session")
def smoke_workdir(smoke_run) -> str:
  """The workdir of `smoke_run`: trained with experiments/smoke.py and exported."""
  return smoke_run[0]


@pytest.fixture(scope="session")
def exported_model_dir(smoke_workdir) -> str:
  """The smoke-trained compact network, exported by the training run's export hook."""
  return os.path.join(smoke_workdir, "export")


def _skip_without_real_fer2013():
  from ferjax.data import fer2013  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(os.path.join(FER2013_DIR, fer2013.ARCHIVE_NAME)):
    pytest.skip(f"real FER2013 not found in {os.path.abspath(FER2013_DIR)}")


@pytest.fixture(scope="session")
def fer2013_table(tmp_path_factory):
  """The real FER2013 CSV beside the repo, parsed once per session (skips when absent)."""
  _skip_without_real_fer2013()

  def build(folder):  # pylint: disable=unused-argument
    from ferjax.data import fer2013  # pylint: disable=g-import-not-at-top
    return fer2013.read_fer2013(FER2013_DIR)

  return once_per_session(tmp_path_factory, "fer2013_table", build)


@pytest.fixture(scope="session")
def fer2013_test_faces(fer2013_table):
  """Real FER2013 test-split (PrivateTest) faces (n, 48, 48) uint8 and their labels."""
  rows = fer2013_table.split_rows("test")
  return fer2013_table.images[rows], fer2013_table.labels[rows]


@pytest.fixture(scope="session")
def fer2013_npz(tmp_path_factory, request) -> str:
  """`npz.prepare` of the real FER2013 (with FER+ votes), from the session's parse of the CSV."""
  _skip_without_real_fer2013()

  def build(folder):
    from ferjax.data import fer2013, npz  # pylint: disable=g-import-not-at-top
    table = request.getfixturevalue("fer2013_table")
    with pytest.MonkeyPatch.context() as patch:
      patch.setattr(fer2013, "read_fer2013", lambda manual_dir: table)
      return npz.prepare(FER2013_DIR, folder / "fer2013.npz")

  return once_per_session(tmp_path_factory, "fer2013_npz", build)


@pytest.fixture(scope="session")
def one_device_run(tmp_path_factory) -> str:
  """The workdir of `smoke_config.make(**smoke_config.FEW_STEPS)`: a few steps on one device."""

  def build(folder):
    from ferjax.train import loop  # pylint: disable=g-import-not-at-top
    from tests import smoke_config  # pylint: disable=g-import-not-at-top
    loop.train(smoke_config.make(**smoke_config.FEW_STEPS), str(folder))
    return str(folder)

  return once_per_session(tmp_path_factory, "one_device_run", build)


@pytest.fixture(scope="session")
def tiny_fer_npz(tmp_path_factory):
  """A prepared .npz of a 40-row synthetic FER2013 archive (12 PrivateTest rows)."""
  from ferjax.data import npz  # pylint: disable=g-import-not-at-top
  from tests import data_fixtures as fx  # pylint: disable=g-import-not-at-top
  directory = tmp_path_factory.mktemp("tiny_fer")
  fx.write_fer2013_archive(str(directory / "manual"),
                           fx.fer2013_csv_text(fx.fer2013_rows(40)))
  return npz.prepare(directory / "manual", directory / "fer.npz")
