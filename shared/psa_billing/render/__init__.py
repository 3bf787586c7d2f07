"""psa_billing.render"""
