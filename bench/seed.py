#!/usr/bin/env python3
"""Data sets and probes of bench/load.sh, over flowline's REST API only (loopback).

  seed.py base   URL TOKEN            50 flows of 3 operations; prints "<id null> <id all>"
  seed.py growth URL TOKEN N OPS      N more flows of OPS operations (one in ten inactive)
  seed.py probe  URL TOKEN            a webhook flow answering its transform's "v"; prints
                                      "<flow id> <operation id>"
  seed.py edit   URL TOKEN FLOW OP K  K edits of the probe; prints the ms from sending each
                                      PATCH until a trigger answers the new value
  seed.py chain  URL TOKEN N ACC      one webhook flow of N chained transform operations with
                                      accountability ACC ("null" or "all"); prints its id
  seed.py time   URL FLOW K           K sequential POST triggers; prints the median ms
  seed.py fanout URL TOKEN [SET]      a child flow (operation trigger, one transform) and two
                                      webhook parents whose `trigger` operation runs it for
                                      every element of the body's `items`, in parallel and in
                                      batches of 100; prints "<parallel id> <batch id>". SET
                                      (0) numbers the ids, so that one server can hold several
  seed.py spread URL FLOW N           one POST with N items to a fan-out parent; prints ms
  seed.py sleeper URL TOKEN [SET]     an async webhook flow sleeping 5 s, logged (activity);
                                      prints its id; SET (0) as for fanout
  seed.py burst  URL FLOW N           N POSTs to FLOW from 64 keep-alive connections; prints
                                      the ms they took
  seed.py runs   URL TOKEN FLOW N S   waits up to S seconds for N logged runs of FLOW; prints
                                      how many there were
  seed.py queue  URL TOKEN            three async webhook flows of the three operations
                                      (accountability null): one loaded flat out, one at a
                                      fixed rate, one for preloaded runs; prints their ids
  seed.py pace   URL FLOW N RATE      N POSTs to FLOW at RATE a second (8 keep-alive
                                      connections); prints "<acknowledged> <refused>"
  seed.py runstats DB FLOW WAIT ACKED [T0 T1]
                                      waits up to WAIT seconds until no run of FLOW is queued
                                      or running in flowline_runs (DB: sqlite://PATH, read
                                      only, or a postgres:// URL, read with psql), then prints
                                      "measure<TAB>result" lines: runs by status against the
                                      ACKED acknowledged calls, started_at - enqueued_at (p50,
                                      p99, max), runs completed per second from the first
                                      start to the last finish, and, with T0 T1 (Unix ms: when
                                      the load ran), during the load and after it
  seed.py preload DB FROM FLOW N      with the server stopped: N queued runs of FLOW, each a
                                      copy of how a run of FROM starts (its `start` column)

Flows and operations get fixed, readable ids, so a run is easy to inspect afterwards.
Only the standard library: it runs wherever python3 does.
"""

import json
import statistics
import subprocess
import sys
import time
import urllib.request

BATCH = 100  # flows per batch POST


def call(url, token, method, path, body=None, timeout=300):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            text = reply.read()
    except urllib.error.HTTPError as err:
        raise SystemExit(f"{method} {path}: {err.code} {err.read()[:500]!r}") from None
    return json.loads(text) if text else None


def fid(kind, n):
    """A flow id: kind 0 base, 1 growth, 2 probe, 3 chain."""
    return f"f10e0000-0000-4000-8{kind:03d}-{n:012d}"


def oid(kind, n, i):
    return f"0e{i:06d}-0000-4000-8{kind:03d}-{n:012d}"


def flow_doc(kind, n, ops, name, accountability="all", status="active", options=None):
    """A flow with `ops` = [(key, type, options)], chained by resolve, first one the root.

    Nested operations are created in list order and a link target must exist first, so the
    list is sent from the last operation back to the first."""
    ids = [oid(kind, n, i + 1) for i in range(len(ops))]
    nested = []
    for i in reversed(range(len(ops))):
        key, kind_, opts = ops[i]
        nested.append({
            "id": ids[i], "name": key, "key": key, "type": kind_,
            "position_x": 20 * (i + 1), "position_y": 1, "options": opts,
            "resolve": ids[i + 1] if i + 1 < len(ops) else None, "reject": None,
        })
    doc = {
        "id": fid(kind, n), "name": name, "icon": "bolt", "status": status,
        "trigger": "webhook", "accountability": accountability,
        "options": options or {"method": "POST", "async": False, "return": "$last"},
        "operations": nested,
    }
    return doc, (fid(kind, n), ids[0] if ids else None)


