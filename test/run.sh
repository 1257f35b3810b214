#!/bin/sh
# Runs every unit test binary and every command-line test script, counts the
# PASS:/FAIL:/SKIP: lines they print, lists each skip with its reason and ends
# with "N passed, N failed, N skipped". A binary or script that exits non-zero
# without printing a FAIL, or prints no line at all, counts as one failure, so
# crashes and silent exits are never taken for success; a skip is never a
# pass, and a run in which no test ran fails. TESTS=pattern runs a subset.
: "${BIN:?}" "${BUILD:?}"
export BIN BUILD
top=$(cd "$(dirname "$0")/.." && pwd)
export TOP="$top" TESTDATA="$top/testdata"
export PATH="$BIN:$PATH"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
# The tests' models are tiny: thousands of parallel regions of microseconds.
# On a machine with other work, threads that spin at every barrier wait for
# each other's time slices, and a 2 s test took minutes (cords(7), ENVIRONMENT).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0 fail=0 skip=0
: > "$log/skips"
for d in "$BIN" "$BUILD/test"; do
	if [ ! -d "$d" ]; then
		echo "FAIL: $d does not exist: build first (make check builds it)"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done
avx512=$(grep -m1 -ow avx512f /proc/cpuinfo 2>/dev/null)
run_one() { # name, command...
	name=$1; shift
	out="$log/out"
	"$@" >"$out" 2>"$log/err"
	rc=$?
	p=$(grep -c '^PASS: ' "$out")
	f=$(grep -c '^FAIL: ' "$out")
	s=$(grep -c '^SKIP: ' "$out")
	grep '^FAIL: ' "$out"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name exited with status $rc"
		tail -n 20 "$log/err" | sed 's/^/    /'
		f=1
	elif [ "$f" -ne 0 ]; then
		tail -n 20 "$log/err" | sed 's/^/    /'
	elif [ $((p + s)) -eq 0 ]; then
		echo "FAIL: $name printed no PASS, FAIL or SKIP line"
		tail -n 20 "$log/err" | sed 's/^/    /'
		f=1
	fi
	grep '^SKIP: ' "$out" | sed "s|^SKIP: |$name: |" >> "$log/skips"
	[ -n "${VERBOSE:-}" ] && cat "$out"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-40s %4d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s" >&2
}
for t in "$BUILD"/test/*; do
	[ -x "$t" ] || continue
	case "$t" in *${TESTS:-}*) ;; *) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
	# The whole-model tests again with every 3x3 stride-1 convolution by
	# Winograd (on CPUs where oneDNN has it; the tiny fixtures' maps would
	# otherwise stay direct): see CORDS_CONV in cords(7).
	case "$t" in */train_*) run_one "unit/$(basename "$t") (winograd)" env CORDS_CONV=winograd "$t" ;; esac
	# The CPU backend's tests again as on a CPU without AVX-512, where oneDNN's
	# JIT takes channel blocks of 8, not 16 (lib/cpu/backend_cpu.c: cpu_block).
	if [ -n "$avx512" ]; then
		case "$t" in */ops|*/backend_train|*/model|*/eig_net|*/train_*)
			run_one "unit/$(basename "$t") (AVX2)" env DNNL_MAX_CPU_ISA=AVX2 "$t" ;;
		esac
	fi
done
for t in "$BUILD"/fuzz/*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case "fuzz-$n" in *${TESTS:-}*) ;; *) continue ;; esac
	set -- "$top"/testdata/fuzz/"$n"/*
	[ -e "$1" ] && run_one "fuzz/$n" "$t" --expect "$top/test/fuzz/outcomes" "$@"
done
# lib/README's rules on the sources: layers, and a library that neither
# prints nor exits.
case "lib_rules" in *${TESTS:-}*) run_one "lib_rules.sh" sh "$top/test/lib_rules.sh" ;; esac
for t in "$top"/test/cli/*.sh; do
	case "$t" in */lib.sh) continue ;; esac
	case "$t" in *${TESTS:-}*) ;; *) continue ;; esac
	run_one "cli/$(basename "$t")" sh "$t"
done
if [ -s "$log/skips" ]; then
	echo "skipped:"
	sed 's/^/  /' "$log/skips"
fi
if [ $((pass + fail + skip)) -eq 0 ]; then
	echo "FAIL: no test ran${TESTS:+ (TESTS=$TESTS matches none)}"
	fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
