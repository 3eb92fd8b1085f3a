#!/bin/bash
# Run HERE, from the repository root, before a session's first device call: the GPU machine's image has torch,
# transformers and accelerate but not diffusers, and nothing can be fetched there, so its wheel travels in .whl/
# (ignored by git; name it in the call's `carry`), at the version this checkout is tested with. PyAV's wheel (36 MB)
# would take the working tree over the 64 MiB a call may send; run.sh stands a stub in for it (no video file is
# read or written at full size).
set -euo pipefail
grep -qx '/.whl/' .git/info/exclude || echo '/.whl/' >> .git/info/exclude
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${tag}_x86_64")
done
version() { .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))"; }
for name in diffusers importlib_metadata; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${platforms[@]}" -d .whl "$name==$(version "$name")"
done
ls -l .whl
