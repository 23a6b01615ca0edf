"""IPsec counter tests (kernel, strongSwan lab, parsers, sampler, CLI)."""
