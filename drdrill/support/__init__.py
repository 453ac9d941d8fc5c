"""Small helpers (clock, durations, HTTP, JSONL, lock, redaction, wait); no drdrill layer."""
