#!/bin/sh
# The man pages as the index of the project (cords(7)): every page formats
# without a groff warning; every cords page, file and folder a page names
# exists; every tool, man page, backend operation and CORDS_* variable is
# found from cords(7) and the pages it points to.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1
command -v groff >/dev/null || { fail "groff is missing (scripts/deps.sh installs groff-base)"; exit 0; }

# groff's own warnings, with tbl where the page asks for it ('\" t)
for f in man/man[157]/*.[157]; do
	t=; head -n 1 "$f" | grep -q "^'\\\\\" t" && t=-t
	groff $t -man -ww -z "$f" >"$T/w" 2>&1
	check "$f formats without warnings" test ! -s "$T/w"
	[ -s "$T/w" ] && sed 's/^/    /' "$T/w" | head -5
done

# Page text without font changes, \- as -
text() { sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(em/ /g' "$@"; }

# Every cords page named as NAME(S) in a man page or in a tool's help exists.
{ text man/man[157]/*.[157]; cat cmd/*.c cmd/common/*.c; } |
	grep -oE 'cords(-[a-z0-9]+)*[" ]*\([157]\)' | sed -E 's/[" ]*\(([157])\)$/ \1/' | sort -u >"$T/refs"
: >"$T/missing"
while read -r name sec; do
	[ -f "man/man$sec/$name.$sec" ] || echo "$name($sec)" >>"$T/missing"
done <"$T/refs"
check "every cords page named is in man/ ($(wc -l <"$T/refs") names)" test ! -s "$T/missing"
sed 's/^/    missing: /' "$T/missing" | head

# Every file and folder of the tree a man page names exists (globs must match;
# upper-case words are placeholders, as in cmd/NAME.c).
text man/man[157]/*.[157] |
	grep -oE '(^|[^A-Za-z0-9_./-])(lib|cmd|kernels|test|testdata|bench|pipelines|scripts|man)/[A-Za-z0-9_.*/+-]*' |
	sed -E 's/^[^a-z]//; s/[.,]+$//' | grep -vE '/([A-Z]{2,}[^/]*)$|/[A-Z]{2,}[._]' | sort -u >"$T/paths"
: >"$T/missing"
while read -r p; do
	# shellcheck disable=SC2086
	ls -d $p >/dev/null 2>&1 || echo "$p" >>"$T/missing"
done <"$T/paths"
check "every file the man pages name exists ($(wc -l <"$T/paths") paths)" test ! -s "$T/missing"
sed 's/^/    missing: /' "$T/missing" | head

# Every tool has its page, and cords(7) names it; cords(7) names every page.
: >"$T/missing"
for c in cmd/*.c; do
	n=cords-$(basename "$c" .c)
	[ -f "man/man1/$n.1" ] || echo "$n: no man/man1/$n.1" >>"$T/missing"
done
for f in man/man[157]/*.[157]; do
	n=$(basename "$f"); s=${n##*.}; n=${n%.*}
	[ "$n.$s" = cords.7 ] && continue
	text man/man7/cords.7 | grep -qE "(^|[^a-z-])$n[\" ]*\\($s\\)" || echo "$n($s): not in cords(7)" >>"$T/missing"
done
check "cords(7) indexes every tool and every man page" test ! -s "$T/missing"
sed 's/^/    /' "$T/missing" | head

# Every operation of struct cords_backend is in cords-backend(7), OPERATIONS.
sed -n '/^struct cords_backend {/,/^};/p' lib/core/backend.h | grep -oE '^[[:space:]]*[a-z_]+[ *]*\(\*[a-z0-9_]+\)' |
	sed -E 's/.*\(\*([a-z0-9_]+)\)$/\1/' >"$T/ops"
sed -n '/^\.SH OPERATIONS/,/^\.SH [A-Z]/p' man/man7/cords-backend.7 | grep -E '^\.BR? ' |
	grep -oE '[a-z0-9_]+' >"$T/listed"
: >"$T/missing"
while read -r op; do grep -qx "$op" "$T/listed" || echo "$op" >>"$T/missing"; done <"$T/ops"
check "cords-backend(7) lists every backend operation ($(wc -l <"$T/ops") ops)" \
	test -s "$T/ops" -a ! -s "$T/missing"
sed 's/^/    not listed: /' "$T/missing" | head

# Every CORDS_* variable the code reads is under ENVIRONMENT in cords(7) or cords-cuda(7).
grep -rhoE '"CORDS_[A-Z_]+"' lib cmd kernels | tr -d '"' | sort -u >"$T/vars"
sed -n '/^\.SH ENVIRONMENT/,/^\.SH [A-Z]/p' man/man7/cords.7 man/man7/cords-cuda.7 | grep -E '^\.BR? ' >"$T/env"
: >"$T/missing"
while read -r v; do grep -qw "$v" "$T/env" || echo "$v" >>"$T/missing"; done <"$T/vars"
check "every CORDS_* variable is documented ($(wc -l <"$T/vars") variables)" test -s "$T/vars" -a ! -s "$T/missing"
sed 's/^/    undocumented: /' "$T/missing" | head

# Nothing cites the brief the project started from (S''PEC): a clone lacks it;
# the design is in man/man7 (cords(7)). bench/results/ keeps history as it was.
grep -rnE 'S''PEC(\.md|[[:space:]]*(§|\\\(sc|section|[0-9]))' --exclude-dir=.git --exclude-dir='build*' --exclude-dir=results \
	--include='*.[ch]' --include='*.cu' --include='*.[157]' --include='*.sh' --include='*.mk' \
	--include='*.py' --include='*.md' --include=README . >"$T/spec"
check "nothing cites S""PEC, a document outside the repository" test ! -s "$T/spec"
sed 's/^/    /' "$T/spec" | head
