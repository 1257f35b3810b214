# The metadata keys: lib/io/meta.h defines each once, the METADATA KEYS table
# of cords-stream(5) lists the same keys, and lib/, cmd/ and kernels/ spell
# none of them out but through meta.h (a quoted key, or key= in a string).
# Not counted: getopt's option names, comment lines, and lines marked
# "not metadata" (another format's keys that happen to share a name).
. "$(dirname "$0")/lib.sh"
H=$TOP/lib/io/meta.h
M=$TOP/man/man5/cords-stream.5
sed -n 's/^#define CORDS_KEY_[A-Z0-9_]* "\([a-z0-9_]*\)".*/\1/p' "$H" > "$T/h"
sort -u "$T/h" > "$T/hs"
sed -n '/^\.SH METADATA KEYS/,/^\.SH [^M]/p' "$M" | sed -n '/^\.TS/,/^\.TE/p' |
	sed -n 's/^\([a-z0-9_]*\);.*/\1/p' | grep -vx key | sort > "$T/m"
check "meta.h defines keys (found $(wc -l < "$T/h"))" test "$(wc -l < "$T/h")" -gt 20
check "meta.h defines each key once" sh -c "sort '$T/h' | uniq -d | sed 's/^/twice: /' >&2; test \$(sort '$T/h' | uniq -d | wc -l) -eq 0"
check "every key of meta.h is in cords-stream(5)'s METADATA KEYS" sh -c "comm -23 '$T/hs' '$T/m' | sed 's/^/missing from the man page: /' >&2; test -z \"\$(comm -23 '$T/hs' '$T/m')\""
check "every key of cords-stream(5)'s METADATA KEYS is in meta.h" sh -c "comm -13 '$T/hs' '$T/m' | sed 's/^/missing from meta.h: /' >&2; test -z \"\$(comm -13 '$T/hs' '$T/m')\""
: > "$T/lit"
while read -r k; do
	(cd "$TOP" && grep -rnE --include='*.c' --include='*.h' --include='*.cu' \
		"(^|[^A-Za-z0-9_])\"$k(\"|=)|\\\\n$k=" lib cmd kernels) |
		grep -v '^lib/io/meta\.h:' | grep -vE "\{\"$k\", [a-z]+_argument" |
		grep -vE '^[^:]*:[0-9]+:[[:space:]]*(\*|/\*|//)' | grep -v 'not metadata' >> "$T/lit"
done < "$T/hs"
check "no key spelt out in lib/, cmd/, kernels/ but in meta.h" sh -c "sed 's/^/    /' '$T/lit' >&2; test ! -s '$T/lit'"
