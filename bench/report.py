#!/usr/bin/env python3
"""Writes BENCHMARKS.md (to stdout) from the results directory bench/run.sh fills.

usage: report.py RESULTS_DIR [ANALYSIS.md]

Every figure is the median over the runs with (min-max); a ratio is computed per run
against the baseline measured in the same run, then summarised the same way.
"""
import json
import os
import re
import statistics
import sys


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(values, fmt):
    values = list(values)
    return "%s (%s-%s)" % (fmt(statistics.median(values)), fmt(min(values)), fmt(max(values)))


def ms(v):
    return "%.2f ms" % v


def per_s(v):
    return "{:,.0f}/s".format(v)


def times(v):
    return "%.2fx" % v


def mb(kb):
    return "%.1f MB" % (kb / 1024)


def verdict(value, target, higher_is_better, unit="x"):
    """PASS, or MISS with how far off the median is."""
    ok = value >= target if higher_is_better else value <= target
    if ok:
        return "PASS"
    if unit == "x" and higher_is_better:
        return "MISS (%.2fx; needs %.1fx more)" % (value, target / value)
    if unit == "x":
        return "MISS (%.2fx; %.1fx over the limit)" % (value, value / target)
    return "MISS (by %.1f %s, %.1fx the limit)" % (abs(value - target), unit, value / target)


