"""Results built once per test session and shared by its pytest-xdist workers."""

import fcntl
import os
import pickle
import shutil


def session_root(tmp_path_factory):
  """The temporary folder of this test session, the same for all its xdist workers."""
  root = tmp_path_factory.getbasetemp()
  return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def once_per_session(tmp_path_factory, name, build):
  """`build(folder)` run once per test session (all xdist workers together); its result.

  The first caller builds in `<session root>/<name>` under a file lock and pickles the
  result beside it; the others wait on the lock, then load that result. A failed
  build leaves no result: the next caller tries again (and fails the same way).
  """
  root = session_root(tmp_path_factory)
  folder, result_path = root / name, root / f"{name}.pickle"
  with open(root / f"{name}.lock", "w", encoding="utf-8") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
      if not result_path.exists():
        shutil.rmtree(folder, ignore_errors=True)  # What a failed build left.
        folder.mkdir()
        result = build(folder)
        partial = root / f"{name}.pickle.partial"
        with open(partial, "wb") as f:
          pickle.dump(result, f)
        os.replace(partial, result_path)
      with open(result_path, "rb") as f:
        return pickle.load(f)
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)
