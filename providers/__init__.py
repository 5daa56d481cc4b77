"""hastack's dynamic providers: one module per provider, each a thin layer over plan functions."""
