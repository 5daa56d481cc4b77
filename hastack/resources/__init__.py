"""Host resources without Pulumi: one module per resource kind (see base.py for its shape)."""
