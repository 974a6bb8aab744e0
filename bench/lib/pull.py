"""Reads a bounded amount (argv 3, bytes) from HOST PORT (argv 1, 2) in 1 MiB reads
and prints the seconds it took: a client that costs little CPU, so that the path
between it and the server is what is measured."""
import socket
import sys
import time

host, port, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
s = socket.create_connection((host, port))
got = 0
while got < want:
    chunk = s.recv(1 << 20)
    if not chunk:
        sys.exit(f"the server closed after {got} bytes")
    got += len(chunk)
print(f"{time.perf_counter() - t0:.4f}")
