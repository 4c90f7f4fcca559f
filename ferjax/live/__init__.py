"""Live analysis (no JAX): sources, tracking, smoothing, the pipeline, overlay, records.

    python tools/live.py --source demo --headless    # or: ferjax-live
"""
