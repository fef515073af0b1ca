"""Contract suites that every backend (and later every sampler) must pass; see backend_contract."""
