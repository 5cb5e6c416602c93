"""reqrep's common package: the workload, the runner, measurements, reports and the command line."""

__version__ = "0.2.0"
