"""Tooling around the service: the drift check, the demo catalogue and the benchmarks."""
