"""psa_billing_dev.local"""
