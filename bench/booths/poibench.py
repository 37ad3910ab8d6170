#!/usr/bin/env python3
"""laoyou bench/booths, the life circle: 1,000,000 POIs across Shanghai,
imported with `laoyou poi import`, then life-circle query latency.

The POIs: 60% around the city centre (People's Square, a normal spread of
6 km each way) and 40% evenly over a square of 6,300 km² (Shanghai's
area) centred there; categories weighted as a city has them (bus stops
most, hospitals and metro stations fewest).  Queries come from where
booths stand: 70% around the centre, 30% anywhere.

  import    `laoyou poi import FILE --db DB` on the generated CSV: wall
            time, the CLI's peak RSS, the database's size.
  store     bench/booths/poiquery, in process: store_poi_nearby (limit 20,
            15 minutes) for QUERIES random points and categories, and for
            QUERIES/5 points with every category; 500 untimed first.
  http      laoyou serving that database with BOOTHS booths at random
            places: HTTP_QUERIES GET /api/v1/booths/{id}/nearby?category=C
            (read token) and as many GET /api/v1/booth/nearby?category=C
            (the booths' screen tokens; each one also counts a use in the
            store), one at a time on one keep-alive connection, timed by
            this client (Python: its own overhead is in the figures).
  --cache-mb N  the store phase again with SQLite's page cache at N MiB.

Loopback only, bounded; laoyou leads its own process group and is ended by
that id.  Stdlib only.  Started by bench/booths/poi; `--help` lists the
knobs.
"""
import argparse
import http.client
import json
import math
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from benchlib import Procs, Abort, log, percentile, pid_ticks, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HZ = os.sysconf("SC_CLK_TCK")
CENTRE = (31.2304, 121.4737)          # People's Square
SIDE_KM = math.sqrt(6300.0)           # Shanghai's area as a square
SIGMA_KM = 6.0
WEIGHTS = {"bus": 25, "market": 12, "toilet": 12, "pharmacy": 10, "bank": 10,
           "clinic": 6, "community_centre": 6, "elder_care": 6, "police": 5,
           "hospital": 4, "metro": 4}
CATS = list(WEIGHTS)


def km_deg(lat):
    """Degrees of latitude and longitude per km at lat."""
    return 1 / 111.195, 1 / (111.195 * math.cos(math.radians(lat)))


def point(rng, p_centre):
    dlat, dlon = km_deg(CENTRE[0])
    half = SIDE_KM / 2
    if rng.random() < p_centre:
        while True:
            x, y = rng.gauss(0, SIGMA_KM), rng.gauss(0, SIGMA_KM)
            if abs(x) < half and abs(y) < half:
                break
    else:
        x, y = rng.uniform(-half, half), rng.uniform(-half, half)
    return CENTRE[0] + y * dlat, CENTRE[1] + x * dlon


def generate(path, n, rng):
    cats = rng.choices(CATS, weights=[WEIGHTS[c] for c in CATS], k=n)
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,name,name_en,category,address,lat,lon,phone,hours\n")
        rows = []
        for i in range(n):
            lat, lon = point(rng, 0.6)
            rows.append(f"p{i},兴趣点{i},Place {i},{cats[i]},上海市某路{i % 9973}号,"
                        f"{lat:.6f},{lon:.6f},,08:00-20:00\n")
            if len(rows) == 10000:
                f.write("".join(rows))
                rows = []
        f.write("".join(rows))


def stats(name, vals_ns, extra=""):
    v = sorted(vals_ns)
    log(f"{name:<24} n={len(v):<6} p50 {percentile(v, 50) / 1e6:7.3f} ms  "
        f"p99 {percentile(v, 99) / 1e6:7.3f} ms  max {v[-1] / 1e6:7.3f} ms{extra}")


def free_tcp():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Http:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        return r.status, r.read()


