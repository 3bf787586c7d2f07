"""psa_billing.cli"""
