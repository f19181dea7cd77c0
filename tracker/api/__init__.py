"""The REST API: one router per resource, auth, problem+json and idempotency at the edge."""
