"""The HTTP service: the original apps' REST routes, the public catalog and the UI."""
