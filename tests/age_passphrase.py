#!/usr/bin/env python3
"""Decrypts an age file with the stock `age` command in passphrase mode, for
tests/it/export.rs. `age` reads a passphrase only from a terminal, so this
runs it on a pseudo-terminal and types the passphrase (from the environment
variable AGE_TEST_PASSPHRASE) at its prompt.

Usage: age_passphrase.py IN OUT. Exit status: age's.
"""

import os
import pty
import sys

src, dst = sys.argv[1], sys.argv[2]
passphrase = os.environ["AGE_TEST_PASSPHRASE"].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp("age", ["age", "--decrypt", "--output", dst, src])
seen = b""
typed = False
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    seen += data
    if not typed and b"passphrase" in seen.lower():
        os.write(fd, passphrase + b"\n")
        typed = True
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
