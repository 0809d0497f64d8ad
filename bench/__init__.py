"""Benchmarks: ratios against a baseline measured in the same process, never timed tests."""
