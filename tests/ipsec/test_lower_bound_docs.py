"""What the README says of ``lower_bound`` in a one-shot ``tcpscope ipsec`` is what it prints.

Why: the README listed ``--json`` ``provenance.<counter>.lower_bound`` among the places that say
a total is a lower bound, but ``ipsec`` is a one-shot that reports the totals counted from events
as null, so that key can only be null there.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_one_shot_json_lower_bound_is_null_as_the_readme_says() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "ipsec", "--json", "--provider", "kernel"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for instance in json.loads(done.stdout)["instances"]:
        for counter, prov in instance["provenance"].items():
            assert "lower_bound" in prov, counter  # the documented shape
            assert prov["lower_bound"] is None, counter
    text = " ".join((ROOT / "README.md").read_text().split())
    said = re.search(r"these totals are \*\*lower bounds\*\* and say so \(([^)]*)\)", text)
    assert said, "README: the sentence naming where lower bounds show is gone or reworded"
    assert "--json" not in said[1]  # a one-shot: never a lower bound there
    assert "`provenance.<counter>.lower_bound` is always `null`" in text
