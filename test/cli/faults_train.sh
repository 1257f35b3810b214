# Faults around training and the pipeline tools: SIGKILL at random moments of
# cords-finetune --checkpoint F --every 1 then --resume F (the checkpoint is
# always whole, the resumed run equals an uninterrupted one bit for bit); a
# full disk under a checkpoint and under the streams of cords-infer and
# cords-prep; a broken pipe under cords-unpack; bad streams fed to
# cords-infer, cords-prep and cords-finetune (exit 1, where, no output).
. "$(dirname "$0")/lib.sh"
D=$TESTDATA/train
A="--spont-steps 2 --stim-steps 3 --readouts 2 --blank-steps 2 --spont-window 1 --lr 1e-3 --clip 1 --epochs 2 --epoch-batches 3"
export OMP_NUM_THREADS=2
ft() { cords-finetune -m "$D/params.tzst" $A "$@" "$D/batches.tzst"; }

t0=$(date +%s.%N)
ft -o "$T/ref.tzst" 2>/dev/null
span=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') # kills fall within it
cords-unpack --allow-partial -o "$T/c10.tzst" "$TESTDATA/data/cifar-10-binary.tar.gz" 2>/dev/null
check "uninterrupted reference run" test -s "$T/ref.tzst"

# --- SIGKILL at random moments, then --resume -----------------------------
# A kill counts when it lands mid-run: the process is cords-finetune itself
# (started by exec, not a subshell around it, which a kill would leave
# running) and still alive just before, and its status is SIGKILL's. A run
# that finished first starts the chain over, so the resumed run below
# continues from a run that was killed.
seed=${FAULT_SEED:-$(date +%s)}
echo "faults_train.sh: SIGKILL delays from seed $seed, within ${span}s" >&2
kills=0 whole=0 tries=0 resumed=0
while [ $kills -lt 6 ] && [ $tries -lt 40 ]; do
	tries=$((tries + 1))
	delay=$(awk -v s="$seed" -v k=$tries -v t="$span" 'BEGIN { srand(s + k); printf "%.2f", 0.02 + rand() * t }')
	res=; [ -e "$T/ck" ] && res="--resume $T/ck"
	(exec cords-finetune -m "$D/params.tzst" $A --checkpoint "$T/ck" --every 1 $res -o "$T/out.tzst" "$D/batches.tzst" 2>/dev/null) &
	pid=$!
	sleep "$delay"
	alive=$(cat /proc/$pid/comm 2>/dev/null)
	kill -KILL $pid 2>/dev/null
	wait $pid
	rc=$?
	if [ "$rc" -eq 137 ] && [ "$alive" = cords-finetune ]; then
		kills=$((kills + 1))
		[ -n "$res" ] && resumed=$((resumed + 1))
		if [ -e "$T/ck" ]; then
			cords-cat --check "$T/ck" 2>/dev/null && whole=$((whole + 1))
		else
			whole=$((whole + 1))
		fi
	else
		rm -f "$T/ck" "$T/out.tzst"
	fi
done
check "6 kills landed mid-run ($kills in $tries tries, $resumed of them in a resumed run)" test $kills -eq 6 -a $resumed -gt 0
check "the checkpoint is whole after each" test $whole -eq $kills
res=; [ -e "$T/ck" ] && res="--resume $T/ck"
expect_exit 0 "resume after the kills finishes the run" ft --checkpoint "$T/ck" --every 1 $res -o "$T/out.tzst"
check "resumed after kills == uninterrupted, bit for bit" cmp "$T/ref.tzst" "$T/out.tzst"
# a kill after the last checkpoint: resuming a finished run gives the same model
# (it once lost the data's meta: no batch was read to carry it)
expect_exit 0 "resume from a finished checkpoint" ft --checkpoint "$T/ck" --resume "$T/ck" -o "$T/out2.tzst"
check "resumed from a finished checkpoint == uninterrupted, bit for bit" cmp "$T/ref.tzst" "$T/out2.tzst"

