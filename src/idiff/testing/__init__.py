"""Test helpers for idiff and its task plugins (tiny configs, an isolated plugin registry)."""