def three_ops():
    """transform -> condition -> log, as in issue 6."""
    return [
        ("transform", "transform", {"json": {
            "n": "{{ $trigger.body.n }}", "greeting": "hello {{ $trigger.body.name }}"}}),
        ("check", "condition", {"filter": {"$trigger": {"body": {"n": {"_gte": 0}}}}}),
        ("log", "log", {"message": "n={{ transform.n }} {{ transform.greeting }}"}),
    ]


def create(url, token, docs_roots):
    """Creates the flows in batches, then points each at its first operation."""
    for start in range(0, len(docs_roots), BATCH):
        chunk = docs_roots[start:start + BATCH]
        call(url, token, "POST", "/flows?fields=id", [d for d, _ in chunk])
        links = [{"id": f, "operation": o} for _, (f, o) in chunk if o]
        if links:
            call(url, token, "PATCH", "/flows?fields=id", links)


def base(url, token):
    docs = []
    for n in range(1, 51):
        # Flow 1 runs without logging, flow 2 with `all`; the others alternate.
        acc = None if n % 2 == 1 else "all"
        docs.append(flow_doc(0, n, three_ops(), f"Bench flow {n}", accountability=acc))
    create(url, token, docs)
    print(fid(0, 1), fid(0, 2))


def growth(url, token, count, per_flow):
    docs = []
    for n in range(1, count + 1):
        ops = [(f"step_{i}", "transform", {"json": {"i": i, "prev": "{{ $last }}"}})
               for i in range(per_flow)]
        status = "inactive" if n % 10 == 0 else "active"
        docs.append(flow_doc(1, n, ops, f"Growth flow {n}", accountability=None, status=status))
    create(url, token, docs)


def probe(url, token):
    ops = [("t", "transform", {"json": {"v": 0}})]
    doc = flow_doc(2, 1, ops, "Edit probe", accountability=None,
                   options={"method": "POST", "async": False, "return": "$last.v"})
    create(url, token, [doc])
    print(doc[1][0], doc[1][1])


def edit(url, token, flow, op, rounds):
    out = []
    for v in range(1, rounds + 1):
        started = time.perf_counter()
        call(url, token, "PATCH", f"/operations/{op}?fields=id", {"options": {"json": {"v": v}}})
        deadline = started + 30
        while True:
            got = call(url, None, "POST", f"/flows/trigger/{flow}", {})
            if got == v:
                out.append((time.perf_counter() - started) * 1000)
                break
            if time.perf_counter() > deadline:
                raise SystemExit(f"edit {v} not visible after 30 s (answer {got!r})")
        time.sleep(0.2)
    print(" ".join(f"{ms:.1f}" for ms in out))