# --- a full disk ------------------------------------------------------------
mkdir -p "$T/mnt"
if mount -t tmpfs -o size=64k tmpfs "$T/mnt" 2>/dev/null; then
	umount "$T/mnt"
	ck_size=$(wc -c < "$T/ck")
	# room for one checkpoint and a half: the first is written, the second is not
	mount -t tmpfs -o size=$((ck_size * 3 / 2 / 4096 * 4096 + 4096)) tmpfs "$T/mnt"
	ft --checkpoint "$T/mnt/ck" --every 1 --steps 1 -o "$T/mnt1.tzst" 2>/dev/null
	cp "$T/mnt/ck" "$T/ck.before"
	expect_exit 1 "a full disk while writing a checkpoint" ft --checkpoint "$T/mnt/ck" --every 1 --resume "$T/mnt/ck" -o "$T/full.tzst"
	err_has "says the disk is full" "No space left"
	check "the previous checkpoint is intact" cmp "$T/ck.before" "$T/mnt/ck"
	check "no temporary file left" sh -c "[ \$(ls '$T/mnt' | wc -l) -eq 1 ]"
	umount "$T/mnt"

	for tool in prep infer; do
		mount -t tmpfs -o size=8k tmpfs "$T/mnt"
		printf 'old' > "$T/mnt/o.tzst"
		if [ $tool = prep ]; then
			expect_exit 1 "cords-prep: a full disk while writing the stream" \
				cords-prep --batch 2 -o "$T/mnt/o.tzst" "$T/c10.tzst"
		else
			expect_exit 1 "cords-infer: a full disk while writing the stream" \
				cords-infer -m "$D/params.tzst" --every 1 -o "$T/mnt/o.tzst" "$D/batches.tzst"
		fi
		err_has "cords-$tool says the disk is full" "No space left"
		check "cords-$tool: the previous file is intact, no temporary left" \
			sh -c "[ \"\$(cat '$T/mnt/o.tzst')\" = old ] && [ \$(ls '$T/mnt' | wc -l) -eq 1 ]"
		umount "$T/mnt"
	done
else
	skip "a full disk under a checkpoint and under cords-prep and cords-infer" "cannot mount a tmpfs here (needs root)"
fi

# --- a broken pipe downstream ---------------------------------------------
cords-unpack --allow-partial "$TESTDATA/data/cifar-10-binary.tar.gz" 2>"$T/pipe.err" | head -c 100 > /dev/null
check "cords-unpack | head -c 100: no message" test ! -s "$T/pipe.err"

# --- bad streams into the consumers ---------------------------------------
b=$D/batches.tzst
size=$(wc -c < "$b")
head -c $((size - 100)) "$b" > "$T/cut.tzst"
printf 'garbage!' | cat "$b" - > "$T/junk.tzst"
size=$(wc -c < "$T/c10.tzst")
head -c $((size / 2 + 7)) "$T/c10.tzst" > "$T/c10cut.tzst"
printf 'garbage!' | cat "$T/c10.tzst" - "$T/c10.tzst" > "$T/c10junk.tzst"
bad=0
for f in cut junk c10cut c10junk; do
	case $f in
	c10*) set -- cords-prep --batch 2 ;;
	*) set -- cords-finetune -m "$D/params.tzst" ${A%--epochs*} --epochs 1 ;; # whole file: to the fault
	esac
	for run in "$*" "cords-infer -m $D/params.tzst"; do
		[ "${run#cords-infer}" != "$run" ] && [ "${f#c10}" != "$f" ] && continue
		bad=$((bad + 1))
		expect_exit 1 "${run%% *} on a $f stream" $run -o "$T/bad.tzst" "$T/$f.tzst"
		err_has "${run%% *}: $f: says where" "record [0-9]* at byte [0-9]*"
		check "${run%% *}: $f: no output left" sh -c "! ls '$T'/bad.tzst* 2>/dev/null"
	done
done
echo "faults_train.sh: $kills kills, $bad bad streams" >&2
