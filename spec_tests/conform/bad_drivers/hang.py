"""A conformance driver that never finishes (ctest conform.bad_driver_hang): --timeout must end it."""
import time

while True:
    time.sleep(60)
