"""The embedded two-region lab: a real e-commerce platform on one machine.

``Lab`` is the library API; ``drdrill lab ...`` is a thin layer over it.
"""

from drdrill.lab.lab import Lab, Ports

__all__ = ["Lab", "Ports"]
