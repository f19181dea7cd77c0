"""Configuration: the settings every process reads, and its logging."""
