"""The `python -m hastack` commands.  They sit above components/ (render, check, simulate and
drill run the Pulumi program under Pulumi's mocks), so the core in hastack/ stays below it."""
