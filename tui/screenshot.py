"""The palette's "Screenshot": an SVG of the screen in the current directory, said where.

Why not Textual's own: it writes to ~/Downloads, which a root shell or a server seldom has, and
its failure toast gave no reason; it also writes with a plain ``open()``, through a symlink
someone planted. tcpscope often runs as root, so the file is created new (never replacing or
following anything) and whole (a temporary file linked into place), and the toast names the
file or the reason.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Final

from core.safe_io import write_new

TRIES: Final = 20
"""Names tried (``-2``, ``-3`` … appended) before giving up: two shots in one second."""


def save_svg(svg: str, folder: Path, when: datetime) -> Path:
    """Write ``svg`` as a new ``tcpscope-YYYYmmdd-HHMMSS.svg`` in ``folder``; its path.

    Raises OSError (the folder not writable, full, …) with the reason in ``strerror``.
    """
    stem = f"tcpscope-{when:%Y%m%d-%H%M%S}"
    data = svg.encode()
    for n in range(1, TRIES + 1):
        path = folder / (f"{stem}.svg" if n == 1 else f"{stem}-{n}.svg")
        try:
            write_new(path, data)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(0, f"{stem}.svg and {TRIES - 1} other names are taken")
