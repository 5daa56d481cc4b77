"""hastack core: config models, pure renderers, fact parsers, plans and the SSH transport.

Nothing in this package imports pulumi, so it can be rendered, simulated and tested offline.
"""