def replica_edit(url, readers, token, flow, op, rounds):
    """Edits through one replica and polls the others until a trigger there answers the
    edit; prints p50, p99 and max milliseconds over every (edit, reader) pair."""
    readers = [r.rstrip("/") for r in readers.split(",")]

    def answer(reader):
        try:
            return call(reader, None, "POST", f"/flows/trigger/{flow}", {})
        except SystemExit:
            # 403 while the reader does not serve the flow yet.
            return None

    def until(reader, value, started):
        while answer(reader) != value:
            if time.perf_counter() > started + 30:
                raise SystemExit(f"{value} not visible on {reader} after 30 s")

    # Unmeasured: the probe flow and a first edit reach every reader.
    call(url, token, "PATCH", f"/operations/{op}?fields=id", {"options": {"json": {"v": 999}}})
    for reader in readers:
        until(reader, 999, time.perf_counter())
    out = []
    for v in range(1, rounds + 1):
        started = time.perf_counter()
        call(url, token, "PATCH", f"/operations/{op}?fields=id", {"options": {"json": {"v": 1000 + v}}})
        for reader in readers:
            until(reader, 1000 + v, started)
            out.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    out.sort()
    p50 = out[len(out) // 2]
    p99 = out[min(len(out) - 1, int(len(out) * 0.99))]
    print(f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {out[-1]:.1f} ms over {len(out)}")


def chain(url, token, length, acc):
    ops = [(f"step_{i}", "transform", {"json": {"i": i, "prev": "{{ $last.i }}"}})
           for i in range(length)]
    n = 1 if acc == "null" else 2
    doc = flow_doc(3, n, ops, f"Chain of {length} ({acc})",
                   accountability=None if acc == "null" else acc,
                   options={"method": "POST", "async": False, "return": "$last.i"})
    create(url, token, [doc])
    print(doc[1][0])


def timed(url, flow, rounds):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call(url, None, "POST", f"/flows/trigger/{flow}", {})
        times.append((time.perf_counter() - started) * 1000)
    print(f"{statistics.median(times):.2f}")


def fanout(url, token, set_no=0):
    def at(n):
        return 10 * set_no + n

    child = fid(4, at(1))
    docs = [{
        "id": child, "name": "Fan-out child", "status": "active", "trigger": "operation",
        "accountability": None, "options": {"return": "$last"},
        "operations": [{
            "id": oid(4, at(1), 1), "name": "double", "key": "double", "type": "transform",
            "position_x": 20, "position_y": 1,
            "options": {"json": {"x": "{{ $trigger }}", "twice": "{{ $trigger }}{{ $trigger }}"}},
        }],
    }]
    parents = []
    for n, mode in ((2, "parallel"), (3, "batch")):
        docs.append({
            "id": fid(4, at(n)), "name": f"Fan-out {mode}", "status": "active",
            "trigger": "webhook", "accountability": None,
            "options": {"method": "POST", "async": False},
            "operations": [{
                "id": oid(4, at(n), 1), "name": "spread", "key": "spread", "type": "trigger",
                "position_x": 20, "position_y": 1,
                "options": {"flow": child, "payload": "{{ $trigger.body.items }}",
                            "iterationMode": mode, "batchSize": 100},
            }],
        })
        parents.append(fid(4, at(n)))
    call(url, token, "POST", "/flows?fields=id", docs)
    call(url, token, "PATCH", "/flows?fields=id",
         [{"id": child, "operation": oid(4, at(1), 1)}]
         + [{"id": fid(4, at(n)), "operation": oid(4, at(n), 1)} for n in (2, 3)])
    print(" ".join(parents))


def spread(url, flow, count):
    started = time.perf_counter()
    call(url, None, "POST", f"/flows/trigger/{flow}", {"items": list(range(count))}, timeout=600)
    print(f"{(time.perf_counter() - started) * 1000:.0f}")


def sleeper(url, token, set_no=0):
    flow = fid(5, 1 + set_no)
    call(url, token, "POST", "/flows?fields=id", [{
        "id": flow, "name": "Sleeper", "status": "active", "trigger": "webhook",
        "accountability": "activity", "options": {"method": "POST", "async": True},
        "operations": [{
            "id": oid(5, 1 + set_no, 1), "name": "nap", "key": "nap", "type": "sleep",
            "position_x": 20, "position_y": 1, "options": {"milliseconds": 5000},
        }],
    }])
    call(url, token, "PATCH", f"/flows/{flow}?fields=id", {"operation": oid(5, 1 + set_no, 1)})
    print(flow)


def burst(url, flow, count):
    import http.client
    import threading
    from urllib.parse import urlparse

    target = urlparse(url)
    path = f"/flows/trigger/{flow}"
    body = b"{}"
    lock = threading.Lock()
    left = [count]
    failures = []

    def worker():
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            if reply.status >= 300:
                failures.append(reply.status)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} triggers failed, e.g. status {failures[0]}")
    print(f"{(time.perf_counter() - started) * 1000:.0f}")


def runs(url, token, flow, count, seconds):
    deadline = time.perf_counter() + seconds
    path = f"/activity?filter[item][_eq]={flow}&filter[action][_eq]=run&aggregate[count]=*"
    while True:
        got = call(url, token, "GET", path)["data"][0]["count"]
        if int(got) >= count or time.perf_counter() > deadline:
            print(got)
            return
        time.sleep(0.5)


def queue(url, token):
    docs = []
    for n, name in ((1, "Queue flood"), (2, "Queue paced"), (3, "Queue preloaded")):
        docs.append(flow_doc(6, n, three_ops(), name, accountability=None,
                             options={"method": "POST", "async": True}))
    create(url, token, docs)
    print(" ".join(root[0] for _, root in docs))


def pace(url, flow, count, rate):
    """`count` POSTs at `rate` a second: call i leaves at i / rate seconds from the start (or
    as soon as a connection is free, if the server is slower)."""
    import http.client
    import threading
    from urllib.parse import urlparse

    target = urlparse(url)
    path = f"/flows/trigger/{flow}"
    body = b'{"n": 3, "name": "Ada"}'
    lock = threading.Lock()
    nxt = [0]
    statuses = []
    started = time.perf_counter()

    def worker():
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        while True:
            with lock:
                i = nxt[0]
                if i == count:
                    break
                nxt[0] += 1
            wait = started + i / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            with lock:
                statuses.append(reply.status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acked = sum(1 for s in statuses if 200 <= s < 300)
    print(acked, len(statuses) - acked)


def db_rows(db, sql):
    """The rows of `sql` in the server's database: sqlite://PATH (opened read only; the
    server's WAL lets it read while the server writes) or a postgres:// URL (through psql,
    whose URL may carry the server's search_path in `options`)."""
    if db.startswith("sqlite://"):
        import sqlite3

        conn = sqlite3.connect(f"file:{db[len('sqlite://'):]}?mode=ro", uri=True, timeout=30)
        try:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
        finally:
            conn.close()
    out = subprocess.run(
        ["psql", "-q", "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", db, "-c", sql],
        capture_output=True, text=True, timeout=120, check=False)
    if out.returncode != 0:
        raise SystemExit(f"psql: {out.stderr.strip()[:500]}")
    rows = []
    for line in out.stdout.splitlines():
        if line:
            rows.append(tuple(None if c == "" else c for c in line.split("\t")))
    return rows


def preload(db, template, flow, count):
    """Queues `count` runs of `flow` as the server would, each starting like the last run of
    `template` the server queued itself. Only while no server runs on the database. They are
    dated one a millisecond up to now, as a backlog queued over time would be: equal dates
    would make every claim sort the whole backlog by id, which no real backlog does."""
    for f in (template, flow):
        if not all(c.isalnum() or c == "-" for c in f):
            raise SystemExit(f"odd flow id {f!r}")
    now = int(time.time() * 1000)
    pick = f"SELECT trigger, start FROM flowline_runs WHERE flow = '{template}' ORDER BY enqueued_at DESC LIMIT 1"
    if db.startswith("sqlite://"):
        import sqlite3
        import uuid

        conn = sqlite3.connect(db[len("sqlite://"):], timeout=30)
        try:
            trigger, start = conn.execute(pick).fetchone()
            with conn:
                conn.executemany(
                    "INSERT INTO flowline_runs (id, flow, trigger, status, start, attempts, enqueued_at)"
                    " VALUES (?, ?, ?, 'queued', ?, 0, ?)",
                    ((str(uuid.uuid4()), flow, trigger, start, now - count + i) for i in range(count)))
        finally:
            conn.close()
        return
    db_rows(db, f"INSERT INTO flowline_runs (id, flow, trigger, status, start, attempts, enqueued_at)"
                f" SELECT gen_random_uuid()::text, '{flow}', t.trigger, 'queued', t.start, 0, {now - int(count)} + g"
                f" FROM ({pick}) t, generate_series(1, {int(count)}) AS g")


def pct(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def runstats(db, flow, wait, acked, t0=None, t1=None):
    if not all(c.isalnum() or c == "-" for c in flow):
        raise SystemExit(f"odd flow id {flow!r}")
    where = f"FROM flowline_runs WHERE flow = '{flow}'"
    # Wait until every run of the flow has ended, giving up after `wait` seconds, or after
    # 60 s in which no run ended.
    deadline = time.perf_counter() + wait
    last_done, last_progress = -1, time.perf_counter()
    while True:
        counts = {s: int(n) for s, n in db_rows(db, f"SELECT status, count(*) {where} GROUP BY status")}
        open_runs = counts.get("queued", 0) + counts.get("running", 0)
        done = sum(counts.values()) - open_runs
        now = time.perf_counter()
        if done != last_done:
            last_done, last_progress = done, now
        if open_runs == 0 or now > deadline or now - last_progress > 60:
            break
        time.sleep(0.5)
    rows = [(s, int(e), None if st is None else int(st), None if f is None else int(f))
            for s, e, st, f in db_rows(db, f"SELECT status, enqueued_at, started_at, finished_at {where}")]
    by_status = {}
    for status, *_ in rows:
        by_status[status] = by_status.get(status, 0) + 1
    status_text = ", ".join(f"{by_status.get(s, 0)} {s}" for s in ("resolved", "rejected", "running", "queued"))
    print(f"runs: acknowledged (2xx) / in flowline_runs\t{acked} / {len(rows)}: {status_text}")
    waits = sorted(st - e for _, e, st, _ in rows if st is not None)
    if waits:
        print(f"ack -> start (started_at - enqueued_at) over {len(waits)} runs\t"
              f"p50 {pct(waits, 0.5)} ms, p99 {pct(waits, 0.99)} ms, max {waits[-1]} ms")
    events = sorted([(st, 1) for _, _, st, f in rows if st is not None and f is not None]
                    + [(f, -1) for _, _, st, f in rows if st is not None and f is not None])
    now_running = most = 0
    for _, step in events:  # at one instant, finishes (-1) sort before starts
        now_running += step
        most = max(most, now_running)
    print(f"in flight: most runs started and not finished at one time\t{most}")
    finished = [(e, f) for s, e, _, f in rows if f is not None and s in ("resolved", "rejected")]
    if finished:
        first = min(e for e, _ in finished)
        last = max(f for _, f in finished)
        span = max(last - first, 1)
        print(f"durable runs completed/s, first enqueue -> last finish ({span} ms)\t"
              f"{len(finished) * 1000 / span:.0f} runs/s ({len(finished)} runs)")
        first_start = min(st for _, _, st, f in rows if f is not None and st is not None)
        span = max(last - first_start, 1)
        print(f"durable runs completed/s, first start -> last finish ({span} ms)\t"
              f"{len(finished) * 1000 / span:.0f} runs/s ({len(finished)} runs)")
    if finished and t0 is not None:
        during = sum(1 for _, f in finished if t0 <= f <= t1)
        print(f"durable runs completed/s while the calls were sent ({t1 - t0} ms)\t"
              f"{during * 1000 / max(t1 - t0, 1):.0f} runs/s ({during} runs)")
        after = [f for _, f in finished if f > t1]
        if after:
            tail = max(max(after) - t1, 1)
            print(f"drain after the calls stopped: {len(after)} runs left, no HTTP load\t"
                  f"{len(after) * 1000 / tail:.0f} runs/s (last finished {tail} ms after the calls)")
        else:
            print("drain after the calls stopped\tnothing left: the workers kept up")


def main(argv):
    cmd, url = argv[1], argv[2].rstrip("/")
    if cmd == "base":
        base(url, argv[3])
    elif cmd == "growth":
        growth(url, argv[3], int(argv[4]), int(argv[5]))
    elif cmd == "probe":
        probe(url, argv[3])
    elif cmd == "edit":
        edit(url, argv[3], argv[4], argv[5], int(argv[6]))
    elif cmd == "replica_edit":
        replica_edit(url, argv[3], argv[4], argv[5], argv[6], int(argv[7]))
    elif cmd == "chain":
        chain(url, argv[3], int(argv[4]), argv[5])
    elif cmd == "time":
        timed(url, argv[3], int(argv[4]))
    elif cmd == "fanout":
        fanout(url, argv[3], int(argv[4]) if len(argv) > 4 else 0)
    elif cmd == "spread":
        spread(url, argv[3], int(argv[4]))
    elif cmd == "sleeper":
        sleeper(url, argv[3], int(argv[4]) if len(argv) > 4 else 0)
    elif cmd == "burst":
        burst(url, argv[3], int(argv[4]))
    elif cmd == "runs":
        runs(url, argv[3], argv[4], int(argv[5]), int(argv[6]))
    elif cmd == "queue":
        queue(url, argv[3])
    elif cmd == "pace":
        pace(url, argv[3], int(argv[4]), float(argv[5]))
    elif cmd == "preload":
        preload(argv[2], argv[3], argv[4], int(argv[5]))
    elif cmd == "runstats":
        times = [int(a) for a in argv[6:8]] if len(argv) > 7 else [None, None]
        runstats(argv[2], argv[3], float(argv[4]), int(argv[5]), *times)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
