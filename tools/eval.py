"""Evaluates an exported ferjax model on a labelled dataset (see `ferjax.evaluation.cli`).

    python tools/eval.py --dataset kdef --manual_dir ~/data/kdef
"""

from ferjax.evaluation import cli

if __name__ == "__main__":
  cli.run()
