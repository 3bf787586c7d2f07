"""psa_billing.local"""
