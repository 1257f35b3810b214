"""The command-line tests' one comparison of numbers, as t_cmp in
test/unit/t.h: element i passes when

    |got[i] - want[i]| <= abs + rel |want[i]| + of_max max |want|,

its error is the left side over the right, and the worst error over the
arrays is <= 1 when all pass. A NaN or an Inf on either side is an error of
+Inf, which no tolerance accepts (Python's max(0.0, nan) is 0.0, and a NaN
in a running max is easily lost). Complex arrays compare by |got - want|.

    check(got, want, rel=0, abs=0, of_max=0, what='x'): the worst error;
        AssertionError naming the worst element (index, both values) if > 1.

As a command (exit status 1 and the worst element on stderr on failure):
    worst.py [--rel R] [--abs A] [--of-max M] GOT WANT
GOT and WANT are two .npz files (the same arrays by name, each compared;
integer arrays must be equal, text is not compared), or two TSV files of numbers (--rows N: the
first N rows, both must have them; two columns re, im compare as complex)."""
import argparse
import sys

import numpy as np


def error(got, want, rel=0.0, abs=0.0, of_max=0.0):
    """(worst error, index of the worst element) of two arrays of one shape."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError('shape %s, expected %s' % (got.shape, want.shape))
    if got.size == 0:
        return 0.0, None
    if not np.iscomplexobj(got) and not np.iscomplexobj(want):
        got, want = got.astype(np.float64), want.astype(np.float64)
    bad = ~(np.isfinite(got) & np.isfinite(want))
    if bad.any():
        return float('inf'), np.unravel_index(np.argmax(bad), got.shape)
    d = np.abs(got - want)
    tol = abs + rel * np.abs(want) + of_max * np.abs(want).max()
    with np.errstate(divide='ignore', invalid='ignore'):
        e = np.where(d == 0, 0.0, d / tol)
    i = np.unravel_index(np.argmax(e), e.shape)
    return float(e[i]), i


def describe(got, want, err, i, what):
    g, w = np.asarray(got)[i], np.asarray(want)[i]
    idx = ','.join(str(int(k)) for k in i)
    if err == float('inf') and not (np.isfinite(g) and np.isfinite(w)):
        return '%s[%s]: got %r, want %r (not finite)' % (what, idx, g, w)
    return '%.3g x tolerance at %s[%s]: got %r, want %r' % (err, what, idx, g, w)


def check(got, want, rel=0.0, abs=0.0, of_max=0.0, what='x'):
    err, i = error(got, want, rel, abs, of_max)
    if not err <= 1:
        raise AssertionError(describe(got, want, err, i, what))
    return err


def _tsv(path, rows):
    a = np.loadtxt(path, ndmin=2)
    if rows is not None:
        if len(a) < rows:
            raise AssertionError('%s: %d rows, expected %d' % (path, len(a), rows))
        a = a[:rows]
    return a[:, 0] + 1j * a[:, 1] if a.shape[1] == 2 else a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('got')
    ap.add_argument('want')
    ap.add_argument('--rel', type=float, default=0.0)
    ap.add_argument('--abs', type=float, default=0.0)
    ap.add_argument('--of-max', type=float, default=0.0)
    ap.add_argument('--rows', type=int)
    a = ap.parse_args()
    tol = dict(rel=a.rel, abs=a.abs, of_max=a.of_max)
    try:
        if a.got.endswith('.npz'):
            got, want = np.load(a.got), np.load(a.want)
            if sorted(got.files) != sorted(want.files):
                raise AssertionError('arrays %s, expected %s' % (sorted(got.files), sorted(want.files)))
            worst = 0.0
            for k in sorted(want.files):
                if want[k].dtype.kind in 'fc':
                    worst = max(worst, check(got[k], want[k], what=k, **tol))
                elif want[k].dtype.kind in 'biu':
                    check(got[k], want[k], what=k)
        else:
            worst = check(_tsv(a.got, a.rows), _tsv(a.want, a.rows), what='row', **tol)
    except AssertionError as e:
        print('worst.py: %s vs %s: %s' % (a.got, a.want, e), file=sys.stderr)
        sys.exit(1)
    print('worst.py: %.3g x tolerance' % worst, file=sys.stderr)


if __name__ == '__main__':
    main()
