"""The embedded two-region lab: a real e-commerce platform on one machine.

``Lab`` is the library API; ``drdrill lab ...`` is a thin layer over it.
"""

from drdrill.lab.lab import Lab, Ports
from drdrill.lab.status import LabStatus

__all__ = ["Lab", "LabStatus", "Ports"]
