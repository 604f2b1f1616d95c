#!/usr/bin/env python3
"""A finished `kdpipe run` as a roofline table.

Each stage of a local run writes work.json (lib/core/work_ledger.h): its seconds per phase and the
forward FLOPs of the images it trained on (counted 3x) and evaluated, counted from the matrix
products and convolutions LibTorch ran. This script adds them up per stage kind and compares them
with the sgemm rate: per kind against the rate at the stage's own thread count, and for the
whole run against all cores' rate over the run's wall time.

    python3 bench/roofline.py RUN_DIR --wall SECONDS --sgemm THREADS=GFLOPS,...

bench/roofline.sh runs a study, measures sgemm in the same run and calls this script.
"""
import argparse
import json
import os
import sys

PHASES = ["load", "train", "evaluate", "infer", "write", "other"]


def stage_threads(stage_json):
    command = stage_json.get("command", [])
    for i, arg in enumerate(command[:-1]):
        if arg == "--threads":
            return int(command[i + 1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--wall", type=float, required=True, help="the run's wall time, seconds")
    ap.add_argument("--sgemm", required=True,
                    help="sgemm GFLOP/s by thread count, e.g. 1=160.2,2=305.1")
    ap.add_argument("--json", help="also write the table as JSON here")
    a = ap.parse_args()
    sgemm = {int(k): float(v) for k, v in (kv.split("=") for kv in a.sgemm.split(","))}
    cores = max(sgemm)

    manifest = json.load(open(os.path.join(a.run_dir, "manifest.json")))
    kinds = {}
    missing = []
    for s in manifest["stages"]:
        work_path = os.path.join(a.run_dir, s["id"], "work.json")
        if not os.path.exists(work_path):
            missing.append(s["id"])
            continue
        w = json.load(open(work_path))
        st = json.load(open(os.path.join(a.run_dir, s["id"], "stage.json")))
        threads = stage_threads(st) or cores
        k = kinds.setdefault(s["kind"], {"stages": 0, "flops": 0.0, "seconds": 0.0,
                                          "bound_seconds": 0.0, "phases": dict.fromkeys(PHASES, 0.0)})
        k["stages"] += 1
        k["flops"] += w["forward_flops"]
        k["seconds"] += w["seconds"]
        # The time this stage's FLOPs take at the sgemm rate of its own thread count.
        k["bound_seconds"] += w["forward_flops"] / (sgemm.get(threads, sgemm[cores]) * 1e9)
        for p in PHASES:
            k["phases"][p] += w["phases"].get(p, 0.0)
    if missing:
        print(f"no work.json for {len(missing)} stage(s) (run with an older kdpipe, skipped, or "
              f"on SLURM): {', '.join(missing[:5])}", file=sys.stderr)

    total_flops = sum(k["flops"] for k in kinds.values())
    floor = total_flops / (sgemm[cores] * 1e9)
    print(f"sgemm 1024^2: " + ", ".join(f"{t} thread(s) {g:.1f} GFLOP/s" for t, g in sorted(sgemm.items())))
    print()
    print("| stage kind | stages | TFLOP | stage s | " + " | ".join(PHASES) +
          " | GFLOP/s per stage | % of its sgemm rate |")
    print("|---|---" + "|---" * (len(PHASES) + 4) + "|")
    for kind, k in kinds.items():
        rate = k["flops"] / k["seconds"] / 1e9 if k["seconds"] else 0
        share = 100 * k["bound_seconds"] / k["seconds"] if k["seconds"] else 0
        print(f"| {kind} | {k['stages']} | {k['flops'] / 1e12:.2f} | {k['seconds']:.1f} | " +
              " | ".join(f"{k['phases'][p]:.1f}" for p in PHASES) +
              f" | {rate:.1f} | {share:.0f}% |")
    print()
    print(f"whole run: {total_flops / 1e12:.2f} TFLOP in {a.wall:.1f} s wall; at {cores} threads' "
          f"sgemm rate its floor is {floor:.1f} s: **{100 * floor / a.wall:.0f}% of the roofline**")
    if a.json:
        json.dump({"sgemm_gflops": sgemm, "wall_seconds": a.wall, "flops": total_flops,
                   "floor_seconds": floor, "roofline_fraction": floor / a.wall, "kinds": kinds},
                  open(a.json, "w"), indent=2)


if __name__ == "__main__":
    main()
