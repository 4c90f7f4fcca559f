"""Generated data with known answers, for smoke tests and benchmarks (never for models).

stripes: a learnable 7-class stand-in for FER2013; classroom: videos of a room of
real FER2013 faces with ground-truth IDs, boxes and labels.
"""
