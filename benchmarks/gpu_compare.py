"""Check: ``datakeeper gpu --json`` against ``nvidia-smi`` on a running CUDA process.

Needs a machine with an NVIDIA GPU, its driver and ``nvidia-smi``; on any other it
says so and exits 2 (it cannot run on the GPU-less machine the tests run on)::

    .venv/bin/python benchmarks/gpu_compare.py [--pid PID] [--megabytes 512]

Without ``--pid`` it starts a CUDA process of its own (PyTorch, or CuPy, from this
Python) that holds ``--megabytes`` of GPU memory, waits until NVML lists it, then
compares every pid of ``nvidia-smi --query-compute-apps=pid,used_memory --format=csv``
with the processes of ``datakeeper gpu --json``: the same pids, the same memory (to
the MiB), and the started process's user is the one running this script. Run it as
root to compare every process; as a member, other users' processes are only counted.
Exit 0 when everything matches, 1 when something differs, 2 when there is no GPU.
"""

from __future__ import annotations

import argparse
import getpass
import json
import shutil
import subprocess
import sys
import time

MIB = 1024 * 1024
HOLDER = """
import sys, time
n = int(sys.argv[1]) * 1024 * 1024
try:
    import torch
    x = torch.ones(n // 4, dtype=torch.float32, device="cuda")
except ImportError:
    import cupy
    x = cupy.ones(n // 4, dtype=cupy.float32)
print("ready", flush=True)
time.sleep(600)
"""


def nvidia_smi() -> dict[int, int]:
    """pid -> used memory in MiB, as nvidia-smi reports the compute processes."""
    query = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
    out = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        pid, _, used = line.partition(",")
        if pid.strip().isdigit():
            found[int(pid)] = int(used) if used.strip().isdigit() else -1
    return found


def datakeeper_gpu() -> dict:
    command = [sys.executable, "-m", "datakeeper", "gpu", "--json"]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def start_holder(megabytes: int) -> subprocess.Popen:
    """A child that allocates ``megabytes`` on the GPU and sleeps (killed at the end)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(megabytes)], stdout=subprocess.PIPE, text=True
    )
    if child.stdout.readline().strip() != "ready":
        child.kill()
        sys.exit("could not start a CUDA process: install torch or cupy, or pass --pid")
    return child


def compare(pid: int) -> list[str]:
    """Every difference between the two views, one sentence each."""
    for _ in range(30):  # NVML may list a new context a moment later
        smi = nvidia_smi()
        if pid in smi:
            break
        time.sleep(1)
    ours = datakeeper_gpu()
    processes = {p["pid"]: p for p in ours["processes"]}
    counted = sum(ours["other_processes"].values())
    problems = [f"pid {pid} is not in nvidia-smi's list"] if pid not in smi else []
    for other, mib in sorted(smi.items()):
        if other not in processes:
            if not counted:
                problems.append(f"pid {other} ({mib} MiB) is missing from datakeeper gpu")
            continue
        used = processes[other]["used_memory"]
        if used is not None and abs(used // MIB - mib) > 1:
            problems.append(f"pid {other}: nvidia-smi {mib} MiB, datakeeper {used // MIB} MiB")
    if pid in processes and processes[pid]["user"] != getpass.getuser():
        problems.append(f"pid {pid}: user {processes[pid]['user']}, not {getpass.getuser()}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, help="an already running CUDA process")
    parser.add_argument("--megabytes", type=int, default=512)
    args = parser.parse_args()
    if shutil.which("nvidia-smi") is None or not datakeeper_gpu()["available"]:
        print("no NVIDIA GPU or driver found on this machine: this check needs one")
        return 2
    child = None if args.pid else start_holder(args.megabytes)
    try:
        problems = compare(args.pid or child.pid)
    finally:
        if child is not None:
            child.kill()
    for line in problems:
        print(f"DIFFERS: {line}")
    print("datakeeper gpu matches nvidia-smi" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
