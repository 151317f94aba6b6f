"""Operating a cluster of nodes: local services from the Debian packages, HAProxy config, node processes."""
