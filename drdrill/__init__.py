"""drdrill: disaster-recovery drills that measure the real RTO and RPO."""

__all__ = ["__version__"]

__version__ = "0.1.0"
