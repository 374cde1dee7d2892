"""A conformance driver that answers in another protocol version (ctest conform.bad_driver_wrong_version)."""
import sys

import h5py
import numpy

with h5py.File(sys.argv[2], "w") as response:
    response.attrs["protocol_version"] = numpy.int64(99)
    response.create_group("cases")
