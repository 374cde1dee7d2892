"""A conformance driver that writes garbage (ctest conform.bad_driver_garbage): not HDF5."""
import sys

with open(sys.argv[2], "wb") as response:
    response.write(b"this is not an HDF5 file\n" * 10)
