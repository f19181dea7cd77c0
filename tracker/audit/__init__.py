"""Audit: verification of the hash chains, histories, and the export and import of the log."""
