"""A conformance driver that answers every case "ok" with no output at all (ctest
conform.empty_ok_response_fails_every_check): a well-formed response with nothing to judge, which
must fail every check that has a case, never pass one."""
import sys

import h5py
import numpy

with h5py.File(sys.argv[1], "r") as request, h5py.File(sys.argv[2], "w") as response:
    response.attrs["protocol_version"] = request.attrs["protocol_version"]
    response.attrs["driver"] = numpy.bytes_("empty_ok.py")
    cases = response.create_group("cases")
    for name in request["cases"]:
        cases.create_group(name).attrs["status"] = numpy.bytes_("ok")
