"""drdrill: disaster-recovery drills that measure the real RTO and RPO."""

__all__ = ["__version__", "discover"]

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> dict[str, object]:
    """What plain ``chaos discover drdrill`` lists: the Chaos Toolkit activities of
    ``drdrill.chaos`` (imported here, on demand: importing drdrill stays light)."""
    from drdrill.chaos import discover as activities

    return activities(discover_system)
