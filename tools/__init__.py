"""Project tooling that is not part of any layer: the lock, and the scanners' own uv project."""
