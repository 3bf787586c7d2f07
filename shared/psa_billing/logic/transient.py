"""The one error the state machine retries with backoff.

Adapters raise it for throttling, outages and timeouts (``psa_billing.dal.errors``);
handlers let it through (``@retry_transient``); ``Retry`` in the state machine matches
this class name. Pure: the use cases import it without loading boto3.
"""

from __future__ import annotations


class TransientError(Exception):
    """A failure worth retrying with backoff (Step Functions matches this class name)."""
