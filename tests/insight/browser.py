"""A campaign report as a person sees it: Debian's headless chromium renders the page to a
screenshot and to its DOM after the scripts ran. Skipped, with the reason, where chromium is
absent (`.ci/run` installs it)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,2000",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run does)")
    return found


@dataclass
class Rendered:
    dom: str
    png: bytes

    @property
    def png_size(self) -> tuple[int, int]:
        assert self.png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        width, height = struct.unpack(">II", self.png[16:24])  # IHDR comes first
        return width, height

    def drawn_canvases(self) -> dict[str, tuple[float, float]]:
        """Each canvas the page's script saw Chart.js render: its id and drawn size."""
        drawn = {}
        for tag in re.findall(r"<canvas[^>]*>", self.dom):
            ident = re.search(r'id="([^"]+)"', tag)
            size = re.search(r'data-drawn="([\d.]+)x([\d.]+)"', tag)
            if ident and size:
                drawn[ident.group(1)] = (float(size.group(1)), float(size.group(2)))
        return drawn


def render(page: Path, profile: Path) -> Rendered:
    """The page's DOM after its scripts ran, and a 1280x2000 screenshot. No network: the page
    must carry everything it needs."""
    binary = chromium()
    shot = profile / "shot.png"
    common = [binary, *FLAGS, f"--user-data-dir={profile / 'profile'}"]
    taken = subprocess.run(
        [*common, f"--screenshot={shot}", page.resolve().as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file(), taken.stderr.decode(errors="replace")[-2000:]
    dumped = subprocess.run(
        [*common, "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        timeout=120,
        text=True,
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    return Rendered(dom=dumped.stdout, png=shot.read_bytes())
