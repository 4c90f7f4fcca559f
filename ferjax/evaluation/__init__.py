"""Evaluation (no JAX): an exported model on a labelled dataset; metrics, plots, the CLI.

    python tools/eval.py --dataset kdef --manual_dir ~/data/kdef    # or: ferjax-eval
"""