def http_phase(a, tmp, db, rng, procs):
    laoyou = a.laoyou
    http_port = free_tcp()
    conf = os.path.join(tmp, "laoyou.conf")
    rtp = rng.randrange(30000, 38000, 2)
    sip = free_tcp()
    prompts = os.path.join(os.path.dirname(laoyou), "prompts")
    with open(conf, "w") as f:
        f.write(f"sip_udp = 127.0.0.1:{sip}\nsip_tcp = 127.0.0.1:{sip}\n"
                f"http = 127.0.0.1:{http_port}\nrtp_ip = 127.0.0.1\n"
                f"rtp_ports = {rtp}-{rtp + 99}\ndb = {db}\nlog_level = warn\n"
                + (f"prompts_dir = {prompts}\n" if os.path.isdir(prompts) else ""))
    t0 = time.monotonic()
    for i in range(a.booths):
        subprocess.run([laoyou, "account", "add", f"bb{i}", "--secret", f"s{i}", "--ext",
                        f"{700000 + i}", "--kind", "booth", "-c", conf], check=True,
                       capture_output=True, timeout=30)
    token = subprocess.run([laoyou, "token", "add", "bench", "--scopes", "read,admin",
                            "-c", conf], check=True, capture_output=True, text=True,
                           timeout=30).stdout.strip()
    log(f"http: {a.booths} booth accounts in {time.monotonic() - t0:.1f} s")
    p = procs.start("laoyou", [laoyou, "run", "-c", conf],
                    stdout=os.path.join(tmp, "laoyou.log"),
                    stderr=os.path.join(tmp, "laoyou.log"))

    def up():
        try:
            socket.create_connection(("127.0.0.1", http_port), 0.2).close()
            return True
        except OSError:
            return False
    wait_until(up, 30, p, "laoyou")
    c = Http(http_port)
    bearer = {"Authorization": "Bearer " + token}
    screens = []
    for i in range(a.booths):
        lat, lon = point(rng, 0.7)
        st, body = c.req("PUT", f"/api/v1/booths/bb{i}", {
            "name": f"老友亭{i}", "address": "上海市", "district": "上海",
            "lat": round(lat, 6), "lon": round(lon, 6), "account": f"bb{i}",
            "ports": 2}, bearer)
        if st != 200:
            raise Abort(f"PUT booth: {st} {body[:200]!r}")
        st, body = c.req("POST", f"/api/v1/booths/bb{i}/token", None, bearer)
        if st != 201:
            raise Abort(f"booth token: {st} {body[:200]!r}")
        screens.append(json.loads(body)["token"])
    for kind in ("operations", "booth screen"):
        t_ns, found = [], 0
        ticks0 = pid_ticks(p.pid)
        t0 = time.monotonic()
        for k in range(a.http_queries):
            b = rng.randrange(a.booths)
            cat = rng.choice(CATS)
            if kind == "operations":
                path, h = f"/api/v1/booths/bb{b}/nearby?category={cat}", bearer
            else:
                path, h = f"/api/v1/booth/nearby?category={cat}", \
                    {"Authorization": "Booth " + screens[b]}
            s0 = time.perf_counter_ns()
            st, body = c.req("GET", path, None, h)
            t_ns.append(time.perf_counter_ns() - s0)
            if st != 200:
                raise Abort(f"GET {path}: {st} {body[:200]!r}")
            found += json.loads(body)["total"]
            if time.monotonic() > a.deadline:
                raise Abort("out of time")
        secs = time.monotonic() - t0
        cpu = (pid_ticks(p.pid) - ticks0) / HZ
        stats(f"http {kind}", t_ns, f"  found {found / len(t_ns):.1f}; "
              f"{len(t_ns) / secs:.0f} req/s, laoyou CPU {100 * cpu / secs:.0f}%")
    procs.stop(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pois", type=int, default=int(os.environ.get("POIS", 1000000)))
    ap.add_argument("--queries", type=int, default=int(os.environ.get("QUERIES", 10000)))
    ap.add_argument("--http-queries", type=int,
                    default=int(os.environ.get("HTTP_QUERIES", 10000)))
    ap.add_argument("--booths", type=int, default=int(os.environ.get("BOOTHS", 300)))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-secs", type=int, default=int(os.environ.get("MAX_SECS", 1200)))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--cache-mb", type=int, default=int(os.environ.get("CACHE_MB", 0)),
                    help="also run the store phase with SQLite's page cache at this size")
    ap.add_argument("--laoyou", default=os.environ.get("LAOYOU",
                                                       os.path.join(REPO, "build", "laoyou")))
    ap.add_argument("--poiquery", default=os.environ.get("POIQUERY"))
    a = ap.parse_args()
    a.deadline = time.monotonic() + a.max_secs
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="laoyou-bench-poi-")
    procs = Procs()
    try:
        csv_path = os.path.join(tmp, "pois.csv")
        db = os.path.join(tmp, "bench.db")
        t0 = time.monotonic()
        generate(csv_path, a.pois, rng)
        log(f"generate: {a.pois} POIs, {os.path.getsize(csv_path) / 1e6:.0f} MB CSV "
            f"in {time.monotonic() - t0:.1f} s")

        t0 = time.monotonic()
        r = subprocess.run([a.laoyou, "poi", "import", csv_path, "--db", db],
                           capture_output=True, text=True, timeout=a.max_secs)
        secs = time.monotonic() - t0
        if r.returncode:
            raise Abort(f"import: rc {r.returncode}: {r.stderr.strip()}")
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
        log(f"import: {r.stdout.strip()}")
        log(f"import: {secs:.1f} s ({a.pois / secs:,.0f} POIs/s), CLI peak RSS "
            f"{rss:.0f} MB, database {size / 1e6:.0f} MB")

        qpath = os.path.join(tmp, "queries.txt")
        with open(qpath, "w") as f:
            n_all = a.queries // 5
            kinds = ["one"] * (a.queries + 500) + ["all"] * n_all
            rng.shuffle(kinds)
            for k in kinds:
                lat, lon = point(rng, 0.7)
                f.write(f"{lat:.6f} {lon:.6f} {rng.choice(CATS) if k == 'one' else '*'}\n")
        r = subprocess.run([a.poiquery, db, qpath], capture_output=True, text=True,
                           timeout=max(10, a.deadline - time.monotonic()))
        if r.returncode:
            raise Abort(f"poiquery: rc {r.returncode}: {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            log("store " + line)
        if a.cache_mb:
            r = subprocess.run([a.poiquery, db, qpath], capture_output=True, text=True,
                               env=dict(os.environ, POI_CACHE_MB=str(a.cache_mb)),
                               timeout=max(10, a.deadline - time.monotonic()))
            if r.returncode:
                raise Abort(f"poiquery: rc {r.returncode}: {r.stderr.strip()}")
            for line in r.stdout.splitlines():
                log(f"store, {a.cache_mb} MiB cache: " + line)

        if a.http_queries > 0:
            http_phase(a, tmp, db, rng, procs)
    except (Abort, subprocess.SubprocessError) as e:
        log(f"bench/booths/poi: {e}")
        return 1
    finally:
        procs.stop_all()
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
