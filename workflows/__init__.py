"""Durable logic only: imports temporalio, the standard library and our models, nothing else."""
