#!/usr/bin/env python3
"""devex against DuckDB on the same Parquet lake (see bench/README.md).

Checks first that both give the same numbers, then times each question:
devex through the HTTP API of a running `devex serve` (cold: the first
request; warm: the median of the next ones) and as a whole CLI process;
DuckDB in a fresh process (cold) and on a warm connection. Also measures
durable webhook ingest, import rows/s, the lake size per million events,
the derive stage (from scratch and after new events) and freshness (a new
deployment's time from acknowledgement to first appearance in a report).
Loopback only; every load is bounded in count and time.
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FROM, TO = "2025-11-01", "2026-11-01"

# The DORA rules of analytics/src/dora/*.sql, by hand, for DuckDB: counted
# production deployments (baseline included, redeploys and rollbacks not),
# their changes from the derive stage's output, and lead times from the
# merged pull request's first commit, else the commit's author time.
DUCK_BASE = """
WITH successful AS (
    SELECT service, deployment_id,
           first(sha ORDER BY started_at, event_id) AS sha,
           min(started_at) AS started_at, max(finished_at) AS finished_at
    FROM deployments
    WHERE lower(status) = 'success' AND regexp_matches(environment, '^(prod|production)$', 'i')
    GROUP BY service, deployment_id
), ordered AS (
    SELECT *, coalesce(finished_at, started_at) AS deployed_at,
           row_number() OVER (PARTITION BY service, sha ORDER BY started_at, deployment_id) AS sha_occurrence
    FROM successful
), counted AS (
    SELECT o.*, s.team FROM ordered o
    LEFT JOIN (SELECT service, max(owner_team) AS team FROM services GROUP BY service) s USING (service)
    WHERE sha_occurrence = 1
      AND deployed_at >= TIMESTAMPTZ '{from_} 00:00:00+00' AND deployed_at < TIMESTAMPTZ '{to} 00:00:00+00'
      {team_filter}
), commit_time AS (
    SELECT sha, min(authored_at) AS authored_at FROM commits GROUP BY sha
), merged AS (
    SELECT merge_sha, min(first_commit_at) AS first_commit_at FROM pull_requests
    WHERE merge_sha IS NOT NULL AND merged_at IS NOT NULL GROUP BY merge_sha
), lead_times AS (
    SELECT d.service, d.deployed_at,
           (epoch_us(d.deployed_at) - epoch_us(coalesce(pr.first_commit_at, c.authored_at))) / 3600000000.0 AS hours
    FROM deployment_changes ch
    JOIN counted d ON d.service = ch.service AND d.deployment_id = ch.deployment_id
    JOIN commit_time c ON c.sha = ch.sha
    LEFT JOIN merged pr ON pr.merge_sha = ch.sha
)
"""

DUCK_REPORT = DUCK_BASE + """
SELECT w.service, w.deployments, coalesce(l.changes, 0) AS changes, l.median AS lead_time_median_hours
FROM (SELECT service, count(*) AS deployments FROM counted GROUP BY service) w
LEFT JOIN (SELECT service, count(*) AS changes, quantile_cont(hours, 0.5) AS median
           FROM lead_times GROUP BY service) l USING (service)
ORDER BY service
"""

# Weeks start on Monday; the first one is clipped to the window. The same
# numbers per service and week as the report gives per service.
WEEK = "strftime(greatest(date_trunc('week', deployed_at AT TIME ZONE 'UTC'), TIMESTAMP '{from_}'), '%Y-%m-%d')"
DUCK_SERIES = DUCK_BASE + f"""
SELECT w.service, w.period_start, w.deployments, coalesce(l.changes, 0) AS changes,
       l.median AS lead_time_median_hours
FROM (SELECT service, {WEEK} AS period_start, count(*) AS deployments FROM counted GROUP BY ALL) w
LEFT JOIN (SELECT service, {WEEK} AS period_start, count(*) AS changes, quantile_cont(hours, 0.5) AS median
           FROM lead_times GROUP BY ALL) l USING (service, period_start)
