"""One module per paper experiment; each registers itself with ``@harness.experiment`` on import."""
