"""What the three programs share at start-up: quiet logs and a help that exits 0; and a
way to keep stdout for a machine-readable report."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable

_HELP = ("-h", "-?", "--help", "--helpshort", "--helpfull")
# What `pip install "ferjax[train]"` adds to the runtime install (top-level modules).
TRAIN_MODULES = ("jax", "flax", "optax", "orbax", "tensorflow", "tensorflow_datasets",
                 "ml_collections")


def require_train_extra(command: str) -> None:
  """Exits with one line if the training extra is not installed."""
  missing = [m for m in TRAIN_MODULES if importlib.util.find_spec(m) is None]
  if missing:
    sys.exit(f"error: {command} needs the training extra ({', '.join(missing)} not "
             'installed): pip install "ferjax[train]"')


@contextlib.contextmanager
def stdout_to_stderr():
  """Meanwhile, whatever is written to stdout (by Python or by native code, e.g. a
  dataset's first preparation) goes to stderr, so that stdout holds only the report
  printed afterwards."""
  sys.stdout.flush()
  saved = os.dup(1)
  try:
    os.dup2(2, 1)
    with contextlib.redirect_stdout(sys.stderr):
      yield
  finally:
    sys.stderr.flush()
    os.dup2(saved, 1)
    os.close(saved)


def _asks_for_verbosity(argv: list[str]) -> bool:
  return any(a.startswith(("--verbosity", "-v=", "--v=")) or a == "-v" for a in argv[1:])


def quiet_startup(argv: list[str]) -> None:
  """Silences TensorFlow/XLA/gRPC start-up chatter unless --verbosity asks for it.

  Must run before TensorFlow is imported. absl's Python logging is set to
  warnings by `run` below.
  """
  if not _asks_for_verbosity(argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("GLOG_minloglevel", "3")


# Start-up chatter that native libraries (TensorFlow, XLA, absl C++, TFLite) print to
# the stderr file descriptor whatever TF_CPP_MIN_LOG_LEVEL says.
_NATIVE_NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d\d|E\d{4} \d\d:\d\d:\d\d.*cu(?:Init|da)"
    rb"|WARNING: All log messages before absl::InitializeLog"
    rb"|INFO: Created TensorFlow Lite)")


def filter_native_stderr() -> None:
  """Drops native start-up chatter from file descriptor 2; every other line passes.

  A pipe replaces fd 2 and a thread copies its lines to the real stderr, skipping
  `_NATIVE_NOISE`; at exit fd 2 is restored and the pipe drained.
  """
  read_fd, write_fd = os.pipe()
  real_stderr = os.dup(2)
  sys.stderr.flush()
  os.dup2(write_fd, 2)
  os.close(write_fd)

  def pump() -> None:
    with os.fdopen(read_fd, "rb") as pipe:
      for line in pipe:
        if not _NATIVE_NOISE.match(line):
          os.write(real_stderr, line)

  thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
  thread.start()

  def restore() -> None:
    sys.stderr.flush()
    os.dup2(real_stderr, 2)  # Closes the pipe's last writer in this process.
    thread.join(timeout=2.0)

  atexit.register(restore)


def run(main: Callable[[list[str]], None], module_name: str, doc: str | None,
        argv: list[str] | None = None, **app_kwargs) -> None:
  """absl `app.run(main)` with quiet start-up and `--help` printing usage and exiting 0."""
  argv = list(sys.argv if argv is None else argv)
  if any(a in _HELP for a in argv[1:]):
    from absl import flags  # pylint: disable=g-import-not-at-top
    print((doc or "").strip() + "\n\nflags:\n" + flags.FLAGS.module_help(module_name))
    sys.exit(0)
  quiet_startup(argv)
  from absl import app, logging  # pylint: disable=g-import-not-at-top
  if not _asks_for_verbosity(argv):
    logging.set_verbosity(logging.WARNING)
    filter_native_stderr()
  app.run(main, argv=argv, **app_kwargs)
