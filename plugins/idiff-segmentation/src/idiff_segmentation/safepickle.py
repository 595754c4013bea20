"""A restricted unpickler for the REFER ``refs(<splitBy>).p`` files.

REFER (Yu et al., 2016; github.com/lichengunc/refer) ships its referring expressions as a Python pickle. A pickle
can name any importable callable and have it called while loading (``os.system`` through ``__reduce__``), so an
untrusted ``.p`` file must never go through :func:`pickle.load`. The REFER files hold only lists of dicts of
strings and numbers, which the pickle machine builds with its own opcodes; a *global* (``find_class``) is never
needed. :class:`PlainUnpickler` therefore refuses every global and every persistent id, and the loaded object is
checked to be made of plain containers (dict, list, tuple, set), strings and numbers (int, float, bool, None).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from idiff.tasks.api import DataError

__all__ = ["PlainUnpickler", "UnsafePickleError", "load_plain_pickle"]

_PLAIN_ATOMS = (str, int, float, bool, type(None))
_PLAIN_CONTAINERS = (dict, list, tuple, set, frozenset)


class UnsafePickleError(DataError, ValueError):
    """A pickle asked for something other than plain containers, strings and numbers; the message names the file."""


class PlainUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global (class, function) and every persistent id."""

    def find_class(self, module: str, name: str) -> Any:
        """Refuse: a plain pickle never names a global."""
        raise pickle.UnpicklingError(
            f"refused to load global '{module}.{name}' (only plain containers, strings and numbers are allowed)"
        )

    def persistent_load(self, pid: Any) -> Any:
        """Refuse: a plain pickle has no persistent ids."""
        raise pickle.UnpicklingError("refused a persistent id (only plain containers, strings and numbers)")


def _check_plain(obj: Any, depth: int = 0) -> None:
    if depth > 64:
        raise pickle.UnpicklingError("nested deeper than 64 levels")
    if isinstance(obj, _PLAIN_ATOMS):
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_plain(key, depth + 1)
            _check_plain(value, depth + 1)
    elif isinstance(obj, _PLAIN_CONTAINERS):
        for item in obj:
            _check_plain(item, depth + 1)
    else:
        raise pickle.UnpicklingError(f"holds a {type(obj).__name__} (only plain containers, strings and numbers)")


def load_plain_pickle(path: Path | str) -> Any:
    """Load a pickle made only of plain containers, strings and numbers, executing nothing.

    Python 2 byte strings (the original REFER files were written by Python 2) are decoded as UTF-8.

    Raises:
        FileNotFoundError: the file is missing.
        UnsafePickleError: the pickle names a global, uses a persistent id, holds another type, or is corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pickle file not found")
    data = path.read_bytes()
    try:
        obj = PlainUnpickler(io.BytesIO(data), encoding="utf-8").load()
        _check_plain(obj)
    except pickle.UnpicklingError as err:
        raise UnsafePickleError(f"{path}: not loaded: {err}") from None
    except Exception as err:  # noqa: BLE001 - a corrupt or crafted pickle can fail in many ways; none runs code
        raise UnsafePickleError(f"{path}: not loaded: {type(err).__name__}: {err}") from None
    return obj
