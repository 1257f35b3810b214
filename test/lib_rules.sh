#!/bin/sh
# lib/README's rules, checked on the sources: a folder of lib/ includes only
# headers of the folders above it (lib/README's order), and nothing in lib/
# prints, exits or handles signals (the tools in cmd/ do; the library returns
# -1 with a message). Each rule is checked again on a copy of lib/ with a
# violation planted, which it must catch.
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# upward LIB: "file:line: what" for every include of a header from a folder
# below the file's own, or from outside lib/.
upward() {
	order=$(sed -n 's|^\([a-z]*\)/  *.*|\1|p' "$1/README")
	hdrs=$(cd "$1" && ls ./*/*.h)
	awk -v order="$order" -v hdrs="$hdrs" '
	BEGIN {
		n = split(order, o)
		for (i = 1; i <= n; i++)
			rank[o[i]] = i
		m = split(hdrs, h)
		for (i = 1; i <= m; i++) {
			k = split(h[i], p, "/")
			dir[p[k]] = p[k - 1]
		}
	}
	/^[ \t]*#[ \t]*include[ \t]*"/ {
		match($0, /"[^"]+"/)
		inc = substr($0, RSTART + 1, RLENGTH - 2)
		k = split(FILENAME, p, "/")
		here = p[k - 1]
		if (!(here in rank))
			printf "%s: folder %s/ is not in lib/README\n", FILENAME, here
		else if (!(inc in dir))
			printf "%s:%d: includes %s, which is not in lib/\n", FILENAME, FNR, inc
		else if (rank[dir[inc]] > rank[here])
			printf "%s:%d: includes %s/%s, below %s/\n", FILENAME, FNR, dir[inc], inc, here
	}' "$1"/*/*.c "$1"/*/*.h
}

# speaks LIB: every call that prints, exits or installs a handler, and every
# use of stdout/stderr (the grep the reviewers use, and a little more).
speaks() {
	grep -rnE '(^|[^_a-zA-Z0-9])(exit|_Exit|_exit|quick_exit|abort|atexit|printf|vprintf|puts|perror|putchar|signal|sigaction|raise)[[:space:]]*\(|(^|[^_a-zA-Z0-9])(stdout|stderr)([^_a-zA-Z0-9]|$)' \
		"$1" --include=*.c --include=*.h
}

check() { # name, output of a check (empty: it holds)
	if [ -z "$2" ]; then
		echo "PASS: lib_rules: $1"
	else
		echo "FAIL: lib_rules: $1"
		printf '%s\n' "$2" | head -20 | sed 's/^/    /'
	fi
}

check "every folder of lib/ includes only the folders above it (lib/README)" "$(upward "$top/lib")"
check "nothing in lib/ prints, exits or handles signals" "$(speaks "$top/lib")"

# The same checks on a copy with a violation planted: they must fail.
cp -r "$top/lib" "$tmp/lib"
echo '#include "trainloop.h"' >>"$tmp/lib/cpu/backend_cpu.h"
printf 'static void f(void) { exit(1); }\n' >>"$tmp/lib/core/err.c"
planted=$(upward "$tmp/lib")
case "$planted" in
*"backend_cpu.h"*"includes train/trainloop.h, below cpu/"*) check "an upward include planted in lib/cpu is caught" "" ;;
*) check "an upward include planted in lib/cpu is caught" "not caught: $planted" ;;
esac
case "$(speaks "$tmp/lib")" in
*"err.c"*"exit(1)"*) check "an exit() planted in lib/core is caught" "" ;;
*) check "an exit() planted in lib/core is caught" "not caught" ;;
esac
