"""``python -m tui`` runs tcpscope (same as the ``tcpscope`` script)."""

from __future__ import annotations

import sys

from tui.cli import main

sys.exit(main())
