# mpi_lib.sh: the prologue the mpirun scripts share, sourced with their arguments
# (DESCENT MPIEXEC DATA_DIR): bin, mpiexec and data set, a scratch folder $tmp removed
# at exit, lib.sh's helpers (check, num, close; fail counts failures), and
# mpi NP ARGS...: mpirun of NP ranks (oversubscribed: CI has 2 cores) that a hung job
# cannot outlive by more than two minutes.
bin=$1
mpiexec=$2
data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
mpi() { timeout 120 "$mpiexec" --oversubscribe -np "$@"; }
