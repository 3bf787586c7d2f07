"""psa_billing.ingest"""
