"""tcpscope's UI-free core, and the one helper every package facade uses: :func:`lazy_exports`.

A package's ``__init__.py`` is its facade (``__all__``): what ``tui/`` and the commands may
import. The facades are lazy because a package's ``__init__`` runs whenever any of its modules
is imported, so an eager facade would load the whole package on every path. The one-shot
``tcpscope connections`` needs a few modules of each package; it must not pay for the TUI's row
index, reverse DNS or close actions because they are exported beside them. (The helper lives
here, not in a module of its own, because this file is imported on every path anyway.)

A facade lists its names three times, each for one reader: ``__all__`` (the public surface),
the imports under ``TYPE_CHECKING`` (mypy and import-linter see the real edges) and the homes
passed to :func:`lazy_exports` (the import done at run time); ``tests/core/test_facades.py`` keeps
the three equal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, homes: Mapping[str, tuple[str, ...]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` (PEP 562).

    Args:
        package: the facade's ``__name__``.
        homes: submodule (relative to ``package``) → the names it exports; ``"alias=name"``
            exports ``name`` as ``alias`` where the module's own name is too vague at package
            level (``namespace_label`` for ``namespaces.label``).
    """
    where = {
        export.partition("=")[0]: (f"{package}.{module}", export.rpartition("=")[2])
        for module, exports in homes.items()
        for export in exports
    }

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where[name]
        # __import__ rather than importlib.import_module: the import statement's own path, so
        # ``python -X importtime`` still counts the module.
        value = getattr(__import__(module, fromlist=(attribute,)), attribute)
        setattr(sys.modules[package], name, value)  # later uses are a plain lookup
        return value

    return __getattr__
