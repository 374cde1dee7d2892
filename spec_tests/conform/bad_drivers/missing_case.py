"""A conformance driver that answers every case but one (ctest conform.bad_driver_missing_case):
the response breaks the protocol, which asks for every request case."""
import sys

import h5py
import numpy

with h5py.File(sys.argv[1], "r") as request, h5py.File(sys.argv[2], "w") as response:
    response.attrs["protocol_version"] = request.attrs["protocol_version"]
    response.attrs["driver"] = numpy.bytes_("missing_case.py")
    cases = response.create_group("cases")
    for name in sorted(request["cases"])[1:]:  # the first case left out
        cases.create_group(name).attrs["status"] = numpy.bytes_("missing")
