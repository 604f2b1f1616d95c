#!/usr/bin/env python3
"""Says whose code each fuzzer finding is in, from the report of replaying it.

usage: fuzz_triage.py REPORT...   (each REPORT: what `TARGET FINDING` printed)

Prints one line per report: "kdpipe" or the library (libhdf5, libtorch, opencv, ...) whose frame is
the first one in the report's first stack that is not the sanitizer's, libFuzzer's or the C/C++
runtime's. An exception escaping a reader is kdpipe's whatever threw it: readers owe a named error;
so is running out of memory as a whole (no one frame to blame), and so is a leak whose stack passes
through kdpipe's code: kdpipe either owes the free (HDF5's strings, say) or should not have taken the
library's leaking path (HDF5's error paths run only in crash_guard's child, which exits unchecked). "unreproduced": the input ran
cleanly alone (the finding needed the state earlier inputs left, in HDF5's caches for instance).
"""
import re
import sys

FRAME = re.compile(r"^\s+#\d+ 0x[0-9a-f]+(?: in (?P<func>.+?))?(?:\s+\((?P<module>[^)+]+)(?:\+0x[0-9a-f]+)?\))?(?: \(BuildId: [0-9a-f]+\))?\s*(?P<source>/\S+)?$")
PLUMBING = ("__sanitizer", "__asan", "__lsan", "__interceptor", "fuzzer::", "__libc", "raise",
            "abort", "pthread_kill", "__pthread_kill", "gsignal", "std::terminate", "__cxa_",
            "__gnu_cxx::__verbose_terminate_handler", "memcpy", "memmove", "memset", "malloc",
            "calloc", "realloc", "free", "operator new", "operator delete", "_start", "main")
RUNTIME = ("libc.so", "libstdc++", "libgcc_s", "libpthread", "ld-linux")
LIBRARIES = (("libhdf5", "libhdf5"), ("libtorch", "libtorch"), ("libc10", "libtorch"),
             ("libopencv", "opencv"), ("libpng", "libpng"), ("libjpeg", "libjpeg"),
             ("libz.", "zlib"), ("libtbb", "oneTBB"))


def owner(report):
    if "terminate called after throwing" in report or "out-of-memory (used:" in report:
        return "kdpipe"
    if "ERROR:" not in report and "leak of" not in report:
        return "unreproduced"
    if "leak of" in report and re.search(r" in kd::", report):
        return "kdpipe"
    started = False
    for line in report.splitlines():
        if "ERROR:" in line or "leak of" in line:
            started = True
            continue
        m = FRAME.match(line) if started else None
        if not m:
            continue
        func, module = (m.group("func") or ""), (m.group("module") or "")
        if func.startswith(PLUMBING) or any(r in module for r in RUNTIME):
            continue
        for key, name in LIBRARIES:
            if key in module:
                return name
        return "kdpipe"
    return "kdpipe"  # no stack to blame a library with


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path, errors="replace") as f:
            print(owner(f.read()))
