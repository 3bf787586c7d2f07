"""The InvoiceNinja sync: a live, read-only view of InvoiceNinja invoices and quotes
joined to portal customers and projects, and pushes of billable work into InvoiceNinja.

Modules: ``settings`` (configuration), ``client`` (the httpx adapter), ``wire`` (what
the server sends), ``statuses`` (pure status rules), ``ports`` (what the use cases
need), ``connection`` / ``listing`` / ``push`` (the use cases), ``routes`` (FastAPI),
``cli`` (click). Nothing is imported here, so each entry point loads only what it uses.
"""
