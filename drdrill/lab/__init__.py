"""The embedded two-region lab: a real e-commerce platform on one machine.

``Lab`` is the library API; ``drdrill lab ...`` is a thin layer over it. The lab
imports nothing of the drill harness (targets, verification, configuration):
it takes its own ``LabSettings`` and the harness adapts to it.
"""

from drdrill.lab.platform import Lab
from drdrill.lab.settings import LabSettings
from drdrill.lab.status import LabStatus
from drdrill.lab.topology import Ports

__all__ = ["Lab", "LabSettings", "LabStatus", "Ports"]
