"""psa_billing.dal"""
