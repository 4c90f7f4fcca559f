"""Writes one section of BENCHMARKS.md, leaving the other sections as they are."""

from __future__ import annotations

import datetime
import os
import platform
import re
import sys

BENCHMARKS_MD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "BENCHMARKS.md")
_HEADER = "# Benchmarks\n\nEvery number here is written by a script in `benchmarks/`.\n"


def machine() -> str:
  """One line describing this machine."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      names = [l.split(":", 1)[1].strip() for l in f if l.startswith("model name")]
    if names:
      cpu = names[0]
  except OSError:
    pass
  return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}")


def provenance() -> str:
  """Machine, command and date lines for the top of a section."""
  script = os.path.relpath(sys.argv[0])
  if script.startswith("benchmarks" + os.sep):  # Run as `python -m benchmarks.x`.
    script = "-m " + script[:-len(".py")].replace(os.sep, ".")
  command = "python " + " ".join([script] + sys.argv[1:])
  return (f"- Machine: {machine()}\n- Command: `{command}`\n"
          f"- Date: {datetime.date.today().isoformat()}\n")


def update_section(title: str, body: str, path: str = BENCHMARKS_MD) -> None:
  """Replaces (or appends) the `## title` section of BENCHMARKS.md with `body`."""
  text = open(path).read() if os.path.exists(path) else _HEADER
  section = f"## {title}\n\n{body.strip()}\n"
  pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
  if pattern.search(text):
    text = pattern.sub(lambda _: section + "\n", text, count=1)
  else:
    text = text.rstrip("\n") + "\n\n" + section
  with open(path, "w") as f:
    f.write(text.rstrip("\n") + "\n")


def publish(title: str, body: str, write: bool = True) -> None:
  """Prints a section's `body` and, with `write`, stores it in BENCHMARKS.md."""
  print(body)
  if write:
    update_section(title, body)
