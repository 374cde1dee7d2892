"""A conformance driver that crashes (ctest conform.bad_driver_crash): an uncaught exception."""
import sys

raise RuntimeError(f"the implementation under test blew up on {sys.argv[1]}")
