"""Watching the platform (probes, canary, load, database checks); never imports orchestration."""
