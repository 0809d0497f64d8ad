"""The GitHub webhook door: verify, deduplicate, map to a run, signal it."""
