"""Hypothesis strategies for fuzzing a reader with bad input: mutated annotation documents and damaged files.

For plugin authors as much as for idiff's own tests (needs the ``dev`` extra's ``hypothesis``)::

    from hypothesis import given, strategies as st
    from idiff.testing.fuzz import fuzz_settings, mutated_json

    @fuzz_settings()
    @given(data=st.data())
    def test_reader_gives_data_errors_only(data):
        document, changes = data.draw(mutated_json(valid_document))
        ...  # write it, read it: a result or a DataError naming the file, nothing else

The budget is ``IDIFF_FUZZ_EXAMPLES`` examples per test (default 30, so the fast suite stays fast); with the
variable unset the examples are derandomized (the same every run: no flaky CI), with it set they explore.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

__all__ = ["WEIRD_VALUES", "damaged_bytes", "fuzz_settings", "misspellings", "mutated_json"]

#: Values that a careless or hostile annotation file may hold where something else is expected.
WEIRD_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, -7.5, 1e308, float("nan"), float("inf"), "", "x", "../../../../etc/passwd", "/etc/passwd",
    "a\x00b", [], [1, 2], [[]], {}, {"counts": "zz", "size": [1, 1]}, 2**70,
)


def fuzz_settings(**overrides: Any) -> settings:
    """Hypothesis settings for reader fuzzing: ``IDIFF_FUZZ_EXAMPLES`` examples (default 30), no deadline."""
    examples = os.environ.get("IDIFF_FUZZ_EXAMPLES")
    options: dict[str, Any] = {
        "max_examples": int(examples or 30),
        "deadline": None,
        "derandomize": examples is None,
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                  HealthCheck.data_too_large, HealthCheck.filter_too_much],
    }
    options.update(overrides)
    return settings(**options)


def misspellings(key: str) -> st.SearchStrategy[str]:
    """Plausible typos of a key: a letter dropped, doubled or swapped, a plural, another case."""
    variants = {key + "s", key.upper(), key.capitalize(), key.replace("_", ""), key + " "}
    variants |= {key[:i] + key[i + 1:] for i in range(len(key))}
    variants |= {key[:i] + key[i] + key[i:] for i in range(len(key))}
    variants |= {key[:i] + key[i + 1] + key[i] + key[i + 2:] for i in range(len(key) - 1)}
    variants.discard(key)
    return st.sampled_from(sorted(variants) or [key + "_"])


@st.composite
def _mutate_once(draw: st.DrawFn, document: Any) -> tuple[Any, str]:
    """One change at a random place of ``document`` (a random walk down from the root)."""
    root = {"": document}
    parent: Any = root
    key: Any = ""
    where = "document"
    while True:
        node = parent[key]
        children = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not children or draw(st.integers(0, 9)) == 0:  # stop at a level 1 time in 10: most changes go deep
            break
        parent, key = node, draw(st.sampled_from(children))
        where += f"[{key!r}]"
    node = parent[key]
    operations = ["replace"]
    if parent is not root:
        operations.append("delete")
    if isinstance(parent, dict) and parent is not root:
        operations.append("misspell")
    if isinstance(node, (list, str)) and node:
        operations += ["truncate", "duplicate"]
    operation = draw(st.sampled_from(operations))
    match operation:
        case "replace":
            parent[key] = copy.deepcopy(draw(st.sampled_from(WEIRD_VALUES)))
        case "delete":
            del parent[key]
        case "misspell":
            parent[draw(misspellings(str(key)))] = parent.pop(key)
        case "truncate":
            parent[key] = node[: draw(st.integers(0, len(node) - 1))]
        case "duplicate":
            parent[key] = node + node[:1] if isinstance(node, str) else [*node, copy.deepcopy(node[0])]
    return root[""], f"{operation} {where}"


@st.composite
def mutated_json(draw: st.DrawFn, document: Any, max_changes: int = 3) -> tuple[Any, list[str]]:
    """A deep copy of ``document`` with 1..``max_changes`` random changes, and a description of each."""
    document = copy.deepcopy(document)
    changes = []
    for _ in range(draw(st.integers(1, max_changes))):
        document, change = draw(_mutate_once(document))
        changes.append(change)
    return document, changes


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> tuple[bytes, str]:
    """``data`` cut short, with bytes overwritten, with junk appended, or emptied; and what was done."""
    operation = draw(st.sampled_from(["truncate", "overwrite", "append", "empty"]))
    match operation:
        case "truncate":
            cut = draw(st.integers(0, max(0, len(data) - 1)))
            return data[:cut], f"truncated to {cut} of {len(data)} bytes"
        case "overwrite":
            damaged = bytearray(data)
            for _ in range(draw(st.integers(1, 8))):
                damaged[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
            return bytes(damaged), "bytes overwritten"
        case "append":
            return data + draw(st.binary(min_size=1, max_size=64)), "junk appended"
    return b"", "emptied"
