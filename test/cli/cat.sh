# cords-cat: listing, selection, concatenation, checking, errors.
. "$(dirname "$0")/lib.sh"
D=$TESTDATA

# Build a stream from pieces with the tool itself: cat of one stream is itself.
printf '' > "$T/empty"
expect_exit 0 "empty input is an empty stream" cords-cat -o "$T/e.tzst" "$T/empty"
check "empty output file" test ! -s "$T/e.tzst"

if [ -f "$D/stream/small.tzst" ]; then
	expect_exit 0 "list a stream" cords-cat -l "$D/stream/small.tzst"
	check "listing names the record" grep -q '^x ' "$T/.out"
	cords-cat "$D/stream/small.tzst" "$D/stream/small.tzst" > "$T/two.tzst"
	n1=$(cords-cat -l "$D/stream/small.tzst" | wc -l)
	n2=$(cords-cat -l "$T/two.tzst" | wc -l)
	check "concatenation doubles the records" test "$n2" -eq $((2 * n1))
	check "byte concatenation is a valid stream" sh -c "cat '$D/stream/small.tzst' '$D/stream/small.tzst' | cords-cat --check"
	check "zstdcat decodes a stream" sh -c "zstdcat '$D/stream/small.tzst' | head -c 4 | grep -q CRD1"
	cords-cat -n y "$T/two.tzst" > "$T/y.tzst"
	check "selection keeps only the named records" sh -c "cords-cat -l '$T/y.tzst' | awk '{print \$1}' | sort -u | grep -qx y"
	head -c 100 "$D/stream/small.tzst" > "$T/cut.tzst"
	expect_exit 1 "truncated stream" cords-cat --check "$T/cut.tzst"
	err_has "truncation named" "truncated"
	err_has "file named" "cut.tzst"
	expect_exit 1 "no half-written output on error" cords-cat -o "$T/out.tzst" "$T/cut.tzst"
	check "output file not left behind" sh -c "! ls '$T'/out.tzst* 2>/dev/null"
fi
printf 'garbage garbage garbage' > "$T/garbage"
expect_exit 1 "garbage is refused" cords-cat --check "$T/garbage"
err_has "says it is not a stream" "not a zstd frame"
expect_exit 1 "missing file" cords-cat --check "$T/nope"
expect_exit 2 "unknown option" cords-cat --bogus
expect_exit 0 "--help" cords-cat --help
check "--help on stdout" grep -q Usage "$T/.out"
expect_exit 0 "--version" cords-cat --version

# Two output modes at once are refused, not decided by the last one.
expect_exit 2 "-l with --npz refused" cords-cat -l --npz "$T/x.npz" "$D/stream/small.tzst"
err_has "names both" "-l and --npz do not go together"
check "and writes nothing" test ! -e "$T/x.npz"
expect_exit 2 "--check with -l refused" cords-cat --check -l "$D/stream/small.tzst"
