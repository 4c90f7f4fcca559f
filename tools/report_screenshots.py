"""Screenshots of a session report as a phone (390 px) and a laptop (1280 px) show it.

    python tools/report_screenshots.py SESSION_DIR [--out DIR] [--height 1600]

Renders SESSION_DIR/report.html in headless Chromium (Debian's `chromium`
package) and writes report_390.png and report_1280.png, the top of the page at
each width, with what the browser measured (page wider than the screen, images
loaded, smallest text).
"""

from __future__ import annotations

import os
import sys

from absl import app
from absl import flags

from ferjax.live import report_check

_OUT = flags.DEFINE_string("out", None, "Folder for the PNGs (default: the session folder).")
_HEIGHT = flags.DEFINE_integer("height", 1600, "Screenshot height in CSS pixels.")
WIDTHS = (390, 1280)


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError("give one session folder (it holds report.html)")
  page = os.path.join(argv[1], "report.html")
  if not os.path.isfile(page):
    sys.exit(f"error: {page} not found; run tools/live.py first (it writes the report)")
  chromium = report_check.find_chromium()
  if chromium is None:
    sys.exit("error: no Chromium found; install Debian's chromium package "
             "(apt-get install chromium)")
  out = _OUT.value or argv[1]
  os.makedirs(out, exist_ok=True)
  try:
    for width in WIDTHS:
      facts = report_check.measure(chromium, page, width)
      png = report_check.screenshot(chromium, page, width,
                                    os.path.join(out, f"report_{width}.png"), _HEIGHT.value)
      print(f"{png}: page {facts['page_width']} px on a {facts['window_width']} px screen, "
            f"{facts['images_loaded']}/{facts['images']} images loaded, smallest text "
            f"{facts['smallest_text_px']:g} px")
  except report_check.BrowserError as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  app.run(main)
