"""Benchmarks: measured ratios against the baseline a user would otherwise use."""
