"""Live classroom analysis from a camera, video, GIF, folder or photo (see `ferjax.live.cli`).

    python tools/live.py --source demo --headless
"""

from ferjax.live import cli

if __name__ == "__main__":
  cli.run()
