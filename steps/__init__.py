"""Step definitions, by domain, registered from the root conftest.py."""
