#!/usr/bin/python3
"""tools/python/seed_api_driver.py, started once for the mutation audit (mutation_audit.py).

Every conform run of the audit starts the Python driver anew, and 1.3 of its ~2 s go to importing
torch, h5py and scikit-learn. This server imports them once and forks a child per request: the
child starts with those modules loaded but no `src` (each mutant's package is imported fresh),
runs the driver's main() on the mutant's repository and exits; the client is what conform runs
as its driver, so conform itself runs unchanged.

    warm_driver.py serve SOCKET                      # until killed
    warm_driver.py run SOCKET --repo REPO REQUEST RESPONSE   # conform's --driver; exit status = the driver's
"""
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER_FOLDER = os.path.abspath(os.path.join(HERE, "..", "..", "..", "tools", "python"))


def serve(path):
    # What the driver sets before loading the numerics libraries (one thread, as the referee).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import signal
    import h5py  # noqa: F401
    import numpy  # noqa: F401
    import torch
    try:
        import sklearn.cluster  # noqa: F401  (the fixed double's kmeans_init imports it)
    except ImportError:
        pass
    try:
        import pandas  # noqa: F401  (the fixed double's MetricsTracker.save and load import it)
    except ImportError:
        pass
    torch.set_num_threads(1)
    sys.path.insert(0, DRIVER_FOLDER)
    import seed_api_driver
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        if os.fork() == 0:
            server.close()
            code = 1
            try:
                argv = connection.recv(65536).decode().split("\0")
                sys.argv = ["seed_api_driver.py"] + argv
                try:
                    seed_api_driver.main()
                    code = 0
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else 1
                except Exception as error:  # the driver itself failed: as its process would
                    print(f"warm_driver: {type(error).__name__}: {error}", file=sys.stderr)
                    code = 1
            finally:
                try:
                    connection.sendall(bytes([code & 0xFF]))
                finally:
                    connection.close()
                    os._exit(0)
        connection.close()


def run(path, argv):
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    client.sendall("\0".join(argv).encode())
    reply = client.recv(1)
    return reply[0] if reply else 1


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2], sys.argv[3:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
