# SPDX-License-Identifier: Apache-2.0
"""Process trees from /proc: CPU time and memory of everything a target runs (httpd, its children
and daemons, a uWSGI or gunicorn master and its workers), and stopping a tree we started, by pid.
Never looks processes up by name."""

import os
import resource
import signal
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class Proc:
    """One /proc/<pid>/stat line: parent, CPU ticks used (own, and of reaped children), start."""

    __slots__ = ("pid", "ppid", "ticks", "childTicks", "start", "rssPages")

    def __init__(self, pid, ppid, ticks, childTicks, start, rssPages):
        self.pid = pid
        self.ppid = ppid
        self.ticks = ticks
        self.childTicks = childTicks
        self.start = start
        self.rssPages = rssPages


def parseStat(pid, data):
    """A Proc from the text of /proc/<pid>/stat."""
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = data[data.rfind(")") + 2:].split()
    return Proc(pid, int(fields[1]), int(fields[11]) + int(fields[12]),
                int(fields[13]) + int(fields[14]), int(fields[19]), int(fields[21]))


def readProc(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return parseStat(pid, f.read().decode("ascii", "replace"))
    except (OSError, IndexError, ValueError):
        return None


def scan():
    """{pid: Proc} for every process visible now."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            p = readProc(int(entry))
            if p is not None:
                procs[p.pid] = p
    return procs


def descendants(procs, root):
    """`root` and every process below it in `procs`, root first."""
    if root not in procs:
        return []
    kids = {}
    for p in procs.values():
        kids.setdefault(p.ppid, []).append(p.pid)
    out, todo, seen = [], [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def treeCpuTicks(roots, procs=None):
    """CPU ticks used so far by the trees under `roots`: the live processes plus the children
    each root has reaped (a worker that exited during a run still counts)."""
    procs = scan() if procs is None else procs
    total = 0
    for root in roots:
        pids = descendants(procs, root)
        total += sum(procs[pid].ticks for pid in pids)
        if pids:
            total += procs[root].childTicks
    return total


def threadContextSwitches(pid):
    """(voluntary, involuntary) context switches of every live thread of one process so far.
    Voluntary ones are waits (a thread blocking on a socket, a lock, a condition: the hand-offs
    between threads a request pays); involuntary ones are preemptions, which grow with the load
    of a shared machine. Threads that have exited are not counted (the kernel folds them nowhere
    readable), so the figure is a lower bound for a tree whose threads come and go."""
    voluntary = involuntary = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        voluntary += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        involuntary += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return voluntary, involuntary


def treeContextSwitches(roots, procs=None):
    """(voluntary, involuntary) context switches so far of every live thread in the trees under
    `roots` (see threadContextSwitches)."""
    procs = scan() if procs is None else procs
    voluntary = involuntary = 0
    for root in roots:
        for pid in descendants(procs, root):
            v, i = threadContextSwitches(pid)
            voluntary += v
            involuntary += i
    return voluntary, involuntary


def processMemory(pid):
    """(rss, pss, uss, cpus) of one process: bytes; PSS and USS (its private pages: what the
    process costs beyond what it shares) None when smaps_rollup is not readable; and the CPUs it
    may run on (to show the pinning held for every process of a target)."""
    rss = pss = uss = cpus = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Cpus_allowed_list:"):
                    cpus = line.split(":", 1)[1].strip()
    except OSError:
        return None, None, None, None
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            pss, uss = rollupMemory(f)
    except OSError:
        pass
    return rss, pss, uss, cpus


def rollupMemory(lines):
    """(pss, uss) in bytes from the lines of a /proc/PID/smaps_rollup."""
    fields = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in ("Pss", "Private_Clean", "Private_Dirty"):
            fields[name] = int(rest.split()[0]) * 1024
    pss = fields.get("Pss")
    private = [fields.get("Private_Clean"), fields.get("Private_Dirty")]
    return pss, None if None in private else sum(private)


def describe(pid):
    """(executable basename, command line) of a process, or ("?", "?") once it is gone."""
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        exe = "?"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        cmd = "?"
    return exe, cmd


def systemCpuTicks():
    """(process time, interrupt time, steal) clock ticks of the whole machine since boot, from
    /proc/stat. Interrupt time is apart because loopback networking runs largely in softirq
    context, which no process's utime/stime includes."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system, irq + softirq, steal


def childrenCpuSeconds():
    """CPU seconds of our reaped child processes (wrk, once it has exited)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def stopTree(proc, sig, stopTimeout, grace):
    """Sends `sig` to our child `proc` (a Popen) by pid, waits at most `stopTimeout` s for it,
    then SIGKILL; then waits at most `grace` s for the rest of its tree to go and SIGKILLs, by
    pid, what remains (matched by start time, so a reused pid is never hit). Returns notes on
    anything that had to be killed: a cleanly stopping server returns none."""
    notes = []
    procs = scan()
    tree = {pid: procs[pid].start for pid in descendants(procs, proc.pid) if pid != proc.pid}
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=stopTimeout)
        except subprocess.TimeoutExpired:
            notes.append(f"pid {proc.pid} ignored {signal.Signals(sig).name} for "
                         f"{stopTimeout:.0f}s; killed")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=stopTimeout)
    deadline = time.monotonic() + grace
    while True:
        remaining = [pid for pid, start in tree.items()
                     if (p := readProc(pid)) is not None and p.start == start]
        if not remaining or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    for pid in remaining:
        notes.append(f"pid {pid} ({describe(pid)[1]}) still running {grace:.0f}s after its "
                     "parent exited; killed")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return notes