ORDER BY w.service, w.period_start
"""

# The DevEx feedback loops of analytics/src/devex/{ci_attempts,ci_flaky,
# pull_request_phases,repository_summary}.sql, by hand, from the canonical
# tables: per team, CI attempts (rows of one attempt merged) by queued_at,
# their duration and queue percentiles, flaky (repo, pipeline, sha) groups,
# and merged pull requests by merged_at with their cycle time (first commit
# to merge, elapsed hours).
DUCK_DEVEX = """
WITH repository_teams AS (
    SELECT repo, min(owner_team) AS team FROM (SELECT unnest(repos) AS repo, owner_team FROM services) GROUP BY repo
), attempt AS (
    SELECT repo, pipeline, run_id, attempt, max(sha) AS sha, min(queued_at) AS queued_at,
           max(started_at) AS started_at, max(finished_at) AS finished_at,
           first(conclusion ORDER BY finished_at DESC NULLS LAST, event_id) AS conclusion
    FROM ci_runs GROUP BY ALL
), ci_attempts AS MATERIALIZED (
    SELECT a.*, t.team,
           CASE WHEN finished_at >= started_at THEN (epoch_us(finished_at) - epoch_us(started_at)) / 60000000.0 END AS duration_minutes,
           CASE WHEN started_at >= queued_at THEN (epoch_us(started_at) - epoch_us(queued_at)) / 60000000.0 END AS queue_minutes
    FROM attempt a LEFT JOIN repository_teams t USING (repo)
), ci AS (
    SELECT team, count(duration_minutes) AS ci_runs,
           quantile_cont(duration_minutes, 0.5) AS duration_median, quantile_cont(duration_minutes, 0.9) AS duration_p90,
           quantile_cont(queue_minutes, 0.5) AS queue_median
    FROM ci_attempts
    WHERE queued_at >= TIMESTAMPTZ '{from_} 00:00:00+00' AND queued_at < TIMESTAMPTZ '{to} 00:00:00+00'
    GROUP BY team
), flaky AS (
    SELECT team, count(*) AS ci_shas, sum(CASE WHEN flaky THEN 1 ELSE 0 END) / count(*) AS flaky_rate
    FROM (
        SELECT repo, pipeline, sha, min(team) AS team, min(queued_at) AS queued_at,
               coalesce(min(CASE WHEN conclusion IN ('failure', 'timed_out') THEN queued_at END)
                        < max(CASE WHEN conclusion = 'success' THEN queued_at END), false) AS flaky
        FROM ci_attempts WHERE conclusion IN ('success', 'failure', 'timed_out')
        GROUP BY repo, pipeline, sha
    )
    WHERE queued_at >= TIMESTAMPTZ '{from_} 00:00:00+00' AND queued_at < TIMESTAMPTZ '{to} 00:00:00+00'
    GROUP BY team
), pr AS (
    SELECT repo, number, min(first_commit_at) AS first_commit_at, max(merged_at) AS merged_at
    FROM pull_requests GROUP BY repo, number HAVING max(merged_at) IS NOT NULL
), prs AS (
    SELECT t.team, count(*) AS merged_prs,
           quantile_cont(greatest((epoch_us(merged_at) - epoch_us(first_commit_at)) / 3600000000.0, 0.0), 0.5) AS cycle_median,
           quantile_cont(greatest((epoch_us(merged_at) - epoch_us(first_commit_at)) / 3600000000.0, 0.0), 0.9) AS cycle_p90
    FROM pr LEFT JOIN repository_teams t USING (repo)
    WHERE merged_at >= TIMESTAMPTZ '{from_} 00:00:00+00' AND merged_at < TIMESTAMPTZ '{to} 00:00:00+00'
    GROUP BY t.team
)
SELECT team, ci.ci_runs, ci.duration_median, ci.duration_p90, ci.queue_median,
       flaky.ci_shas, flaky.flaky_rate, prs.merged_prs, prs.cycle_median, prs.cycle_p90
