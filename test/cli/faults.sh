# Faults around the stream tools: a full disk, a broken pipe, a producer
# killed mid-record. Outputs are whole or absent, never half-written.
. "$(dirname "$0")/lib.sh"
small=$TESTDATA/stream/small.tzst
i=0; while [ $i -lt 400 ]; do cat "$small"; i=$((i + 1)); done > "$T/big.tzst"

expect_exit 1 "stdout on a full device" sh -c "cords-cat '$T/big.tzst' > /dev/full"
err_has "says the device is full" "No space left"

mkdir -p "$T/mnt"
if mount -t tmpfs -o size=16k tmpfs "$T/mnt" 2>/dev/null; then
	cp "$small" "$T/mnt/out.tzst"
	expect_exit 1 "a full disk while writing a stream" cords-cat -o "$T/mnt/out.tzst" "$T/big.tzst"
	check "the previous file is intact" cmp "$small" "$T/mnt/out.tzst"
	check "no temporary file left" sh -c "[ \$(ls '$T/mnt' | wc -l) -eq 1 ]"
	umount "$T/mnt"
else
	skip "a full disk while writing a stream" "cannot mount a tmpfs here (needs root)"
fi

cords-cat "$T/big.tzst" 2>"$T/pipe.err" | head -c 100 > /dev/null
check "a broken pipe downstream: no message, no temporary files" sh -c "[ ! -s '$T/pipe.err' ] && ! ls '$T' | grep -q tmp"
cords-cat -o "$T/sel.tzst" -n x "$T/big.tzst" &
wait $!
check "a finished output is complete" cords-cat --check "$T/sel.tzst"

size=$(wc -c < "$T/big.tzst")
head -c $((size / 2 + 7)) "$T/big.tzst" > "$T/cut.tzst"
expect_exit 1 "a stream cut mid-record by a killed producer" cords-cat --check "$T/cut.tzst"
err_has "the error says which record" "record [0-9]* at byte [0-9]*"
printf 'junk' | cat "$small" - "$small" > "$T/junk.tzst"
expect_exit 1 "garbage between records" cords-cat --check "$T/junk.tzst"
err_has "garbage located after the first records" "record 3 at byte"

expect_exit 0 "-o /dev/null writes in place" cords-cat -o /dev/null "$small"
check "/dev/null is still a character device" test -c /dev/null
