#!/usr/bin/env python3
"""Mutation testing of the library by its unit tests (make mutate).

Plants one small defect at a time (a mutant) in a scratch copy of the tree,
rebuilds that one object, relinks the unit tests that execute the mutated
line and runs them: a mutant is killed when one of them fails, crashes or
runs past its time limit. The source tree itself is never written.

Operators (one edit each, on code outside comments, strings, preprocessor
lines and the arguments of cords_err, whose messages the command-line tests
check):
  aor  arithmetic  a + b <-> a - b, a * b <-> a / b, += <-> -=, *= <-> /=
  ror  relational  < -> <=, <= -> <, > -> >=, >= -> >, == <-> !=
  lcr  logical     && <-> ||
  crp  constant    integer k -> k + 1 (-k -> -k + 1), float x -> 1.1 x
  nan  one NaN     after "x[i] = e;" (or "*p = e;", or a compound
                   assignment), a NaN in that element the first time the
                   statement runs in the process; non-float targets do not
                   compile and are dropped
  lbo  loop bound  for (...; i < n; ...) -> i < (n) - 1, > n -> > (n) + 1

Each mutant is named by a hash of its file, operator, line text, column
and replacement, so the names survive edits elsewhere in the file. A mutant
is
  killed      a test that runs its line fails, crashes or times out
  survived    no such test fails (uncovered: no unit test runs the line)
  equivalent  its object file is byte for byte the original's (the
              compiler proved it the same), or it is listed as equivalent
              in the annotations file (test/mutate-survivors.txt)
  stillborn   it does not compile (not counted)
The score of a file is killed / (mutants - equivalent).

Which tests run a line comes from a coverage build (gcov): each unit test
is run once, and again in the environments test/run.sh adds for some
(Winograd convolutions, AVX2 on an AVX-512 CPU), and the lines each run
executes are recorded. A line without line data (a declaration, a
statement's continuation) takes the runs of the nearest lines around it
that have some.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# The model, step, training, loss, optimiser, eigen and stream code, and the
# CPU backend's own loops. Left out: dist.c (MPI, no unit test runs more
# than one rank), checkpoint.c (file handling), rnn_stage.c and cnn_stage.c
# (the tools' glue between the loop and the trainers; the command-line tests
# train through them), backend_cpu.c, cpu_pool.c and cpu_linear.c (buffers,
# oneDNN primitives, and calls into readout.c's loops). cpu_conv.c is in:
# besides oneDNN's primitives it has our own weight-gradient GEMM path.
DEFAULT_FILES = """
lib/model/arch.c lib/model/dynamics.c lib/model/infer.c lib/model/infer_time.c
lib/model/model.c lib/model/params.c lib/model/spont.c lib/model/step.c
lib/train/loss.c lib/train/optset.c lib/train/rnn_train.c lib/train/cnn_train.c
lib/train/inverse.c lib/train/trainloop.c lib/train/fold.c
lib/cpu/optim.c lib/cpu/readout.c lib/cpu/cpu_eltwise.c lib/cpu/cpu_train_eltwise.c
lib/cpu/bnorm.c lib/cpu/wnorm.c lib/cpu/cpu_conv.c
lib/eig/conv_op.c lib/eig/dconv.c lib/eig/eig_arnoldi.c lib/eig/eig_basis.c
lib/eig/eig_dense.c lib/eig/eig_hess.c lib/eig/eig_power.c lib/eig/eig_state.c
lib/eig/eig_util.c lib/eig/net_op.c
lib/io/stream.c
""".split()

# What the scratch copy holds: enough to build the library and unit tests.
COPY = ["Makefile", "lib", "cmd", "kernels/absent.c", "test/unit"]


# ---------------------------------------------------------------- mutants --

def mask(src):
    """src with comments, string and character literals and preprocessor
    lines blanked (newlines kept), so that offsets match src."""
    out = list(src)
    i, n = 0, len(src)
    line_start = True
    while i < n:
        c = src[i]
        if line_start and c == "#":
            while i < n and not (src[i] == "\n" and src[i - 1] != "\\"):
                out[i] = " "
                i += 1
            continue
        if c == "\n":
            line_start = True
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if src.startswith("//", i):
            while i < n and src[i] != "\n":
                out[i] = " "
                i += 1
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if src[k] != "\n":
                    out[k] = " "
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def match_close(m, i, open_="(", close=")"):
    """Offset of the bracket closing the one at m[i]."""
    depth = 0
    for j in range(i, len(m)):
        if m[j] == open_:
            depth += 1
        elif m[j] == close:
            depth -= 1
            if depth == 0:
                return j
    return -1


def statement_end(m, i):
    """Offset of the ';' ending the statement that starts at i."""
    depth = 0
    for j in range(i, len(m)):
        if m[j] in "([{":
            depth += 1
        elif m[j] in ")]}":
            depth -= 1
            if depth < 0:
                return -1
        elif m[j] == ";" and depth == 0:
            return j
    return -1


TYPES = r"(?:const |static )*(?:char|int|float|double|long|unsigned|void|\w+_t|cords_\w+|struct \w+)"


def skip_spans(m):
    """(start, end, operators) not mutated there:
    - the arguments of cords_err (the message);
    - the constant -1 where it is an error code (return -1; rc = -1;
      ? -1 : 0 and rc ? -1 : call(), on one line or over lines; ? 0 : -1;
      ok ? call() : -1; call() ? -1 : 1;): it is reached when a call has failed,
      and what turns an error into success is the command-line tests'
      business (exit status, message);
    - conditions made only of null tests (!p || !q after allocations), and
      constants in allocation sizes: they differ only when an allocation
      fails, or make a buffer larger;
    - the sizes of arrays declared: larger is never wrong, smaller shows
      only with inputs at the longest (names of CORDS_NAME_MAX bytes)."""
    spans = []
    for x in re.finditer(r"\bcords_err\s*\(", m):
        j = match_close(m, x.end() - 1)
        if j > 0:
            spans.append((x.start(), j, "*"))
    for x in re.finditer(r"\breturn -1;|(?<![=!<>])= -1;|\?\s+-1\s+:\s+(?:0\b|(?=[A-Za-z_]))|\w\([^;?]*\)\s+\?\s+-1\s+:\s+1;|\? 0 : -1;|\? [^;?]*\w\([^;?]*: -1;", m):
        a = x.start() + x.group(0).rindex("-1")
        spans.append((a, a + 2, "crp"))
    for x in re.finditer(r"\b(?:malloc|calloc|realloc|aligned_alloc)\s*\(", m):
        j = match_close(m, x.end() - 1)
        if j > 0:
            spans.append((x.start(), j, "crp"))
    for x in re.finditer(r"(?m)^[ \t]*" + TYPES + r"\b[^;=(]*\[[^;]*;", m):
        for y in re.finditer(r"\w+(?:\s*\[[^\]=;]*\])+(?=\s*[=;,)])", x.group(0)):
            spans.append((x.start() + y.start(), x.start() + y.end(), "*"))
    for x in re.finditer(r"\(", m):
        j = match_close(m, x.start())
        if j > 0 and re.fullmatch(r"\s*!\s*[\w>.\[\]-]+(\s*\|\|\s*!\s*[\w>.\[\]-]+)+\s*", m[x.start() + 1:j]):
            spans.append((x.start(), j, "lcr"))
    return spans


AOR = {"+": "-", "-": "+", "*": "/", "/": "*"}
ROR = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
NUM = re.compile(r"(?<![\w.])(-\s*)?((?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?|\d+[eE][-+]?\d+[fF]?|"
                 r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*)(?![\w.])")


def nudge(lit, neg):
    """The nudged literal."""
    x = re.fullmatch(r"(0[xX][0-9a-fA-F]+|\d+)([uUlL]*)", lit)
    if x:
        body, suffix = x.groups()
        v = int(body, 16) if body[1:2] in "xX" else int(body, 8) if body.startswith("0") else int(body)
        if neg:
            return ("-%d" % (v - 1) if v > 1 else "0") + suffix
        return str(v + 1) + suffix
    body = lit.rstrip("fF")
    suffix = lit[len(body):]
    v = float(body) * 1.1
    text = repr(v) if v != 0 else "0.1"
    if suffix and "." not in text and "e" not in text:
        text += ".0"
    return ("-" if neg else "") + text + suffix


def generate(path, src):
    """Every mutant of one file: a list of dicts."""
    m = mask(src)
    skips = skip_spans(m)
    starts = [0] + [i + 1 for i, c in enumerate(src) if c == "\n"]
    muts = []

    def line_no(off):
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= off:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def add(op, a, b, new, end=None):
        if any(s <= a < e and o in ("*", op) for s, e, o in skips):
            return
        muts.append({"op": op, "start": a, "end": b, "new": new, "line": line_no(a),
                     "last": line_no(end if end is not None else b)})

    for x in re.finditer(r"(?<=[\w)\]]) ([-+*/]) (?=[\w(!.-])", m):
        add("aor", x.start(1), x.end(1), AOR[x.group(1)])
    for x in re.finditer(r"(?<=[\w)\]]) ([-+*/])= ", m):
        add("aor", x.start(1), x.end(1), AOR[x.group(1)])
    for x in re.finditer(r"(?<= )(<=|>=|==|!=|<|>)(?= )", m):
        add("ror", x.start(1), x.end(1), ROR[x.group(1)])
    for x in re.finditer(r"(?<= )(&&|\|\|)(?= )", m):
        add("lcr", x.start(1), x.end(1), "||" if x.group(1) == "&&" else "&&")
    for x in re.finditer(NUM, m):
        neg = x.group(1) is not None
        if neg:  # a unary minus only: after an operator, '(' or ',' or 'return'
            before = m[:x.start()].rstrip()
            if not before or not (before[-1] in "=(,?:[{" or before.endswith("return")):
                neg = False
        a = x.start(1) if neg else x.start(2)
        new = nudge(x.group(2), neg)
        if new is not None and new != src[a:x.end()]:
            add("crp", a, x.end(), new)
    for x in re.finditer(r"(?m)^[ \t]*(\*\s*\w+|\w+(?:(?:->|\.)\w+)*\s*\[[^;\n]*?\])\s*([-+*/]?=)(?!=)", m):
        end = statement_end(m, x.start(1))
        if end < 0:
            continue
        lhs = src[x.start(1):x.end(1)]
        tail = (" { static int cords_mut_once_; if (!__atomic_exchange_n(&cords_mut_once_, 1, "
                "__ATOMIC_RELAXED)) %s = __builtin_nan(\"\"); } }" % lhs)
        add("nan", x.start(1), end + 1, "{ " + src[x.start(1):end + 1] + tail, end)
    for x in re.finditer(r"\bfor\s*\(", m):
        close = match_close(m, x.end() - 1)
        if close < 0:
            continue
        head = m[x.end():close]
        parts = head.split(";")
        if len(parts) != 3:
            continue
        cond_off = x.end() + len(parts[0]) + 1
        c = re.fullmatch(r"(\s*\w+ (<|<=|>|>=) )(.*?)\s*", parts[1], re.S)
        if not c or "&&" in parts[1] or "||" in parts[1]:
            continue
        a = cond_off + c.end(1)
        b = cond_off + c.end(3)
        bound = src[a:b]
        new = "(%s) %s 1" % (bound, "-" if c.group(2)[0] == "<" else "+")
        add("lbo", a, b, new)

    # Names: file, operator, line text, column within it, replacement, and a
    # counter for identical lines.
    seen = {}
    for mu in muts:
        ls = starts[mu["line"] - 1]
        le = src.find("\n", ls)
        text = src[ls:le if le >= 0 else len(src)]
        key = (mu["op"], text.strip(), mu["start"] - ls - (len(text) - len(text.lstrip())), mu["new"])
        k = seen.get(key, 0)
        seen[key] = k + 1
        h = hashlib.sha1(("%s\0%s\0%s\0%d\0%s\0%d" % (path, key[0], key[1], key[2], key[3], k)).encode())
        mu["id"] = h.hexdigest()[:10]
        mu["file"] = path
        mu["old"] = src[mu["start"]:mu["end"]]
        # the line as the mutant has it, the edit marked: {2, 0, [[0->1]], 0}
        col = mu["start"] - ls
        mu["text"] = (text if mu["op"] == "nan" else text[:col] + "[[%s->%s]]" % (mu["old"], mu["new"]) +
                      text[col + len(mu["old"]):]).strip()
    return muts


def describe(mu):
    if mu["op"] == "nan":
        return "NaN into %s" % mu["old"].split("=")[0].strip().rstrip("+-*/ ")
    return "%s -> %s" % (mu["old"], mu["new"])


def apply(src, mu):
    return src[:mu["start"]] + mu["new"] + src[mu["end"]:]


def sample(muts, n, seed):
    """At most n mutants, always the same ones for the same seed."""
    if n <= 0 or len(muts) <= n:
        return muts
    keyed = sorted(muts, key=lambda mu: hashlib.sha1(("%s:%s" % (seed, mu["id"])).encode()).digest())
    chosen = set(mu["id"] for mu in keyed[:n])
    return [mu for mu in muts if mu["id"] in chosen]


# ---------------------------------------------------------- scratch tree --

class Tree:
    """The scratch copy: src/ under the work folder, built in src/build
    (mutants) and src/build-cov (coverage)."""

    def __init__(self, root, work, log):
        self.root, self.work, self.log = root, work, log
        self.src = os.path.join(work, "src")
        self.make = ["make", "-C", self.src, "CUDA=0"]

    def files(self, base):
        out = []
        for p in COPY:
            full = os.path.join(base, p)
            if os.path.isfile(full):
                out.append(p)
            elif os.path.isdir(full):
                for d, dirs, fs in os.walk(full):
                    dirs[:] = [x for x in dirs if not x.startswith("build")]
                    out += [os.path.relpath(os.path.join(d, f), base) for f in fs]
        return set(out)

    def sync(self):
        """Copies what differs from the source tree; removes the objects of
        every file that changed (a mutant's object among them, were the last
        run stopped). Returns True when anything changed."""
        os.makedirs(self.src, exist_ok=True)
        marker = os.path.join(self.work, "mutating")
        changed = False
        if os.path.exists(marker):
            with open(marker) as f:
                self.drop_objects(f.read().strip())
            os.remove(marker)
            changed = True
        want, have = self.files(self.root), self.files(self.src)
        for p in sorted(have - want):
            os.remove(os.path.join(self.src, p))
            self.drop_objects(p)
            changed = True
        for p in sorted(want):
            a, b = os.path.join(self.root, p), os.path.join(self.src, p)
            if os.path.exists(b) and same(a, b):
                continue
            os.makedirs(os.path.dirname(b), exist_ok=True)
            shutil.copy2(a, b)
            self.drop_objects(p)
            changed = True
        return changed

    def drop_objects(self, p):
        for build in ("build", "build-cov", "build-san"):
            for q in (os.path.join(build, p[:-2] + ".o"), os.path.join(build, "libcords.a")):
                q = os.path.join(self.src, q)
                if p.endswith(".c") and os.path.exists(q):
                    os.remove(q)

    def run_make(self, targets, build="build", flags="$(OPT) $(MARCH)", jobs=1, extra=()):
        cmd = self.make + ["-j%d" % jobs, "BUILD=" + build, "CFLAGS=" + flags] + list(extra) + targets
        with open(self.log, "a") as lg:
            lg.write("$ %s\n" % " ".join(cmd))
            lg.flush()
            return subprocess.call(cmd, stdout=lg, stderr=lg) == 0


def variants(unit):
    """The runs of each unit test that test/run.sh makes: "NAME", and
    "NAME@winograd" and "NAME@avx2" (on CPUs with AVX-512) with the
    environment it sets for them. {run: (binary, extra environment)}."""
    avx512 = False
    try:
        with open("/proc/cpuinfo") as f:
            avx512 = re.search(r"\bavx512f\b", f.read()) is not None
    except OSError:
        pass
    out = {}
    for t in unit:
        out[t] = (t, {})
        if t.startswith("train_"):
            out[t + "@winograd"] = (t, {"CORDS_CONV": "winograd"})
        if avx512 and (t in ("ops", "backend_train", "model", "eig_net") or t.startswith("train_")):
            out[t + "@avx2"] = (t, {"DNNL_MAX_CPU_ISA": "AVX2"})
    return out


def same(a, b):
    with open(a, "rb") as f, open(b, "rb") as g:
        return f.read() == g.read()


def run_test(tree, exe, timeout, env, extra=None):
    """(killed, why) for one test binary."""
    # ^C held back until p exists (and the try below can kill its session):
    # one that lands inside Popen, after the fork, would leave the test running.
    stops = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        p = subprocess.Popen([exe], cwd=tree.root, env=dict(env, **(extra or {})), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, stops))
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return True, "timeout"
    except BaseException:  # ^C: the test is in its own session and would go on
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    fails = [l for l in out.decode(errors="replace").splitlines() if l.startswith("FAIL: ")]
    if p.returncode < 0:
        return True, "signal %d" % -p.returncode
    if p.returncode != 0 or fails:
        return True, fails[0][6:90] if fails else "exit %d" % p.returncode
    return False, ""


# --------------------------------------------------------------- coverage --

def coverage(tree, runs, env, timeout):
    """{file: {line: [runs that run it]}} for every library file, from one
    coverage build; runs: {run: (binary, environment)}."""
    flags = "-O0 --coverage -fprofile-update=atomic"
    if not tree.run_make(sorted(set("build-cov/test/" + b for b, _ in runs.values())), "build-cov", flags, jobs=2):
        sys.exit("mutate: the coverage build failed (see %s)" % tree.log)
    files = sorted(p for p in tree.files(tree.src) if p.startswith("lib/") and p.endswith(".c"))
    cov = {f: {} for f in files}
    for t in sorted(runs):
        for d, _, fs in os.walk(os.path.join(tree.src, "build-cov")):
            for f in fs:
                if f.endswith(".gcda"):
                    os.remove(os.path.join(d, f))
        run_test(tree, os.path.join(tree.src, "build-cov/test", runs[t][0]), timeout, env, runs[t][1])
        objs = [os.path.join("build-cov", f[:-2] + ".gcda") for f in files]
        objs = [o for o in objs if os.path.exists(os.path.join(tree.src, o))]
        if not objs:
            continue
        out = subprocess.run(["gcov", "-j", "-t"] + objs, cwd=tree.src, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode()
        for doc in out.splitlines():
            doc = doc.strip()
            if not doc.startswith("{"):
                continue
            for fe in json.loads(doc).get("files", []):
                name = os.path.normpath(fe["file"])
                if name not in cov:
                    continue
                for ln in fe["lines"]:
                    lines = cov[name].setdefault(ln["line_number"], [])
                    if ln["count"] > 0 and t not in lines:
                        lines.append(t)
    return cov


def tests_for(mu, cov):
    """The tests that run a mutant's lines; None when gcov knows none of them."""
    fc = cov.get(mu["file"], {})
    span = [l for l in range(mu["line"], mu["last"] + 1) if l in fc]
    if not span:  # a continuation line (the statement's first line) or a declaration (the code after it)
        span = [l for l in range(mu["line"] - 1, mu["line"] - 6, -1) if l in fc][:1]
        span += [l for l in range(mu["last"] + 1, mu["last"] + 6) if l in fc][:1]
    if not span:
        return None
    out = []
    for l in span:
        out += [t for t in fc[l] if t not in out]
    return out


