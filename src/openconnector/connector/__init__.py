"""OpenConnector: sources and calls, mappings, synchronisations, contracts and logs."""
