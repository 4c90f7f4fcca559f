"""Trains a facial-expression model.

    python -m ferjax.train --config experiments/smoke.py --workdir /tmp/smoke
    python -m ferjax.train --config experiments/fer2013.py --workdir runs/fer2013 \
        --config.npz_path=fer2013.npz --config.batch_size=64

Re-running with the same --workdir resumes from the latest checkpoint (a
finished run is left as it is). A non-empty folder that holds no training run
is refused.
"""

from __future__ import annotations

import sys

from ferjax import cli

cli.require_train_extra("ferjax-train (python -m ferjax.train)")

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from ferjax import files
from ferjax.train.config_lib import ConfigError
from ferjax.data.errors import DataError

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, e.g. experiments/fer2013.py.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, metrics and exports go here.")
_MULTIHOST = flags.DEFINE_bool("multihost", False,
                               "Call jax.distributed.initialize() first (multi-process runs).")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "With --multihost: host:port of process 0 (default: detected "
    "on clusters JAX knows, e.g. SLURM, TPU pods).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None,
                                      "With --multihost: how many processes (default: detected).")
_PROCESS_ID = flags.DEFINE_integer("process_id", None,
                                   "With --multihost: this process, 0..num_processes-1 "
                                   "(default: detected).")
flags.mark_flags_as_required(["config", "workdir"])


def _parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing, with bad --config.* overrides reported in one line."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f"error: {e}\nPass --help for the flags.")
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    message = str(e).replace("\\n", " ").replace("\\'", "'").strip("'\"")
    if message.count("'") % 2:  # The repr above lost the opening quote.
      message = "'" + message
    sys.exit(f"error: bad config override: {message}")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # Keep library INFO chatter off the console.
  try:  # Before JAX starts: a bad --workdir costs no set-up time.
    files.check_output_dir(_WORKDIR.value, "--workdir")
  except files.OutputError as e:
    sys.exit(f"error: {e}")
  import jax  # pylint: disable=g-import-not-at-top
  if _MULTIHOST.value:  # On CPUs, JAX's default gloo collectives connect the processes.
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value,
                               process_id=_PROCESS_ID.value)
  from ferjax.train import loop  # pylint: disable=g-import-not-at-top
  try:
    loop.train(_CONFIG.value, _WORKDIR.value)
  except DataError as e:
    sys.exit(f"error: {e}\n(For training pass --config.manual_dir=DIR, or a prepared "
             "--config.npz_path=FILE.)")
  except (ConfigError, loop.TrainingError, files.OutputError) as e:
    sys.exit(f"error: {e}")


def run() -> None:
  """Entry point of `ferjax-train` and `python -m ferjax.train`."""
  cli.run(main, __name__, __doc__, flags_parser=_parse_flags)


if __name__ == "__main__":
  run()