# ----------------------------------------------------------------- report --

def load_notes(path):
    """{id: (verdict, reason)} from the annotations file."""
    notes = {}
    if not path or not os.path.exists(path):
        return notes
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
            parts = line.split(None, 2)
            if len(parts) >= 2 and parts[1] in ("equivalent", "accepted"):
                notes[parts[0]] = (parts[1], parts[2].strip() if len(parts) > 2 else "")
    return notes


def report(results, notes, files, out, header):
    rows, ops = {}, {}
    for r in results:
        if r["status"] == "stillborn":
            continue
        st = r["status"]
        if st in ("survived", "uncovered") and notes.get(r["id"], ("",))[0] == "equivalent":
            st = "equivalent"
        for key, table in ((r["file"], rows), (r["op"], ops)):
            c = table.setdefault(key, {"mutants": 0, "killed": 0, "survived": 0, "uncovered": 0,
                                       "equivalent": 0})
            c["mutants"] += 1
            c["survived" if st == "uncovered" else st] += 1
            if st == "uncovered":
                c["uncovered"] += 1
    lines = [header, ""]

    def table(title, tab, order):
        lines.append("| %s | mutants | killed | survived (uncovered) | equivalent | score |" % title)
        lines.append("|---|---:|---:|---:|---:|---:|")
        tot = {"mutants": 0, "killed": 0, "survived": 0, "uncovered": 0, "equivalent": 0}
        for k in order:
            if k not in tab:
                continue
            c = tab[k]
            for x in tot:
                tot[x] += c[x]
            lines.append(row(k, c))
        lines.append(row("**all**", tot))
        lines.append("")

    def row(k, c):
        live = c["mutants"] - c["equivalent"]
        score = "%.1f %%" % (100.0 * c["killed"] / live) if live else "-"
        return "| %s | %d | %d | %d (%d) | %d | %s |" % (k, c["mutants"], c["killed"], c["survived"],
                                                       c["uncovered"], c["equivalent"], score)

    born = sum(1 for r in results if r["status"] == "stillborn")
    if born:
        lines[0] += " %d more did not compile (stillborn, not counted)." % born
    table("file", rows, files)
    table("operator", ops, ["aor", "ror", "lcr", "crp", "nan", "lbo"])
    surv = [r for r in results if r["status"] in ("survived", "uncovered")]
    lines.append("Survivors (%d):" % len(surv))
    lines.append("")
    for r in surv:
        verdict, why = notes.get(r["id"], ("", ""))
        lines.append("- `%s` %s:%d %s%s: `%s`%s" % (
            r["id"], r["file"], r["line"], r["op"], " (uncovered)" if r["status"] == "uncovered" else "",
            r["text"][:140] if r["op"] != "nan" else "NaN into " + r["text"][:100],
            " — **%s**: %s" % (verdict, why) if verdict else ""))
    text = "\n".join(lines) + "\n"
    with open(out, "w") as f:
        f.write(text)
    return text


