#!/usr/bin/env bash
# Build NEST from source WITH HDF5 into its own venv, so that `nest.SonataNetwork(...).BuildNetwork()`
# works: the PyPI nest-simulator wheel is built without HDF5 and refuses to read SONATA edges.
#
# Usage:  bench/build_nest_hdf5.sh PREFIX [NEST_VERSION]
#   PREFIX        where the venv goes (e.g. /opt/nest-hdf5); PREFIX/bin/python then imports nest
#   NEST_VERSION  default 3.10.0
# Environment:
#   JOBS=2            parallel compile jobs (ninja's default, cores + 2, starves a shared machine)
#   NEST_OPTIMIZE=-O2 compiler optimisation (-O1 compiles faster; results are the same: no fast-math)
#   NICE=19           the compile runs under `nice -n $NICE` so that it only takes idle cycles
#   MPI=OFF           MPI=ON builds NEST with MPI (and mpi4py from source against the same libmpi),
#                     for `mpirun -np N PREFIX/bin/python -m encephagen.interop.sonata ...`;
#                     such a NEST still runs in one process without mpirun
# Needs (Debian): cmake ninja-build g++ libhdf5-dev libgsl-dev libboost-dev libltdl-dev
#   and with MPI=ON: libopenmpi-dev openmpi-bin (or libmpich-dev mpich)
# (HDF5_INCLUDEDIR / HDF5_LIBDIR point h5py at another libhdf5; default: Debian's serial one).
#
# Only the models an encephagen export uses are built (-Dwith-models), which cuts the compile
# from ~217 to ~90 translation units; no OpenMP (the cross-check runs on one thread).
# Then: PREFIX/bin/pip install -e '.[dev,sonata]' && PREFIX/bin/python -m pytest tests/test_sonata.py
# (and with MPI=ON also tests/test_mpi.py, which launches mpirun -np 2).
set -euo pipefail
prefix=${1:?usage: $0 PREFIX [NEST_VERSION]}
version=${2:-3.10.0}
jobs=${JOBS:-2}
optimize=${NEST_OPTIMIZE:--O2}
nice_level=${NICE:-19}
mpi=${MPI:-OFF}
models="aeif_psc_exp;iaf_psc_exp;static_synapse;poisson_generator;noise_generator;dc_generator"
models+=";spike_recorder;multimeter;spike_generator;spike_train_injector;parrot_neuron"

python3 -m venv "$prefix"
"$prefix/bin/pip" install -q 'numpy<2.4' 'cython>=3' scikit-build-core setuptools wheel pandas
# h5py from source against the same libhdf5 as NEST: the h5py wheel bundles another HDF5 (2.0),
# and with NEST's libhdf5 already loaded `import h5py` then fails ("Not a datatype").
HDF5_INCLUDEDIR=${HDF5_INCLUDEDIR:-/usr/include/hdf5/serial} \
HDF5_LIBDIR=${HDF5_LIBDIR:-/usr/lib/$(gcc -print-multiarch)/hdf5/serial} \
    nice -n "$nice_level" "$prefix/bin/pip" install -q --no-binary h5py h5py
# mpi4py from source too, so that it links the libmpi that NEST links (its wheels may bring their own);
# at -O1, because it only gathers spikes once, its one 2 MB C file then compiles in a fraction of
# the time, and in the background while NEST compiles.
mpi4py_job=
if [ "$mpi" = ON ] && ! "$prefix/bin/python" -c "import mpi4py" 2>/dev/null; then
    CFLAGS=-O1 nice -n "$nice_level" "$prefix/bin/pip" install -q --no-binary mpi4py mpi4py > "$prefix/mpi4py-build.log" 2>&1 &
    mpi4py_job=$!
fi
src=$prefix/src   # kept: its build/ directory makes a rebuild (or a CI cache) incremental
mkdir -p "$src"
[ -d "$src/nest_simulator-$version" ] || {
# (--no-build-isolation: reading the sdist's metadata then uses the build tools installed above,
# instead of compiling Cython from source as --no-binary :all: would for an isolated build env)
"$prefix/bin/pip" download -q --no-deps --no-binary :all: --no-build-isolation -d "$src" "nest-simulator==$version"
tar -xzf "$src"/nest_simulator-"$version".tar.gz -C "$src"; }

start=$(date +%s)
# scikit-build-core drives cmake + ninja; -C cmake.define.* overrides the sdist's defaults
# (which turn OpenMP on and build every model). Its default build type, Release, appends -O3
# after NEST's with-optimize flags; build type None leaves with-optimize in charge.
CMAKE_BUILD_PARALLEL_LEVEL=$jobs nice -n "$nice_level" "$prefix/bin/pip" install -v --no-build-isolation \
    -C cmake.build-type=None \
    -C cmake.define.with-hdf5=ON \
    -C "cmake.define.with-mpi=$mpi" \
    -C cmake.define.with-openmp=OFF \
    -C "cmake.define.with-optimize=$optimize" \
    -C "cmake.define.with-models=$models" \
    -C cmake.define.with-python=ON \
    -C cmake.define.with-gsl=ON \
    -C cmake.define.with-boost=ON \
    "$src/nest_simulator-$version"
if [ -n "$mpi4py_job" ]; then wait "$mpi4py_job" || { cat "$prefix/mpi4py-build.log"; exit 1; }; fi
echo "NEST (MPI=$mpi) build+install took $(( $(date +%s) - start )) s wall (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "CPU time (user sys) of this shell, then of its children (h5py and NEST compiles):"; times
"$prefix/bin/python" -c "import nest, h5py; assert nest.build_info['have_hdf5']; print('NEST', nest.__version__, 'with HDF5 in $prefix')"
if [ "$mpi" = ON ]; then
    "$prefix/bin/python" -c "import nest, mpi4py; assert nest.build_info['have_mpi']; print('NEST', nest.__version__, 'with MPI in $prefix')"
fi