FROM ci FULL JOIN flaky USING (team) FULL JOIN prs USING (team)
WHERE team IS NOT NULL
ORDER BY team
"""


def duck_views(con, lake):
    for table in ["deployments", "commits", "pull_requests", "services", "ci_runs"]:
        con.execute(
            f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{lake}/{table}/**/*.parquet', union_by_name=true)"
        )
    # The walk's newest complete generation: a folder of parts, manifest last.
    root = os.path.join(lake, "_derived", "deployment_changes")
    complete = [os.path.join(root, g) for g in os.listdir(root) if os.path.exists(os.path.join(root, g, "manifest.json"))]
    newest = max(complete, key=lambda g: os.path.getmtime(os.path.join(g, "manifest.json")))
    con.execute(
        f"CREATE OR REPLACE VIEW deployment_changes AS SELECT * FROM read_parquet('{newest}/*.parquet')"
    )


def duck_questions(team):
    return {
        "dora_report": DUCK_REPORT.format(from_=FROM, to=TO, team_filter=""),
        "dora_weekly_series": DUCK_SERIES.format(from_=FROM, to=TO, team_filter=""),
        "devex_feedback_loops": DUCK_DEVEX.format(from_=FROM, to=TO),
        "team_drill_down": DUCK_REPORT.format(from_=FROM, to=TO, team_filter=f"AND s.team = '{team}'"),
    }


def duck_worker(lake, team, runs, out):
    """Runs in its own process so its peak memory is its own."""
    import duckdb

    results, timings = {}, {}
    for name, sql in duck_questions(team).items():
        con = duckdb.connect()
        duck_views(con, lake)
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        cold = time.perf_counter() - start
        warm = []
        for _ in range(runs):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            warm.append(time.perf_counter() - start)
        results[name] = [list(r) for r in rows]
        timings[name] = {"cold": cold, "warm": statistics.median(warm) if warm else None}
        con.close()
    with open(out, "w") as f:
        json.dump({"results": results, "timings": timings}, f)


def devex_rows(report_json, question):
    """The devex numbers DuckDB also computes, in DuckDB's row shape."""
    if question == "devex_feedback_loops":
        return sorted(
            [g["team"], g["ci_runs"], g["ci_duration_median_minutes"], g["ci_duration_p90_minutes"],
             g["ci_queue_median_minutes"], g["ci_shas"], g["flaky_rate"], g["merged_prs"],
             g["pr_cycle_time_median_hours"], g["pr_cycle_time_p90_hours"]]
            for g in report_json["groups"]
            if g["team"] is not None and (g["ci_runs"] or g["ci_shas"] or g["merged_prs"])
        )
    if question == "dora_weekly_series":
        return sorted(
            [p["service"], p["period_start"], p["deployments"], p["changes"], p["lead_time_median_hours"]]
            for p in report_json["points"]
            if p["deployments"] > 0
        )
    return sorted(
        [g["service"], g["deployments"], g["changes"], g["lead_time_median_hours"]]
        for g in report_json["groups"]
        if g["deployments"] > 0
    )


def same(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, float) or isinstance(v, float):
                if u is None or v is None or abs(u - v) > 1e-6 * max(1.0, abs(u)):
                    if not (u is None and v is None):
                        return False
            elif u != v:
                return False
    return True


