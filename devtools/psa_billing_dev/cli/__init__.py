"""psa_billing_dev.cli"""
