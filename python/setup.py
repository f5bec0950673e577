"""Builds the descent package's extension with libdescent compiled in.

pip builds in the source tree (pip >= 21.3), so the library's sources are found next
to this directory: pip install --no-build-isolation ./python (make python). Needs gcc,
python3-dev, python3-setuptools, and the library's own dependencies: OpenBLAS, cJSON,
zlib (scripts/deps.sh build). The sources are compiled with the flags the CMake build
gives the library (-O3, -fno-math-errno for the kernels, OpenMP for the threads).
"""
import glob
import os
import shlex
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the layers the package uses: core, update rules, schedules, checkpoints
LAYERS = ("core", "optim", "sched", "checkpoint")


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "openblas", "libcjson"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("descent: pkg-config could not find openblas and libcjson (run scripts/deps.sh): %s" % e)
    return shlex.split(out)


if not os.path.exists(os.path.join(ROOT, "include", "descent.h")):
    raise SystemExit("descent: build the package from the repository (pip install ./python), "
                     "its library sources are in %s" % ROOT)

lib_sources = sorted(os.path.relpath(f, HERE) for layer in LAYERS
                     for f in glob.glob(os.path.join(ROOT, "src", layer, "*.c")))
setup(
    name="descent",
    version="0.1.0",
    description="Gradient-descent optimizers matching torch.optim, for NumPy arrays and PyTorch tensors",
    packages=["descent"],
    ext_modules=[Extension(
        "descent._descent",
        sources=["src/_descent.c"] + lib_sources,
        include_dirs=[os.path.join(ROOT, "include")],
        define_macros=[("_POSIX_C_SOURCE", "200809L")],
        extra_compile_args=["-std=c11", "-O3", "-fno-math-errno", "-fopenmp"] + pkg_config("--cflags"),
        extra_link_args=["-fopenmp"] + pkg_config("--libs") + ["-lz", "-lm"],
    )],
    python_requires=">=3.9",
)
