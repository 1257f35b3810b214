# The README's main job (`make demo`) wired end to end: the Fashion-MNIST
# pipeline with QUICK=1 (every stage on a few batches, about 40 s), checking
# that every stage leaves its model, log and summary line, and that the
# plots are drawn. Accuracy is the demo's own business (bench/results).
. "$(dirname "$0")/lib.sh"
DATA=/usr/share/datasets/fashion-mnist
if [ ! -e "$DATA/train-images-idx3-ubyte.gz" ] || ! command -v gnuplot >/dev/null; then
	skip "make demo QUICK=1" "needs $DATA and gnuplot"
	exit 0
fi
expect_exit 0 "make -f pipelines/fashion-mnist.mk QUICK=1" \
	make -s -f "$TOP/pipelines/fashion-mnist.mk" BIN="$BIN" OUT="$T/demo" QUICK=1
for m in cnn fold inverse linear anneal finetune; do
	check "$m: model written and whole" cords-cat --check "$T/demo/$m.tzst"
done
check "summary: one line per stage, accuracies above chance (10 %)" awk -F'\t' \
	'NR > 1 { n++; if (!($2 > 10 && $2 <= 100)) exit 1 } END { exit n != 6 }' "$T/demo/summary.tsv"
# The summary's fold row is the CNN's (the pipeline copies it: a folded
# model gives the same logits): whether it does is checked here in PyTorch.
if have_python torch; then
	check "the folded CNN answers as the BN CNN (PyTorch, 2 test batches, within 1e-4)" \
		/usr/bin/python3 "$TOP/test/cli/foldcheck.py" "$T/demo/cnn.tzst" "$T/demo/fold.tzst" "$T/demo/test.tzst" 2
else
	skip "the folded CNN against the BN CNN in PyTorch" "no torch"
fi
check "summary: training images/s of every trained stage, none for the fold" awk -F'\t' \
	'NR > 1 { if ($1 == "fold" ? $5 != "-" : !($5 > 0)) exit 1 }' "$T/demo/summary.tsv"
check "the anneal and the finetune learned from the BN CNN (TEACHER_MIX)" sh -c \
	"cords-cat -m '$T/demo/anneal.tzst' | grep -q '^train_teacher=mix 1 temp 2' && cords-cat -m '$T/demo/finetune.tzst' | grep -q '^train_teacher=mix 1 temp 2' && cords-cat -m '$T/demo/linear.tzst' | grep -q '^train_teacher=none'"
check "plots drawn" sh -c "ls '$T'/demo/*.png | wc -l | grep -qx 8"
check "eigenvalues analysed" grep -q "spectral radius" "$T/demo/eig.txt"
