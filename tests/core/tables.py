"""The repository's own seed tables in the parsed-seed shape, for tests that need an oracle.

Why: the tables in :mod:`core.connections.seed_tables` and :mod:`core.connections.descriptions`
are checked against the seed documents once (``test_every_table_equals_the_parsed_seed``,
``test_descriptions_are_the_seeds_text``). Every other test compares what tcpscope shows with
these tables, so it runs in a bare clone without the seeds beside it.
"""

from __future__ import annotations

from core.connections import descriptions
from core.connections.seed_tables import ENUMS
from tests.core.seed import SeedProperty


def table_property(name: str) -> SeedProperty:
    """Property ``name`` as the repository's tables describe it."""
    table = ENUMS[name]
    return SeedProperty(
        name=name,
        mof_type=table.cim_type,
        description=descriptions.DESCRIPTIONS[name].split("\n\n"),
        inherited_from=descriptions.INHERITED_FROM.get(name),
        values=[
            (v.value if isinstance(v.value, str) else int(v.value), v.name, v.meaning)
            for v in table.values
        ],
        ranges=[(r.min, r.max, r.name, r.meaning) for r in table.ranges],
    )
