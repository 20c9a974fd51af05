"""Signoff: a human-in-the-loop governance gateway.

Nothing happens at import time; ``gateway.bootstrap`` wires the parts together.
"""

__all__: list[str] = []
