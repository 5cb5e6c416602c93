"""The core layer: the contract, the configuration, the roles, the run, its results and measurements."""
