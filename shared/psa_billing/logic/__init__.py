"""psa_billing.logic"""
