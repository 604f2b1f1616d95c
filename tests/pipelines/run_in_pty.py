#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would, and writes everything it
printed (escape sequences included) to OUT.

usage: run_in_pty.py OUT COMMAND [ARG...]      exits with the command's exit status
"""
import os
import pty
import sys

out_path, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execvp(argv[0], argv)
chunks = []
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: the command ended and the terminal closed
        break
    if not data:
        break
    chunks.append(data)
_, status = os.waitpid(pid, 0)
with open(out_path, "wb") as f:
    f.write(b"".join(chunks))
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
