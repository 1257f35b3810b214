# test/mutate.py (make mutate) on a tiny library of its own: each kind of
# verdict once, the sanitizer pass, the source never written, the scratch
# copy restored on ^C.
. "$(dirname "$0")/lib.sh"
M="$TOP/test/mutate.py"
P="$T/proj"
mkdir -p "$P/lib/tiny" "$P/test/unit"
cat > "$P/Makefile" <<'EOF'
BUILD ?= build
OPT := -O2
ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
endif
ALL := -std=c11 -D_DEFAULT_SOURCE -Wall -Werror $(SAN) $(CFLAGS)
$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL) -c -o $@ $<
$(BUILD)/libtiny.a: $(BUILD)/lib/tiny/tiny.o
	ar rcs $@ $^
$(BUILD)/test/%: test/unit/%.c $(BUILD)/libtiny.a
	@mkdir -p $(@D)
	$(CC) $(ALL) -o $@ $< $(BUILD)/libtiny.a -lm
EOF
cat > "$P/lib/tiny/tiny.c" <<'EOF'
/* The library the mutants go into. */
#include <unistd.h>

static inline int tiny_dead(int a)
{
	return a * 3;
}

int tiny_sum(const int *a, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += a[i];
	return s;
}

void tiny_scale(float *y, const float *x, int n, float k)
{
	for (int i = 0; i < n; i++)
		y[i] = x[i] * k;
}

void tiny_iota(int *c, int n)
{
	for (int k = 0; k < n; k++)
		c[k] = k;
}

int tiny_cap(int x)
{
	return x > 10 ? 10 : x;
}

int tiny_walk(int n)
{
	int i = 0;
	while (i != n) {
		i += 1;
		usleep(100);
	}
	return i;
}

int tiny_unused(int a)
{
	return a + 1;
}

int tiny_fails(int a)
{
	return tiny_cap(a) < 3
		       ? -1
		       : 0;
}
EOF
cat > "$P/test/unit/tiny.c" <<'EOF'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
int tiny_sum(const int *a, int n);
void tiny_scale(float *y, const float *x, int n, float k);
void tiny_iota(int *c, int n);
int tiny_cap(int x);
int tiny_walk(int n);
int main(void)
{
	int a[3] = {1, 2, 3}, *c = malloc(3 * sizeof *c);
	float x[3] = {1, 2, 3}, y[3];
	int bad = tiny_sum(a, 3) != 6 || tiny_cap(5) != 5 || tiny_walk(3) != 3;
	tiny_scale(y, x, 3, 2);
	tiny_iota(c, 3);
	for (int i = 0; i < 3; i++)
		bad |= !(fabsf(y[i] - 2 * x[i]) <= 1e-6f) || c[i] != i;
	printf(bad ? "FAIL: tiny\n" : "PASS: tiny\n");
	free(c);
	return bad;
}
EOF
cp -r "$P" "$T/orig"
python3 "$M" --root "$P" --work "$T/work" --list lib/tiny/tiny.c > "$T/list"
id_of() { grep -F -- "$1" "$T/list" | awk '{print $1}' | head -n 1; }
check "an error code over three lines is not mutated" sh -c "! grep -q 'crp -1 ->' '$T/list'"
cap=$(id_of "crp 10 -> 11 | return x > [[10->11]]")
printf '# comment\n%s accepted the test never passes more than 10\n' "$cap" > "$P/notes"
cp "$P/notes" "$T/orig/notes"
check "mutate.py runs on the tiny library" python3 "$M" --root "$P" --work "$T/work" --timeout 2 \
	--notes "$P/notes" lib/tiny/tiny.c
cp "$T/.cout" "$T/out"
# verdict OP 'mutated line' STATUS [DETAIL]
verdict() {
	awk -F'\t' -v op="$1" -v text="$2" -v st="$3" -v d="${4:-}" \
		'$4 == op && $8 == text && $5 == st && index($6, d) { ok = 1 } END { exit !ok }' "$T/work/results.tsv"
}
check "an operator flip is killed" verdict aor "s [[+->-]]= a[i];" killed tiny
check "a NaN into one float element is killed" verdict nan "y[i] = x[i] * k;" killed tiny
check "a NaN into an int does not compile" verdict nan "c[k] = k;" stillborn
check "a write one past an allocation goes unseen" verdict ror "for (int k = 0; k [[<-><=]] n; k++)" survived tiny
check "a hung mutant is killed by the time limit" verdict aor "i [[+->-]]= 1;" killed timeout
check "a mutant the compiler removes is equivalent" verdict aor "return a [[*->/]] 3;" equivalent
check "a line no test runs is uncovered" verdict aor "return a [[+->-]] 1;" uncovered
check "an undetected change survives" verdict crp "return x > [[10->11]] ? 10 : x;" survived tiny
check "a loop bound off by one is killed" verdict lbo "for (int i = 0; i < [[n->(n) - 1]]; i++)" killed
check "the report has the file's row" grep -q '^| lib/tiny/tiny.c | ' "$T/out"
check "the report gives the annotation" grep -q "$cap.*accepted.*never passes" "$T/out"
check "the source tree is untouched" diff -r "$P" "$T/orig"
check "the scratch copy is restored" cmp "$P/lib/tiny/tiny.c" "$T/work/src/lib/tiny/tiny.c"
# Under the sanitizers the same mutant is killed.
check "the survivors again under ASan and UBSan" python3 "$M" --root "$P" --work "$T/work" --timeout 2 --sanitize \
	--ids "$(id_of 'ror < -> <= | for (int k = 0; k [[<-><=]]')" lib/tiny/tiny.c
check "the write past the allocation is killed there" verdict ror "for (int k = 0; k [[<-><=]] n; k++)" killed sanitizer
# Interrupted while the hung mutant runs: the scratch copy comes back.
walk=$(id_of "aor + -> - | i [[+->-]]= 1;")
python3 "$M" --root "$P" --work "$T/work" --timeout 60 --ids "$walk" lib/tiny/tiny.c > "$T/int.out" 2>&1 &
pid=$!
n=0
while [ ! -e "$T/work/mutating" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep 1
kill -INT $pid
wait $pid
check "^C ends the run with status 130" test $? -eq 130
check "^C restores the scratch copy" cmp "$P/lib/tiny/tiny.c" "$T/work/src/lib/tiny/tiny.c"
check "^C leaves no marker" test ! -e "$T/work/mutating"
check "^C leaves the test killed" sh -c "! pgrep -f '$T/work/src/build/tes[t]/tiny' >/dev/null"
check "the next run rebuilds the object" python3 "$M" --root "$P" --work "$T/work" --timeout 2 \
	--ids "$(id_of 'aor * -> / | y[i] = x[i] [[*->/]] k;')" lib/tiny/tiny.c
check "and its mutant is killed" verdict aor "y[i] = x[i] [[*->/]] k;" killed