def main():
    res = sys.argv[1]
    analysis = sys.argv[2] if len(sys.argv) > 2 else None
    machine = dict(
        line.rstrip("\n").split("=", 1)
        for line in open(os.path.join(res, "machine.txt"))
        if "=" in line
    )
    get = lambda name: lines(os.path.join(res, name + ".jsonl"))
    echo, score, rec, health = get("echo"), get("score"), get("recommend"), get("health")
    echo_r, score_r = get("echo-redis"), get("score-redis")
    traced = os.path.exists(os.path.join(res, "score-traced.jsonl"))
    echo_t, score_t = (get("echo-traced"), get("score-traced")) if traced else ([], [])
    revision, echo_1, score_1 = get("revision"), get("echo-single"), get("score-single")
    runs = len(score)
    probe = get("probe")[0]
    probe_rec = get("probe-recommend")[0]
    cold = []
    run = 1
    while os.path.exists(os.path.join(res, "cold-%d.jsonl" % run)):
        cold.append(statistics.median(r["p50_ms"] for r in get("cold-%d" % run)))
        run += 1
    imports, copies = get("import"), get("copy")
    idle = {r["service"]: r["rss_kb"] for r in get("idle")}
    peak = {r["service"]: r["hwm_kb"] for r in get("peak")}

    def ratio(a, b, key):
        return [x[key] / y[key] for x, y in zip(a, b)]

    out = []
    w = out.append
    w("# GovLens benchmarks")
    w("")
    w("Written by `bench/run.sh` (do not edit by hand; the analysis at the end comes from")
    w("[`bench/ANALYSIS.md`](bench/ANALYSIS.md)). Command:")
    w("")
    w("```sh")
    w(machine["command"])
    w("```")
    w("")
    w(
        "Machine: %s cores, %s, Linux %s; %s; PostgreSQL %s, Redis %s; commit %s; %s."
        % (
            machine["nproc"],
            machine["cpu"],
            machine["kernel"],
            machine["rustc"],
            machine["postgres"],
            machine["redis"],
            machine["commit"],
            machine["date"],
        )
    )
    w("")
    w(
        "Every figure is the median over %d runs, with (min-max). A ratio is taken per run "
        "against the baseline measured in that run, then summarised the same way; PASS or "
        "MISS judges the median. Load runs: %s streams (calls in flight) over %s HTTP/2 "
        "connections, %s warm-up, %s measured; services and the echo server on core %s, "
        "the load generator on core %s (`taskset`)."
        % (
            runs,
            machine["streams"],
            machine["connections"],
            machine["warmup"],
            machine["duration"],
            machine["server_cpu"],
            machine["client_cpu"],
        )
    )
    w("")
    w("## Targets")
    w("")
    w("| target | measured | baseline (same runs) | ratio | goal | result |")
    w("|---|---|---|---|---|---|")

    r = ratio(score, echo, "calls_per_s")
    w(
        "| cached ScoreUnits throughput (in-process cache + Redis) | %s | echo %s | %s | >= 0.8x | %s |"
        % (
            summary((x["calls_per_s"] for x in score), per_s),
            summary((x["calls_per_s"] for x in echo), per_s),
            summary(r, times),
            verdict(statistics.median(r), 0.8, True),
        )
    )
    r = ratio(score, echo, "p99_ms")
    w(
        "| cached ScoreUnits p99 | %s | echo %s | %s | <= 1.5x | %s |"
        % (
            summary((x["p99_ms"] for x in score), ms),
            summary((x["p99_ms"] for x in echo), ms),
            summary(r, times),
            verdict(statistics.median(r), 1.5, False),
        )
    )
    r = ratio(score_r, echo_r, "calls_per_s")
    w(
        "| ScoreUnits throughput, Redis only (`GOVLENS_CACHE_MEMORY_MB=0`) | %s | echo %s | %s | >= 0.5x | %s |"
        % (
            summary((x["calls_per_s"] for x in score_r), per_s),
            summary((x["calls_per_s"] for x in echo_r), per_s),
            summary(r, times),
            verdict(statistics.median(r), 0.5, True),
        )
    )
    r = ratio(rec, score, "p99_ms")
    w(
        "| Recommend cn-gz warm p99 | %s | cached ScoreUnits p99 %s | %s | <= 3x | %s |"
        % (
            summary((x["p99_ms"] for x in rec), ms),
            summary((x["p99_ms"] for x in score), ms),
            summary(r, times),
            verdict(statistics.median(r), 3.0, False),
        )
    )
    w(
        "| Recommend cn-gz cold p50 (all caches empty) | %s | - | - | <= 50 ms | %s |"
        % (summary(cold, ms), verdict(statistics.median(cold), 50.0, False, "ms"))
    )
    r = ratio(imports, copies, "rows_per_s")
    w(
        "| import of %s observations through gRPC | %s | psql `\\copy` %s | %s | >= 0.5x | %s |"
        % (
            "{:,}".format(int(machine["import_rows"])),
            summary((x["rows_per_s"] for x in imports), per_s),
            summary((x["rows_per_s"] for x in copies), per_s),
            summary(r, times),
            verdict(statistics.median(r), 0.5, True),
        )
    )
    for name in ("data", "scoring", "recommendation"):
        w(
            "| govlens-%s idle RSS | %s | - | - | <= 50 MB | %s |"
            % (name, mb(idle[name]), verdict(idle[name] / 1024, 50.0, False, "MB"))
        )
    for name in ("data", "scoring", "recommendation"):
        w(
            "| govlens-%s peak RSS under the loads | %s | - | - | <= 200 MB | %s |"
            % (name, mb(peak[name]), verdict(peak[name] / 1024, 200.0, False, "MB"))
        )
    engine = open(os.path.join(res, "engine.txt")).read()
    rows = re.findall(
        r"^([AB] .+?)\s{2,}(\S+ \[\S+\])\s+(\S+ \[\S+\])\s+([\d.]+)x$", engine, re.M
    )
    for name, eng, ref, x in rows:
        w(
            "| engine: %s | %s ms | NumPy %s ms | %sx | >= 5x | %s |"
            % (name, eng, ref, x, verdict(float(x), 5.0, True))
        )
    if not rows:
        w("| engine against NumPy | (output not understood; see below) | | | >= 5x | ? |")

    w("")
    w("## All load figures")
    w("")
    w("| scenario | calls/s | p50 | p99 | p999 | max |")
    w("|---|---|---|---|---|---|")
    scenarios = [
        ("echo baseline (response %d B, request %d B)" % (probe["response_bytes"], probe["request_bytes"]), echo),
        ("ScoreUnits toe-default regions, cached", score),
        ("Recommend cn-gz, warm (response %d B)" % probe_rec["response_bytes"], rec),
        ("Health/Check on govlens-scoring (service middleware only)", health),
        ("DataService/GetDataRevision (asked by every ScoreUnits call)", revision),
        ("echo baseline, 1 stream", echo_1),
        ("ScoreUnits cached, 1 stream", score_1),
        ("echo baseline (Redis-only runs)", echo_r),
        ("ScoreUnits, Redis only", score_r),
    ]
    if traced:
        scenarios += [
            ("echo baseline (traced runs)", echo_t),
            ("ScoreUnits cached, every call traced (`OTEL_TRACES_SAMPLER=always_on`)", score_t),
        ]
    for name, rs in scenarios:
        w(
            "| %s | %s | %s | %s | %s | %s |"
            % (
                name,
                summary((x["calls_per_s"] for x in rs), per_s),
                summary((x["p50_ms"] for x in rs), ms),
                summary((x["p99_ms"] for x in rs), ms),
                summary((x["p999_ms"] for x in rs), ms),
                summary((x["max_ms"] for x in rs), ms),
            )
        )
    w("")
    w(
        "Import: %s rows/s through gRPC in batches of %s (%s s per run), psql `\\copy` %s rows/s (%s s)."
        % (
            summary((x["rows_per_s"] for x in imports), per_s),
            machine["import_batch"],
            summary((x["seconds"] for x in imports), lambda v: "%.1f" % v),
            summary((x["rows_per_s"] for x in copies), per_s),
            summary((x["seconds"] for x in copies), lambda v: "%.1f" % v),
        )
    )
    if traced:
        w("")
        w(
            "Every call traced (`OTEL_TRACES_SAMPLER=always_on`, not a target): cached ScoreUnits "
            "%s, %s echo in the same runs; p99 %s echo."
            % (
                summary((x["calls_per_s"] for x in score_t), per_s),
                summary(ratio(score_t, echo_t, "calls_per_s"), times),
                summary(ratio(score_t, echo_t, "p99_ms"), times),
            )
        )
    w("")
    w("Engine against NumPy (`cargo run --release -p govlens-engine --example bench`):")
    w("")
    w("```")
    w(engine.strip())
    w("```")
    w("")
    w("## Method")
    w("")
    w(
        "- **Load** (`bench/loadgen`, `govlens-loadgen run`): closed loop, each stream keeps one "
        "call in flight; calls started in the measured window go into an HDR histogram. Every "
        "status is counted and any non-OK status fails the benchmark, so every figure above "
        "is of successful calls only."
    )
    w(
        "- **Echo baseline**: `govlens-loadgen echo-server`, a bare tonic server on the same core "
        "as the services, answering with as many bytes as ScoreUnits returns and sent requests "
        "as large as ScoreUnits requests; it runs right before the scenario it is the "
        "baseline of, in every run."
    )
    w(
        "- **Cached reads** repeat one request (model toe-default, regions, latest period), so "
        "after the first call every call is a cache hit. **Redis only**: govlens-scoring "
        "restarted with `GOVLENS_CACHE_MEMORY_MB=0`."
    )
    w(
        "- **Cold Recommend**: before each sample all three services are stopped, their Redis "
        "entries deleted (every key names the database instance), the services started again "
        "and, once they report SERVING, the first Recommend call is timed; %s samples per run, "
        "the run's figure is their median. PostgreSQL's and the OS's caches stay warm."
        % machine["cold_samples"]
    )
    w(
        "- **Import**: `govlens-loadgen import` streams synthetic observations (a new platform "
        "per run; dates 1900-2100, five metrics, as many channels as needed for distinct natural "
        "keys) through DataService/ImportRecords with the service's validation; the same rows, "
        "written as CSV, are loaded with psql `\\copy` into the observations table of a second "
        "fresh database with the same schema (`pg_dump --schema-only`). PostgreSQL is not pinned."
    )
    w(
        "- **Memory**: idle is VmRSS 2 s after start and the dataset load; peak is the highest "
        "VmHWM of every process a service ran as during the cached, Redis-only, cold and import "
        "loads (from `/proc/PID/status`)."
    )
    auth = machine.get("auth", "required")
    w(
        "- The services run with their defaults (`GOVLENS_LOG=info`, in-process cache 64 MB, "
        "Redis, no OTLP exporter, so a call is traced only when its caller samples it, and "
        "the load generator samples none) and the environment `deploy/run-local.sh` gives them, on a fresh PostgreSQL "
        "database; authentication %s, per-caller rate limits off "
        "(`GOVLENS_RATE_LIMIT_RPS=0`), as they would cap the load. The load generator sends "
        "the same `authorization` header to the echo server, which ignores it."
        % (
            "on (`GOVLENS_AUTH=required`: a reader token for the reads, an admin token for "
            "the imports)"
            if auth != "off"
            else "off (`GOVLENS_AUTH=off`)"
        )
    )
    w(
        "- Other processes were not stopped: the load average was %s (1, 5, 15 min) at the "
        "start and %s at the end; PostgreSQL and Redis are not pinned."
        % (machine.get("loadavg_start", "?"), machine.get("loadavg_end", "?"))
    )
    if analysis and os.path.exists(analysis):
        w("")
        w(open(analysis).read().strip())
    print("\n".join(out))


if __name__ == "__main__":
    main()
