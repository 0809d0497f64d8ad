"""Settings, logging and process plumbing shared by the doors (starter/) and worker.py."""
