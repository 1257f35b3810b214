# Sourced by the bench scripts: the PyTorch builds they measure against.
# torches prints one "LABEL PYTHON" line for each: PyPI's torch first (the
# anchor: what `pip install torch` gives a user; the venv `make bench-deps`
# makes in BENCH_VENV, default /work/venv-torch), Debian's python3-torch
# second, each only where it imports. TORCHES="LABEL=PYTHON ..." overrides.
BENCH_VENV=${BENCH_VENV:-/work/venv-torch}
torches() {
	if [ -n "${TORCHES:-}" ]; then
		for t in $TORCHES; do echo "${t%%=*} ${t#*=}"; done
		return
	fi
	if "$BENCH_VENV/bin/python" -c 'import torch' 2>/dev/null; then
		echo "pypi $BENCH_VENV/bin/python"
	else
		echo "bench: no torch in $BENCH_VENV (make bench-deps): the PyPI column is missing" >&2
	fi
	if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
		echo "debian /usr/bin/python3"
	fi
}
# "torch 2.15.0 (pypi)" for a LABEL PYTHON pair
torch_name() { echo "torch $("$2" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null) ($1)"; }
# the machine and its load, for the head of a results file
machine() {
	echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
		"$(free -g | awk '/^Mem/ { print $2 }') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}
