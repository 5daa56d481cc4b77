"""hastack's components: HypervisorCluster, ProtectedVM, GuestPgCluster, and the stack that joins them."""
