"""Webhooks: the deliverer that follows the log for each subscription (docs/webhooks.md)."""
