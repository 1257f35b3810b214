# Helpers for command-line tests: each check prints PASS:/FAIL: lines that
# test/run.sh counts. Every script gets its own scratch directory in $T.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SCRIPT=$(basename "$0" .sh)

pass() { echo "PASS: $SCRIPT: $1"; }
fail() { echo "FAIL: $SCRIPT: $1"; }
# skip "what" "why": checks that cannot run here; test/run.sh lists them.
skip() { echo "SKIP: $SCRIPT: $1: $2"; }
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
# not command...: succeeds when the command fails (for check; sh -c would not see these functions)
not() { ! "$@"; }
# stderr of the last expect_exit contains a pattern
err_has() { if grep -q -- "$2" "$T/.err"; then pass "$1"; else fail "$1 (stderr lacks '$2')"; sed 's/^/    /' "$T/.err" | head -3; fi; }
have_python() { /usr/bin/python3 -c "import $1" 2>/dev/null; }
# worst.py: the one comparison of numbers (NaN and Inf fail); see its header.
WORST="$(cd "$(dirname "$0")" && pwd)/worst.py"
worst() { /usr/bin/python3 "$WORST" "$@"; }
# compare A B TOL: every tensor of model B within TOL x the largest entry of
# the same tensor of model A (integer tensors equal; needs numpy)
compare() {
	cords-cat --npz "$T/a.npz" "$1" && cords-cat --npz "$T/b.npz" "$2" && worst "$T/b.npz" "$T/a.npz" --of-max "$3"
}
