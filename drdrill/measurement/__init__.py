"""Pure measurement of a drill's records (RTO, RPO, verdicts); imports no I/O, no observation."""
