"""Development-only code: the local stack on moto, the ``psa-billing`` command line and
demo data. Installed for development (``make install``), never shipped in the Lambda
layer (``shared/`` is the layer; tests/unit/test_packaging.py checks it)."""