# ------------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="source files, relative to the root (default: the list above)")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--work", help="scratch folder (default ROOT/build-mutate)")
    ap.add_argument("--sample", type=int, default=0, help="at most N mutants a file (0: all)")
    ap.add_argument("--seed", default="1", help="which sample")
    ap.add_argument("--ids", default="", help="only these mutants (comma-separated names)")
    ap.add_argument("--ops", default="", help="only these operators (comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--timeout", type=float, default=20, help="least seconds a test may run (default 20)")
    ap.add_argument("--sanitize", action="store_true", help="survivors again under ASan and UBSan")
    ap.add_argument("--notes", help="annotations (default ROOT/test/mutate-survivors.txt)")
    ap.add_argument("--rescore", metavar="TSV", help="no run: the report of an earlier run's results.tsv, "
                    "with the annotations and operators of now")
    a = ap.parse_args()

    def stop(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    root = os.path.abspath(a.root)
    work = os.path.abspath(a.work or os.path.join(root, "build-mutate"))
    files = a.files or DEFAULT_FILES
    notes = load_notes(a.notes or os.path.join(root, "test/mutate-survivors.txt"))
    ids = set(x for x in a.ids.replace(",", " ").split())
    ops = set(x for x in a.ops.replace(",", " ").split())

    muts, all_ids = [], set()
    for f in files:
        if not os.path.exists(os.path.join(root, f)):
            sys.exit("mutate: %s: no such file" % f)
        with open(os.path.join(root, f)) as fh:
            every = generate(f, fh.read())
        all_ids |= set(mu["id"] for mu in every)
        every = [mu for mu in every if (not ids or mu["id"] in ids) and (not ops or mu["op"] in ops)]
        muts += sample(every, a.sample, a.seed)
    stale = sorted(i for i in notes if i not in all_ids)
    if a.rescore:
        with open(a.rescore) as fh:
            head = fh.readline().rstrip("\n").split("\t")
            rows = [dict(zip(head, l.rstrip("\n").split("\t"))) for l in fh]
        wanted = set(mu["id"] for mu in muts)
        rows = [dict(r, line=int(r["line"])) for r in rows if r["id"] in wanted]
        print(report(rows, notes, files, os.devnull, "Mutation score of the unit tests: %d mutants (%s)." %
                     (len(rows), a.rescore)), end="")
        return 0
    if a.list:
        for mu in muts:
            print("%s %s:%d %s %s | %s" % (mu["id"], mu["file"], mu["line"], mu["op"], describe(mu), mu["text"]))
        return 0
    if not muts:
        sys.exit("mutate: no mutants")

    os.makedirs(work, exist_ok=True)
    tree = Tree(root, work, os.path.join(work, "log"))
    open(tree.log, "w").close()
    env = dict(os.environ, TESTDATA=os.path.join(root, "testdata"), TOP=root,
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"),
               OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"),
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0"))
    unit = sorted(p[len("test/unit/"):-2] for p in tree.files(root) if re.fullmatch(r"test/unit/\w+\.c", p))
    t0 = time.time()
    tree.sync()
    print("mutate: %d mutants in %d files; building %s" % (len(muts), len(files), tree.src), flush=True)
    plain = Build("build", "$(OPT) $(MARCH)", [], True)
    runs, base = plain.baseline(tree, unit, env)
    cov_path = os.path.join(work, "coverage.json")
    key = hashlib.sha1(json.dumps(sorted(base)).encode())
    with open(os.path.abspath(__file__), "rb") as fh:
        key.update(fh.read())
    for p in sorted(tree.files(tree.src)):
        with open(os.path.join(tree.src, p), "rb") as fh:
            key.update(p.encode() + fh.read())
    cov = None
    if os.path.exists(cov_path):
        with open(cov_path) as fh:
            c = json.load(fh)
        if c.get("key") == key.hexdigest():
            cov = {f: {int(l): t for l, t in v.items()} for f, v in c["cov"].items()}
    if cov is None:
        print("mutate: coverage of %d tests" % len(base), flush=True)
        cov = coverage(tree, runs, env, 600)
        with open(cov_path, "w") as fh:
            json.dump({"key": key.hexdigest(), "cov": cov}, fh)

    results = {}
    res_path = os.path.join(work, "results.tsv")
    res = open(res_path, "w")
    res.write(TSV_HEAD)

    def done(mu, status, detail, k, n):
        r = results[mu["id"]] = dict(mu, status=status, detail=detail, change=describe(mu))
        res.write(tsv_row(r))
        res.flush()
        print("  %-28s %3d/%-3d %s:%d %-4s %-10s %s" % (mu["file"].split("/")[-1], k, n, mu["file"], mu["line"],
                                                      mu["op"], status, describe(mu)[:60]), flush=True)

    interrupted = False
    try:
        plain.run(tree, muts, cov, runs, base, a.timeout, env, done)
        again = [mu for mu in muts if results.get(mu["id"], {}).get("status") == "survived"]
        if a.sanitize and again:
            # Survivors again under AddressSanitizer and UBSan (make check SANITIZE=1): an
            # access out of bounds, a leak or undefined behaviour kills them there.
            print("mutate: %d survivors again under the sanitizers" % len(again), flush=True)
            san = Build("build-san", "-O1 $(MARCH)", ["SANITIZE=1"], False)
            sruns, sbase = san.baseline(tree, unit, env)

            def san_done(mu, status, detail, k, n):
                if status == "killed":
                    done(mu, status, "sanitizer: " + detail, k, n)

            san.run(tree, again, cov, sruns, sbase, a.timeout, env, san_done)
    except KeyboardInterrupt:
        interrupted = True
        print("mutate: interrupted; the scratch copy is restored; partial report follows")
    res.close()
    results = [results[mu["id"]] for mu in muts if mu["id"] in results]
    with open(res_path, "w") as fh:  # one row a mutant, its last verdict
        fh.write(TSV_HEAD + "".join(tsv_row(r) for r in results))
    header = "Mutation score of the unit tests: %d mutants, %.0f s%s (test/mutate.py %s)." % (
        len(results), time.time() - t0, ", interrupted" if interrupted else "", " ".join(sys.argv[1:]))
    text = report(results, notes, files, os.path.join(work, "report.md"), header)
    print(text)
    if stale:
        print("mutate: annotations naming no mutant of these files (stale?): %s" % " ".join(stale))
    print("mutate: results in %s, report in %s" % (res_path, os.path.join(work, "report.md")))
    return 130 if interrupted else 0


TSV_HEAD = "id\tfile\tline\top\tstatus\tdetail\tchange\ttext\n"


def tsv_row(r):
    return "\t".join(str(r[k]) for k in ("id", "file", "line", "op", "status", "detail", "change", "text")) + "\n"


class Build:
    """One build of the scratch tree (its folder, CFLAGS, extra make
    variables) and the mutants run against it. tce: a mutant whose object
    equals the original's is equivalent (objects without debug lines)."""

    def __init__(self, name, flags, extra, tce):
        self.name, self.flags, self.extra, self.tce = name, flags, extra, tce

    def make(self, tree, targets, jobs=1):
        return tree.run_make([self.name + "/" + t for t in targets], self.name, self.flags, jobs, self.extra)

    def baseline(self, tree, unit, env):
        """Every run of every test, unmutated: {run: (binary, env)} of those
        that pass, and how long each took."""
        if not self.make(tree, ["test/" + t for t in unit], jobs=2):
            sys.exit("mutate: the build failed (see %s)" % tree.log)
        runs, base = variants(unit), {}
        for t in sorted(runs):
            s = time.time()
            killed, why = run_test(tree, os.path.join(tree.src, self.name, "test", runs[t][0]), 600, env, runs[t][1])
            if killed:
                print("mutate: unit/%s fails in %s without a mutant (%s): left out" % (t, self.name, why))
                continue
            base[t] = time.time() - s
        return {t: runs[t] for t in base}, base

    def run(self, tree, muts, cov, runs, base, min_timeout, env, done):
        """Each mutant in turn, file by file; done(mu, status, detail, k, n)."""
        marker = os.path.join(tree.work, "mutating")
        by_file = {}
        for mu in muts:
            by_file.setdefault(mu["file"], []).append(mu)
        for f, fm in by_file.items():
            path = os.path.join(tree.src, f)
            obj = os.path.join(tree.src, self.name, f[:-2] + ".o")
            with open(path) as fh:
                orig = fh.read()
            st = os.stat(path)
            with open(obj, "rb") as fh:
                orig_obj = fh.read()
            with open(marker, "w") as fh:
                fh.write(f)
            try:
                for i, mu in enumerate(fm):
                    status, detail = self.one(tree, mu, orig, orig_obj, path, obj, cov, runs, base, min_timeout, env)
                    done(mu, status, detail, i + 1, len(fm))
            finally:  # the object first: a stop in between leaves a source that differs, so sync drops it
                with open(obj, "wb") as fh:
                    fh.write(orig_obj)
                with open(path, "w") as fh:
                    fh.write(orig)
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.remove(marker)

    def one(self, tree, mu, orig, orig_obj, path, obj, cov, runs, base, min_timeout, env):
        with open(path, "w") as fh:
            fh.write(apply(orig, mu))
        if os.path.exists(obj):
            os.remove(obj)
        if not self.make(tree, [mu["file"][:-2] + ".o"]):
            return "stillborn", ""
        with open(obj, "rb") as fh:
            if self.tce and fh.read() == orig_obj:
                return "equivalent", "same object"
        tests = tests_for(mu, cov)
        if tests is None:  # no line data (a declaration): every test that runs the file
            tests = sorted(set(t for ts in cov.get(mu["file"], {}).values() for t in ts))
        tests = sorted((t for t in tests if t in base), key=lambda t: base[t])
        if not tests:
            return "uncovered", ""
        linked = set()
        for t in tests:  # linked one at a time: most mutants die in the first
            exe, extra = runs[t]
            if exe not in linked and not self.make(tree, ["test/" + exe]):
                return "stillborn", "link"
            linked.add(exe)
            killed, why = run_test(tree, os.path.join(tree.src, self.name, "test", exe),
                                   max(min_timeout, 10 * base[t]), env, extra)
            if killed:
                return "killed", "%s: %s" % (t, why)
        return "survived", " ".join(tests)


if __name__ == "__main__":
    sys.exit(main())
