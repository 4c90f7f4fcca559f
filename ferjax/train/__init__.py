"""Training (JAX): config, input pipeline, augmentation, sharding, steps, checkpoints, loop, export.

    python -m ferjax.train --config experiments/smoke.py --workdir /tmp/smoke
    python -m ferjax.train.export --workdir runs/x --out models/x
"""
