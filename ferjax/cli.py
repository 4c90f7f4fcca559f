"""What the three programs share at start-up: quiet logs and a help that exits 0."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

_HELP = ("-h", "-?", "--help", "--helpshort", "--helpfull")


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
  app.run(main, argv=argv, **app_kwargs)
