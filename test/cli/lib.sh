# Helpers for command-line tests: each check prints PASS:/FAIL: lines that
# test/run.sh counts. Every script gets its own scratch directory in $T.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SCRIPT=$(basename "$0" .sh)

pass() { echo "PASS: $SCRIPT: $1"; }
fail() { echo "FAIL: $SCRIPT: $1"; }
check() { # description, then a shell condition/command
	d=$1; shift
	if "$@" >"$T/.cout" 2>"$T/.cerr"; then pass "$d"; else fail "$d"; sed "s/^/    /" "$T/.cerr" | head -5; fi
}
# expect_exit CODE "description" command...: exit status must be CODE and
# stderr exactly one line naming the tool.
expect_exit() {
	code=$1 d=$2; shift 2
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "$d (exit $rc, expected $code)"; sed 's/^/    /' "$T/.err" | head -5
	elif [ "$code" -ne 0 ] && ! head -n 1 "$T/.err" | grep -q '^cords-[a-z]*: '; then
		fail "$d (no 'cords-tool: ...' message)"; sed 's/^/    /' "$T/.err" | head -5
	else
		pass "$d"
	fi
}
# stderr of the last expect_exit contains a pattern
err_has() { if grep -q -- "$2" "$T/.err"; then pass "$1"; else fail "$1 (stderr lacks '$2')"; sed 's/^/    /' "$T/.err" | head -3; fi; }
have_python() { /usr/bin/python3 -c "import $1" 2>/dev/null; }
# compare A B RTOL: every parameter tensor of two models equal within RTOL (needs numpy)
compare() {
	cords-cat --npz "$T/a.npz" "$1" && cords-cat --npz "$T/b.npz" "$2" && /usr/bin/python3 - "$T/a.npz" "$T/b.npz" "$3" <<'PY'
import sys, numpy as np
a, b, tol = np.load(sys.argv[1]), np.load(sys.argv[2]), float(sys.argv[3])
assert sorted(a.files) == sorted(b.files), (a.files, b.files)
worst = 0.0
for k in a.files:
    if a[k].dtype.kind != 'f':
        continue
    d = np.abs(a[k].astype(np.float64) - b[k]).max(initial=0) / (np.abs(a[k]).max(initial=0) + 1e-12)
    worst = max(worst, d)
print("max relative difference", worst, file=sys.stderr)
assert worst <= tol, worst
PY
}