class Server:
    def __init__(self, devex, lake, env=None):
        self.proc = subprocess.Popen(
            [devex, "serve", "--lake", lake, "--addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        assert line.startswith("devex listening on "), line
        self.host, self.port = line.removeprefix("devex listening on http://").split(":")

    def get(self, path):
        con = http.client.HTTPConnection(self.host, int(self.port), timeout=600)
        start = time.perf_counter()
        con.request("GET", path)
        response = con.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        assert response.status == 200, (path, response.status, body[:300])
        return json.loads(body), elapsed

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


API = {
    "dora_report": f"/api/v1/dora?from={FROM}&to={TO}&group_by=service",
    "dora_weekly_series": f"/api/v1/dora/series?from={FROM}&to={TO}&granularity=week&group_by=service",
    "devex_feedback_loops": f"/api/v1/devex?from={FROM}&to={TO}",
}


def cli_args(question, team):
    base = ["--from", FROM, "--to", TO, "--format", "json"]
    return {
        "dora_report": ["report", "dora", *base, "--group-by", "service"],
        "dora_weekly_series": ["report", "dora", *base, "--series", "week", "--group-by", "service"],
        "devex_feedback_loops": ["report", "devex", *base],
        "team_drill_down": ["report", "dora", *base, "--team", team, "--group-by", "service"],
    }[question]


def measure_cli(devex, lake, args, runs):
    """Median wall time and peak RSS of whole CLI processes."""
    times, peak = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen([devex, *args, "--lake", lake], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        assert status == 0, proc.stderr.read().decode()[:500]
        peak = max(peak, usage.ru_maxrss / 1024)
    return statistics.median(times), peak


def webhook_load(devex, count, concurrency):
    """Durable webhook deliveries per second into a fresh lake; count in == count stored."""
    secret = "bench secret"
    lake = tempfile.mkdtemp(prefix="devex-bench-webhooks-")
    server = Server(devex, lake, {"DEVEX_GITHUB_WEBHOOK_SECRET": secret, "DEVEX_METRICS__REFRESH_SECONDS": "3600"})
    template = {
        "action": "completed",
        "repository": {"full_name": "acme/bench"},
        "workflow_run": {
            "name": "CI", "run_attempt": 1, "head_sha": "abc", "head_branch": "main", "event": "push",
            "status": "completed", "conclusion": "success", "created_at": "2026-10-01T10:00:00Z",
            "run_started_at": "2026-10-01T10:00:10Z", "updated_at": "2026-10-01T10:05:00Z",
        },
    }
    bodies = []
    for i in range(count):
        template["workflow_run"]["id"] = 10_000_000 + i
        body = json.dumps(template).encode()
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        bodies.append((f"bench-{i}", body, sig))

    def send(chunk):
        con = http.client.HTTPConnection(server.host, int(server.port), timeout=60)
        ok = 0
        for delivery, body, sig in chunk:
            con.request("POST", "/webhooks/github", body, {
                "X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": sig, "Content-Type": "application/json"})
            response = con.getresponse()
            response.read()
            ok += response.status == 200
        return ok

    chunks = [bodies[i::concurrency] for i in range(concurrency)]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        acknowledged = sum(pool.map(send, chunks, timeout=300))
    elapsed = time.perf_counter() - start
    server.stop()
    stored = json.loads(subprocess.check_output([devex, "query", "--lake", lake, "--format", "json",
                                                 "SELECT count(*) AS n FROM ci_runs"]))[0]["n"]
    return {"deliveries": count, "acknowledged": acknowledged, "stored": stored,
            "per_second": count / elapsed, "concurrency": concurrency}


def import_rate(devex, rows):
    folder = tempfile.mkdtemp(prefix="devex-bench-import-")
    path = os.path.join(folder, "deployments.jsonl")
    with open(path, "w") as f:
        for i in range(rows):
            f.write(json.dumps({
                "service": f"svc-{i % 50}", "environment": "production", "sha": f"{i:040x}",
                "deployment_id": f"bench-{i}", "status": "success",
                "started_at": f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}T10:00:00Z",
                "finished_at": f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}T10:05:00Z", "source": "import"}) + "\n")
    start = time.perf_counter()
    subprocess.check_call([devex, "import", "deployments", path, "--lake", os.path.join(folder, "lake"), "--no-derive"],
                          stdout=subprocess.DEVNULL)
    return rows / (time.perf_counter() - start)


def run_measured(args):
    """Wall time and peak RSS (MiB) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    assert status == 0, proc.stderr.read().decode()[:1000]
    return elapsed, usage.ru_maxrss / 1024


def derive_from_scratch(devex, lake):
    """The whole derive stage (commit-graph walk and every derived table) anew."""
    shutil.rmtree(os.path.join(lake, "_derived"), ignore_errors=True)
    return run_measured([devex, "derive", "--lake", lake])


def derive_update(devex, lake, count=10_000):
    """Time to bring the derived tables up to date after `count` new events
    (commits, their production deployments and CI runs of one service), in a
    hard-linked copy of the lake (lake files are never rewritten in place)."""
    folder = tempfile.mkdtemp(prefix="devex-bench-update-")
    copy = os.path.join(folder, "lake")
    subprocess.check_call(["cp", "-al", lake, copy])
    service = json.loads(subprocess.check_output(
        [devex, "query", "--lake", copy, "--format", "json",
         "SELECT service, repos[1] AS repo FROM services ORDER BY service LIMIT 1"]))[0]
    head = json.loads(subprocess.check_output(
        [devex, "query", "--lake", copy, "--format", "json",
         f"SELECT sha FROM commits WHERE repo = '{service['repo']}' ORDER BY committed_at DESC LIMIT 1"]))[0]["sha"]
    commits, deployments, runs = count // 10, count // 10, count - 2 * (count // 10)
    rows = {"commits": [], "deployments": [], "ci_runs": []}
    parent = head
    for i in range(commits):
        sha = hashlib.sha1(f"bench-update-{i}".encode()).hexdigest()
        at = f"2026-10-{1 + i * 30 // commits:02d}T{i % 24:02d}:00:00Z"
        rows["commits"].append({"repo": service["repo"], "sha": sha, "parents": [parent], "author": "bench",
                                "authored_at": at, "committed_at": at, "message_summary": "bench change"})
        rows["deployments"].append({"service": service["service"], "environment": "production", "sha": sha,
                                    "deployment_id": f"bench-update-{i}", "status": "success",
                                    "started_at": at.replace(":00:00Z", ":30:00Z"),
                                    "finished_at": at.replace(":00:00Z", ":40:00Z"), "source": "bench"})
        for j in range(runs // commits):
            rows["ci_runs"].append({"repo": service["repo"], "pipeline": "ci", "run_id": f"bench-{i}-{j}",
                                    "attempt": 1, "sha": sha, "queued_at": at.replace(":00:00Z", ":05:00Z"),
                                    "started_at": at.replace(":00:00Z", ":06:00Z"),
                                    "finished_at": at.replace(":00:00Z", ":16:00Z"), "conclusion": "success"})
        parent = sha
    for table, items in rows.items():
        path = os.path.join(folder, f"{table}.jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(item) + "\n" for item in items)
        subprocess.check_call([devex, "import", table, path, "--lake", copy, "--no-derive"], stdout=subprocess.DEVNULL)
    elapsed, peak = run_measured([devex, "derive", "--lake", copy])
    shutil.rmtree(folder, ignore_errors=True)
    return elapsed, peak, sum(len(items) for items in rows.values())


def freshness(devex, lake, probes=40, rate=50):
    """Seconds from the acknowledgement of a new production deployment (a
    CDEvents delivery) to its first appearance in GET /api/v1/dora, under a
    steady loopback load of `rate` deliveries per second (deployments of the
    other services and GitHub CI runs). Probes go one at a time; each waits
    at most 60 s. In a hard-linked copy of the lake."""
    import threading
    folder = tempfile.mkdtemp(prefix="devex-bench-freshness-")
    copy = os.path.join(folder, "lake")
    subprocess.check_call(["cp", "-al", lake, copy])
    services = [row["service"] for row in json.loads(subprocess.check_output(
        [devex, "query", "--lake", copy, "--format", "json", "SELECT DISTINCT service FROM services ORDER BY service"]))]
    probed, others = services[0], services[1:] or services
    secret = "bench secret"
    server = Server(devex, copy, {"DEVEX_CDEVENTS__TOKEN": "bench", "DEVEX_GITHUB_WEBHOOK_SECRET": secret})
    with open("tests/fixtures/payloads/cdevents-spec-v0.5.1/conformance/service_deployed.json") as f:
        deployed = json.load(f)

    def deployment(service, name, at):
        event = json.loads(json.dumps(deployed))
        event["context"]["id"] = name
        event["context"]["timestamp"] = at
        event["subject"]["id"] = service
        event["subject"]["content"]["environment"]["id"] = "production"
        event["customData"] = {"sha": hashlib.sha1(name.encode()).hexdigest()}
        return "/webhooks/cdevents", json.dumps(event).encode(), {
            "Authorization": "Bearer bench", "Content-Type": "application/json"}

    def ci_run(i):
        body = json.dumps({"action": "completed", "repository": {"full_name": "acme/bench"}, "workflow_run": {
            "id": 20_000_000 + i, "name": "CI", "run_attempt": 1, "head_sha": f"{i:040x}", "head_branch": "main",
            "event": "push", "status": "completed", "conclusion": "success", "created_at": "2026-10-20T10:00:00Z",
            "run_started_at": "2026-10-20T10:00:10Z", "updated_at": "2026-10-20T10:05:00Z"}}).encode()
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return "/webhooks/github", body, {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": f"fresh-{i}",
                                          "X-Hub-Signature-256": sig, "Content-Type": "application/json"}

    def post(con, request):
        path, body, headers = request
        con.request("POST", path, body, headers)
        response = con.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)

    stop = threading.Event()
    sent = [0]

    def load(worker, workers):
        con = http.client.HTTPConnection(server.host, int(server.port), timeout=60)
        start, i = time.perf_counter(), worker
        while not stop.is_set():
            at = f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
            # One in five a deployment of another service, the rest CI runs.
            post(con, deployment(others[i % len(others)], f"load-{i}", at) if i % 5 == 0 else ci_run(i))
            sent[0] += 1
            i += workers
            delay = start + (i // workers) * workers / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    dora = f"/api/v1/dora?from={FROM}&to={TO}&service={probed}"
    count = server.get(dora)[0]["overall"]["deployments"]
    workers = 4
    threads = [threading.Thread(target=load, args=(w, workers), daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    seconds, started = [], time.perf_counter()
    try:
        for n in range(probes):
            time.sleep(0.5)
            # A new connection each time: the server closes one idle longer
            # than its header timeout, and a probe may take that long.
            con = http.client.HTTPConnection(server.host, int(server.port), timeout=60)
            post(con, deployment(probed, f"probe-{n}", f"2026-10-{1 + n % 28:02d}T12:{n % 60:02d}:30Z"))
            con.close()
            acknowledged = time.perf_counter()
            while server.get(dora)[0]["overall"]["deployments"] <= count:
                assert time.perf_counter() - acknowledged < 60, f"probe {n} did not appear within 60 s"
                time.sleep(0.02)
            seconds.append(time.perf_counter() - acknowledged)
            count += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        load_rate = sent[0] / (time.perf_counter() - started)
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    seconds.sort()
    return {"p50": statistics.median(seconds), "p95": seconds[max(0, int(len(seconds) * 0.95 + 0.5) - 1)],
            "max": seconds[-1], "probes": probes, "load_per_second": load_rate}


def compaction(devex, lake, commits=20_000, connections=16):
    """`commits` single-commit GitHub push deliveries to a running serve (each
    leaves one small file in its commits and pushes partitions), then
    `devex compact`: files left per touched partition, and the DORA report's
    time (a whole CLI process, median of 3, after `devex derive`) against the
    same lake before the deliveries. In a hard-linked copy of the lake."""
    import threading
    folder = tempfile.mkdtemp(prefix="devex-bench-compaction-")
    copy = os.path.join(folder, "lake")
    subprocess.check_call(["cp", "-al", lake, copy])
    report = cli_args("dora_report", None)
    before, _ = measure_cli(devex, copy, report, 3)
    repo = json.loads(subprocess.check_output(
        [devex, "query", "--lake", copy, "--format", "json",
         "SELECT repos[1] AS repo FROM services ORDER BY service LIMIT 1"]))[0]["repo"]
    secret = "bench secret"
    # Background compaction off: the count after `devex compact` is the one measured.
    server = Server(devex, copy, {"DEVEX_GITHUB_WEBHOOK_SECRET": secret,
                                  "DEVEX_COMPACTION__INTERVAL_SECONDS": "0"})

    def push(i):
        sha = hashlib.sha1(f"bench-compaction-{i}".encode()).hexdigest()
        at = f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
        commit = {"id": sha, "message": f"bench change {i}", "timestamp": at,
                  "author": {"name": "bench", "email": f"dev{i % 50}@example.com"},
                  "added": [], "removed": [], "modified": ["README.md"]}
        body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": sha, "commits": [commit],
                           "head_commit": commit, "repository": {"full_name": repo},
                           "pusher": {"name": "bench"}}).encode()
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"X-GitHub-Event": "push", "X-GitHub-Delivery": f"compaction-{i}",
                      "X-Hub-Signature-256": sig, "Content-Type": "application/json"}

    def send(worker):
        con = http.client.HTTPConnection(server.host, int(server.port), timeout=120)
        for i in range(worker, commits, connections):
            body, headers = push(i)
            con.request("POST", "/webhooks/github", body, headers)
            response = con.getresponse()
            response.read()
            assert response.status == 200, response.status

    try:
        threads = [threading.Thread(target=send, args=(w,)) for w in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    finally:
        server.stop()
    touched = [os.path.join(copy, table, "month=2026-10") for table in ("commits", "pushes")]
    files_before = max(len([f for f in os.listdir(p) if f.endswith(".parquet")]) for p in touched)
    compact_seconds, compact_peak = run_measured([devex, "compact", "--lake", copy])
    files_after = max(len([f for f in os.listdir(p) if f.endswith(".parquet")]) for p in touched)
    derive_seconds, _ = run_measured([devex, "derive", "--lake", copy])
    after, _ = measure_cli(devex, copy, report, 3)
    shutil.rmtree(folder, ignore_errors=True)
    return {"commits": commits, "files_before": files_before, "files_after": files_after,
            "compact_seconds": compact_seconds, "compact_peak": compact_peak, "derive_seconds": derive_seconds,
            "report_before": before, "report_after": after}


def lake_size(lake):
    total_rows, total_bytes = 0, 0
    for root, _, files in os.walk(lake):
        if "/_" in root:
            continue
        for name in files:
            if name.endswith(".parquet"):
                total_bytes += os.path.getsize(os.path.join(root, name))
    import duckdb
    con = duckdb.connect()
    for table in os.listdir(lake):
        if table.startswith("_") or not os.path.isdir(os.path.join(lake, table)):
            continue
        total_rows += con.execute(f"SELECT count(*) FROM read_parquet('{lake}/{table}/**/*.parquet')").fetchall()[0][0]
    return total_rows, total_bytes


def lake_format_check(devex, lake):
    """docs/lake-format.md as a contract: every table it documents, read by
    DuckDB with the documented globs, has devex's row count, and DuckDB sees
    the documented Parquet types (a timestamp as TIMESTAMP WITH TIME ZONE,
    money as DECIMAL(38,10), the partition as a VARCHAR `month`)."""
    import duckdb

    doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "lake-format.md")).read()
    sections = re.findall(r"^### `(\w+)`\n\n.*?\n\nFiles: `([^`]+)`", doc, flags=re.M | re.S)
    assert len(sections) >= 17, f"docs/lake-format.md documents {len(sections)} tables"
    con = duckdb.connect()
    checked = 0
    for table, files in sections:
        partitioned = "month=YYYY-MM" in files
        glob = f"{lake}/{table}/month=*/part-*.parquet" if partitioned else f"{lake}/{table}/part-*.parquet"
        if not glob_has_files(glob):
            continue
        source = f"read_parquet('{glob}', hive_partitioning = {str(partitioned).lower()})"
        theirs = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
        if table == "audit":
            continue  # devex's own log: not visible to `devex query`
        out = subprocess.run([devex, "query", "--lake", lake, "--format", "json",
                              f"SELECT count(*) AS n FROM {table}"], check=True, capture_output=True, text=True)
        mine = json.loads(out.stdout)[0]["n"]
        assert mine == theirs, f"{table}: devex counts {mine} rows, DuckDB {theirs}"
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
        if partitioned:
            assert types.get("month") == "VARCHAR", f"{table}.month reads as {types.get('month')}"
        for column in re.findall(r"^\| `(\w+)` \| INT64, TIMESTAMP", doc.split(f"### `{table}`")[1].split("### ")[0], flags=re.M):
            assert types[column] == "TIMESTAMP WITH TIME ZONE", f"{table}.{column} reads as {types[column]}"
        checked += 1
    cost = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{lake}/costs/month=*/part-*.parquet', hive_partitioning = true)").fetchall()
    assert ("billed_cost", "DECIMAL(38,10)") in [(c[0], c[1]) for c in cost], cost
    return checked


def glob_has_files(pattern):
    import glob as globbing
    return bool(globbing.glob(pattern))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devex", required=True)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--team", default="payments")
    parser.add_argument("--smoke", action="store_true", help="check equality only, time nothing")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--results", default=None)
    parser.add_argument("--duck-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.duck_worker:
        duck_worker(args.lake, args.team, args.runs, args.results)
        return

    runs = 0 if args.smoke else args.runs
    if not args.smoke:
        derive_seconds, derive_peak = derive_from_scratch(args.devex, args.lake)
    # DuckDB, in its own process.
    duck_out = tempfile.mktemp(suffix=".json")
    proc = subprocess.Popen([sys.executable, __file__, "--duck-worker", "--devex", args.devex, "--lake", args.lake,
                             "--team", args.team, "--runs", str(runs), "--results", duck_out])
    _, status, usage = os.wait4(proc.pid, 0)
    assert status == 0, "the DuckDB worker failed"
    duck = json.load(open(duck_out))
    duck_peak = usage.ru_maxrss / 1024

    # devex through the API: cold (first request), then warm.
    server = Server(args.devex, args.lake)
    api, devex_results = {}, {}
    paths = dict(API, team_drill_down=f"/api/v1/dora?from={FROM}&to={TO}&team={args.team}&group_by=service")
    for name, path in paths.items():
        body, cold = server.get(path)
        warm = [server.get(path)[1] for _ in range(runs)]
        devex_results[name] = body
        api[name] = {"cold": cold, "warm": statistics.median(warm) if warm else None}
    serve_peak = server.peak_rss_mib()
    server.stop()

    # Equal first.
    failures = []
    for name, rows in duck["results"].items():
        mine = devex_rows(devex_results[name], name)
        theirs = sorted(rows)
        if not same(mine, theirs):
            failures.append(name)
            print(f"MISMATCH {name}:\n devex  {mine[:5]}\n duckdb {theirs[:5]}", file=sys.stderr)
        else:
            print(f"equal: {name} ({len(mine)} rows)")
    if failures:
        sys.exit(f"devex and DuckDB disagree on: {', '.join(failures)}")
    if args.smoke:
        print("smoke: devex and DuckDB give the same numbers")
        tables = lake_format_check(args.devex, args.lake)
        print(f"smoke: DuckDB reads {tables} tables as docs/lake-format.md says, with devex's row counts")
        fresh = freshness(args.devex, args.lake, probes=3)
        print(f"smoke: 3 new deployments appeared under load (slowest {fresh['max']:.1f} s)")
        compacted = compaction(args.devex, args.lake, commits=200)
        assert compacted["files_after"] <= 2, compacted
        print(f"smoke: 200 single-commit pushes left {compacted['files_before']} files in a partition, "
              f"{compacted['files_after']} after `devex compact`")
        return

    cli = {name: measure_cli(args.devex, args.lake, cli_args(name, args.team), 3) for name in paths}
    hooks = [webhook_load(args.devex, args.webhooks, connections) for connections in (16, 64)]
    imports = import_rate(args.devex, 200_000)
    rows, size = lake_size(args.lake)
    update_seconds, update_peak, update_events = derive_update(args.devex, args.lake)
    fresh = freshness(args.devex, args.lake)
    compacted = compaction(args.devex, args.lake)

    # Warm API answers may be remembered (the same question over the same lake
    # content); the cold ratio compares answers computed from scratch.
    # "Derive included": devex's whole derive stage plus its cold answer,
    # against DuckDB answering from the raw tables.
    lines = ["| question | devex API warm | devex API cold | devex CLI | DuckDB warm | DuckDB cold "
             "| ratio warm (API / DuckDB) | ratio cold (API / DuckDB) | derive included (derive + API cold) "
             "| ratio derive included / DuckDB cold |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in paths:
        d = duck["timings"][name]
        included = derive_seconds + api[name]["cold"]
        lines.append(f"| {name} | {api[name]['warm'] * 1000:.1f} ms | {api[name]['cold'] * 1000:.0f} ms | "
                     f"{cli[name][0] * 1000:.0f} ms | {d['warm'] * 1000:.1f} ms | {d['cold'] * 1000:.0f} ms | "
                     f"{api[name]['warm'] / d['warm']:.3f} | {api[name]['cold'] / d['cold']:.2f} | "
                     f"{included:.1f} s | {included / d['cold']:.1f} |")
    lines += [
        "",
        f"- peak memory: devex serve {serve_peak:.0f} MiB (all questions); devex CLI max {max(c[1] for c in cli.values()):.0f} MiB; DuckDB process {duck_peak:.0f} MiB",
        *[f"- webhooks: {h['deliveries']} deliveries, {h['acknowledged']} acknowledged, {h['stored']} stored, "
          f"{h['per_second']:.0f} per second durable ({h['concurrency']} connections, loopback)" for h in hooks],
        f"- import: {imports:,.0f} rows per second (200,000 deployments, JSON Lines, derive stage not included)",
        f"- derive stage from scratch: {derive_seconds:.1f} s for {rows:,} events = {rows / derive_seconds:,.0f} events per second; peak {derive_peak:.0f} MiB",
        f"- derive stage after {update_events:,} new events (commits, production deployments, CI runs): {update_seconds:.1f} s; peak {update_peak:.0f} MiB",
        f"- freshness: a new production deployment appears in GET /api/v1/dora {fresh['p50']:.2f} s (median), "
        f"{fresh['p95']:.2f} s (95th percentile), {fresh['max']:.2f} s (slowest) after its acknowledgement, "
        f"{fresh['probes']} deployments under {fresh['load_per_second']:.0f} deliveries per second (loopback)",
        f"- compaction: after {compacted['commits']:,} single-commit push deliveries the busiest touched partition "
        f"held {compacted['files_before']:,} files; `devex compact` left {compacted['files_after']} "
        f"({compacted['compact_seconds']:.1f} s, peak {compacted['compact_peak']:.0f} MiB); the DORA report (CLI) "
        f"{compacted['report_before'] * 1000:.0f} ms before the deliveries, {compacted['report_after'] * 1000:.0f} ms "
        f"after the compaction and a derive ({compacted['derive_seconds']:.1f} s)",
        f"- lake: {rows:,} rows in {size / 2**20:.1f} MiB = {size / 2**20 / (rows / 1e6):.1f} MiB per million events",
        f"- machine: {os.cpu_count()} cores",
    ]
    table = "\n".join(lines)
    print(table)
    if args.results:
        with open(args.results, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
