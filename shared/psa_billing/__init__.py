"""psa-billing: the monthly PSA billing engine (shared code: domain, adapters, use cases)."""
