"""The InvoiceNinja sync: a live, read-only view of InvoiceNinja invoices and quotes
joined to portal customers and projects, and pushes of billable work into InvoiceNinja.

Modules: ``settings`` (configuration), ``client`` (the httpx adapter), ``wire`` (what
the server sends), ``statuses`` (pure status rules), ``ports`` (what the use cases
need), ``connection`` / ``listing`` / ``push`` (the use cases), ``routes`` (FastAPI),
``wiring`` (the real adapters, built lazily). The click commands, the local stand-in and
the in-memory fakes are development tools: ``psa_billing_dev.invoiceninja_cli``,
``psa_billing_dev.invoiceninja_standin``, ``psa_billing_dev.invoiceninja_fakes``.
Nothing is imported here, so each entry point loads only what it uses.
"""
