"""The 15-minute life circle against a running laoyou: POIs imported with
the CLI and through the API (CSV and GeoJSON, all or nothing, file:line
errors), booths made through the API with their screen tokens, and the
nearby queries of a booth's screen and of operations, whose order,
distances and walking minutes are checked against values computed here
with a great-circle formula of our own."""
import csv
import io
import json
import math
import os
import re

from harness import Laoyou, check, ROOT
from test_api import Api, Who

DEMO = os.path.join(ROOT, "sites", "demo-pois.csv")
CATEGORIES = ["clinic", "hospital", "pharmacy", "community_centre", "elder_care",
              "market", "police", "toilet", "metro", "bus", "bank"]
BOOTHS = {"tianai-road": (31.2747, 121.4838), "duolun-road": (31.2697, 121.4848),
          "bund-east": (31.2405, 121.4903)}


def great_circle(lat1, lon1, lat2, lon2):
    """Metres on the mean-radius sphere, by the atan2 (Vincenty) form."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.hypot(math.cos(p2) * math.sin(dl),
                   math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl))
    x = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371008.8 * math.atan2(y, x)


def expected(pois, lat, lon, category=None, minutes=15):
    """What the life circle must answer: within minutes' walk (straight
    line × 1.3 at 80 m/min), nearest first, then by id."""
    out = []
    for p in pois:
        if category and p["category"] != category:
            continue
        d = great_circle(lat, lon, float(p["lat"]), float(p["lon"]))
        if d * 1.3 <= minutes * 80:
            out.append((d, p["id"], p))
    out.sort(key=lambda t: (t[0], t[1]))
    return [{"id": i, "distance_m": math.floor(d + 0.5),
             "walk_m": math.floor(d * 1.3 + 0.5),
             "minutes": max(1, math.ceil(d * 1.3 / 80)), "d": d}
            for d, i, _ in out]


def load_demo():
    with open(DEMO, encoding="utf-8") as f:
        return list(csv.DictReader(f))


class Life:
    """A laoyou with the demo's three booths, an admin token, a read-only
    token and each booth's screen token."""

    def __init__(self):
        self.srv = Laoyou()
        for i, bid in enumerate(BOOTHS):
            self.srv.add_account(f"h-{bid}", "pw-" + bid, f"20{i + 1:02d}", "booth")
        self.admin = Who("ops", token=self.srv.cli(
            "token", "add", "ops", "--scopes", "read,control,admin").stdout.strip())
        self.reader = Who("wall", token=self.srv.cli(
            "token", "add", "wall", "--scopes", "read").stdout.strip())
        self.srv.start()
        self.api = Api(self.srv)
        # Check replies against web/openapi.json once it documents them.
        self.validate = "/api/v1/pois" in self.api.doc.d["paths"]
        self.tokens = {}
        for i, (bid, (lat, lon)) in enumerate(BOOTHS.items()):
            self.call("PUT", f"/api/v1/booths/{bid}", {
                "name": f"老友亭 {bid}", "name_en": f"Booth {bid}",
                "address": "上海市", "district": "虹口区", "lat": lat, "lon": lon,
                "account": f"h-{bid}", "ports": 2}, who=self.admin, expect=200)
            r = self.call("POST", f"/api/v1/booths/{bid}/token", who=self.admin,
                          expect=201)
            self.tokens[bid] = r.json["token"]

    def call(self, method, path, body=None, who=None, booth=None, **kw):
        headers = kw.pop("headers", {})
        if booth is not None:
            headers["Authorization"] = f"Booth {booth}"
        return self.api.call(method, path, body, who=who, headers=headers,
                             validate=self.validate, **kw)

    def error(self, method, path, status, error, **kw):
        r = self.call(method, path, expect=status, **kw)
        check(isinstance(r.json, dict) and set(r.json) == {"error", "message"},
              f"{method} {path}: not an error body: {r}")
        check(r.json["error"] == error, f"{method} {path}: {r.json}")
        return r.json["message"]

    def nearby(self, bid, query=""):
        return self.call("GET", f"/api/v1/booth/nearby{query}",
                         booth=self.tokens[bid], expect=200).json

    def poi_count(self):
        return self.srv.sql("SELECT count(*) FROM pois")[0][0]

    def usage(self, bid):
        r = self.call("GET", f"/api/v1/booths/{bid}", who=self.reader, expect=200)
        return r.json["items"][0]["today"]["usage"].get("life", 0)


def same_places(got, want, what):
    check(len(got["items"]) == len(want) and got["total"] == len(want),
          f"{what}: {len(got['items'])} places (total {got['total']}), "
          f"expected {len(want)}: {[i['id'] for i in got['items']]} vs "
          f"{[w['id'] for w in want]}")
    for g, w in zip(got["items"], want):
        check(g["id"] == w["id"], f"{what}: order {[i['id'] for i in got['items']]} "
              f"!= {[x['id'] for x in want]}")
        for k in ("distance_m", "walk_m", "minutes"):
            check(g[k] == w[k], f"{what}: {g['id']} {k} {g[k]}, expected {w[k]} "
                  f"(d = {w['d']:.4f} m)")


def test_life_circle_from_the_booth_screens():
    life = Life()
    pois = load_demo()
    r = life.srv.cli("poi", "import", DEMO)
    check(f"{len(pois)} POIs imported" in r.stdout, r.stdout)
    check(life.poi_count() == len(pois), "all demo POIs stored")

    # The kiosk's buttons.
    cats = life.call("GET", "/api/v1/booth/categories",
                     booth=life.tokens["tianai-road"], expect=200).json
    check([c["key"] for c in cats["items"]] == CATEGORIES, cats)
    check(cats["minutes"] == 15, cats)
    check({"key": "toilet", "zh": "公共厕所", "en": "Public toilet"} in cats["items"], cats)

    # Every booth, every category: the places, their order and distances.
    asked = {bid: 0 for bid in BOOTHS}
    for bid, (lat, lon) in BOOTHS.items():
        for cat in CATEGORIES:
            got = life.nearby(bid, f"?category={cat}")
            asked[bid] += 1
            check(got["booth"] == bid and got["category"] == cat and
                  got["minutes"] == 15 and abs(got["lat"] - lat) < 1e-9, got)
            want = expected(pois, lat, lon, cat)
            same_places(got, want, f"{bid} {cat}")
            first = want[0] if want else None
            if first:
                name = next(p["name"] for p in pois if p["id"] == first["id"])
                check(name in got["say"]["zh"] and
                      f"{first['minutes']}分钟" in got["say"]["zh"], got["say"])
                check(f"{first['minutes']}-minute walk." in got["say"]["en"], got["say"])
            else:
                check("没有" in got["say"]["zh"] and "none within" in got["say"]["en"],
                      got["say"])
    # Worked out by hand: from 甜爱路 (31.2747, 121.4838) the 华氏大药房 at
    # (31.2752, 121.4826): Δφ = 0.0005°, Δλ = 0.0012°; on the 6371008.8 m
    # sphere 55.6 m north and 114.0 m west, 126.9 m in all; × 1.3 = 165 m,
    # 165 / 80 → 3 minutes.
    got = life.nearby("tianai-road", "?category=pharmacy")
    check(got["items"][0]["id"] == "hk-pharm-hs" and got["items"][0]["distance_m"] == 127
          and got["items"][0]["walk_m"] == 165 and got["items"][0]["minutes"] == 3,
          got["items"][0])
    check(got["label"] == {"zh": "药店", "en": "Pharmacy"}, got)
    # No hospital within 15 minutes of 甜爱路 (the nearest is 1.1 km off).
    got = life.nearby("tianai-road", "?category=hospital")
    check(got["total"] == 0 and got["items"] == [], got)
    asked["tianai-road"] += 2

    # Every category at once, a limit, a shorter walk.
    got = life.nearby("bund-east")
    asked["bund-east"] += 1
    same_places(got, expected(pois, *BOOTHS["bund-east"]), "bund-east all")
    check(got["category"] is None, got)
    got = life.nearby("duolun-road", "?limit=3&minutes=5")
    asked["duolun-road"] += 1
    want = expected(pois, *BOOTHS["duolun-road"], minutes=5)
    check(got["total"] == len(want) and len(got["items"]) == 3 and
          [i["id"] for i in got["items"]] == [w["id"] for w in want[:3]], got)
    check(all(i["minutes"] <= 5 for i in got["items"]), got)

    # Each answered query counted as a use of the service.
    for bid, n in asked.items():
        check(life.usage(bid) == n, f"{bid}: usage {life.usage(bid)}, asked {n}")

    # Operations ask for any booth.
    got = life.call("GET", "/api/v1/booths/duolun-road/nearby?category=metro",
                    who=life.reader, expect=200).json
    same_places(got, expected(pois, *BOOTHS["duolun-road"], "metro"), "ops metro")
    life.error("GET", "/api/v1/booths/nowhere/nearby", 404, "not_found", who=life.reader)
    life.error("GET", "/api/v1/booths/duolun-road/nearby", 401, "unauthorized")

    # Bad requests: 400 with a JSON error; a wrong token 401; none counted.
    tok = life.tokens["tianai-road"]
    for q, frag in (("?category=spa", "category must be one of: clinic,"),
                    ("?category=", "category must be one of"),
                    ("?category=Pharmacy", "category must be one of"),
                    ("?limit=0", "limit must be a whole number from 1 to 100"),
                    ("?limit=101", "limit must be a whole number from 1 to 100"),
                    ("?limit=abc", "limit must be a whole number"),
                    ("?minutes=31", "minutes must be a whole number from 1 to 30"),
                    ("?minutes=-1", "minutes must be a whole number")):
        msg = life.error("GET", "/api/v1/booth/nearby" + q, 400, "bad_request", booth=tok)
        check(frag in msg, f"{q}: {msg}")
    life.error("GET", "/api/v1/booth/nearby?category=toilet", 401, "unauthorized",
               booth="0" * 48)
    life.error("GET", "/api/v1/booth/categories", 401, "unauthorized")
    check(life.usage("tianai-road") == asked["tianai-road"], "bad queries not counted")


def geojson(pois):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": p["id"],
         "geometry": {"type": "Point", "coordinates": [float(p["lon"]), float(p["lat"])]},
         "properties": {k: p[k] for k in ("name", "name_en", "category", "address",
                                          "phone", "hours")}}
        for p in pois]}


def test_poi_import_all_or_nothing_cli_and_api():
    life = Life()
    pois = load_demo()
    tmp = life.srv.tmp

    # CLI: a bad line deep in a good file: file:line, exit 2, nothing in.
    lines = open(DEMO, encoding="utf-8").read().splitlines()
    bad = list(lines)
    bad[40] = bad[40].replace(",31.", ",310.", 1)
    path = os.path.join(tmp, "bad.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(bad) + "\n")
    r = life.srv.cli("poi", "import", path, check_rc=False)
    check(r.returncode == 2, f"rc {r.returncode}")
    check(r.stderr.strip() == f"{path}:41: \"lat\" must be a number of degrees "
          "from -90 to 90", r.stderr)
    check(life.poi_count() == 0, "nothing imported")
    # Bad quoting and an unknown category, likewise.
    for line, text, msg in (
            (3, "x1,\"诊所,,clinic,,31.27,121.48,,", "a quoted field does not end on its line"),
            (3, "x1,诊所,,dentist,,31.27,121.48,,", "unknown category \"dentist\" (one of: "
             "clinic, hospital, pharmacy, community_centre, elder_care, market, police, "
             "toilet, metro, bus, bank)"),
            (3, "x1,,,clinic,,31.27,121.48,,", "a POI needs a \"name\"")):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:2] + [text]) + "\n")
        r = life.srv.cli("poi", "import", path, check_rc=False)
        check(r.returncode == 2 and r.stderr.strip() == f"{path}:{line}: {msg}",
              f"rc {r.returncode}: {r.stderr}")
        check(life.poi_count() == 0, "nothing imported")
    # GeoJSON through the CLI: a feature with a bad coordinate on its line.
    doc = json.dumps(geojson(pois[:5]), ensure_ascii=False, indent=1)
    gpath = os.path.join(tmp, "bad.geojson")
    with open(gpath, "w", encoding="utf-8") as f:
        f.write(doc.replace(pois[3]["lon"], "181.5", 1))
    want_line = doc.split("\n").index(
        next(x for x in doc.split("\n") if pois[3]["lon"] in x)) + 1
    r = life.srv.cli("poi", "import", gpath, check_rc=False)
    check(r.returncode == 2 and r.stderr.strip() == f"{gpath}:{want_line}: \"lon\" must "
          "be a number of degrees from -180 to 180", f"rc {r.returncode}: {r.stderr}")
    check(life.poi_count() == 0, "nothing imported")
    r = life.srv.cli("poi", "import", os.path.join(tmp, "missing.csv"), check_rc=False)
    check(r.returncode == 2 and "missing.csv: cannot read" in r.stderr, r.stderr)

    # API: the same rules, the line in the message.
    body = "\n".join(lines[:10] + [lines[10].replace(",121.", ",north", 1)]) + "\n"
    msg = life.error("POST", "/api/v1/pois", 400, "bad_poi", body=body,
                     ctype="text/csv", who=life.admin)
    check(msg == "body:11: \"lon\" must be a number of degrees from -180 to 180", msg)
    msg = life.error("POST", "/api/v1/pois", 400, "bad_poi",
                     body="{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":"
                     "\"Feature\",\"id\":\"a\",\"geometry\":{\"type\":\"Point\","
                     "\"coordinates\":[121.48,31.27]},\"properties\":{\"name\":\"x\","
                     "\"category\":\"zoo\"}}]}",
                     ctype="application/geo+json", who=life.admin)
    check(msg.startswith("body:3: unknown category \"zoo\""), msg)
    msg = life.error("POST", "/api/v1/pois", 400, "bad_poi", body="{\"type\": ",
                     ctype="application/geo+json", who=life.admin)
    check(re.match(r"body:1: ", msg), msg)
    life.error("POST", "/api/v1/pois", 415, "unsupported_media_type", body="x",
               ctype="text/plain", who=life.admin)
    life.error("POST", "/api/v1/pois?replace=yes", 400, "bad_request", body=lines[0],
               ctype="text/csv", who=life.admin)
    life.error("POST", "/api/v1/pois", 403, "forbidden", body=lines[0],
               ctype="text/csv", who=life.reader)
    check(life.poi_count() == 0, "nothing imported")
    check(life.call("GET", "/api/v1/pois", who=life.reader, expect=200).json ==
          {"items": [], "total": 0, "limit": 100, "offset": 0}, "empty list")

    # Good imports: GeoJSON, then CSV adds and updates, then a replace.
    r = life.call("POST", "/api/v1/pois", geojson(pois[:30]),
                  ctype="application/geo+json", who=life.admin, expect=200)
    check(r.json == {"imported": 30, "replaced": False, "total": 30}, r.json)
    csv_body = "\n".join(lines[:1] + lines[21:]) + "\n"      # POIs 20.., 10 of them again
    r = life.call("POST", "/api/v1/pois", csv_body, ctype="text/csv; charset=utf-8",
                  who=life.admin, expect=200)
    check(r.json == {"imported": len(pois) - 20, "replaced": False,
                     "total": len(pois)}, r.json)
    page = life.call("GET", "/api/v1/pois?category=toilet&limit=2", who=life.reader,
                     expect=200).json
    toilets = sorted(p["id"] for p in pois if p["category"] == "toilet")
    check(page["total"] == len(toilets) and [p["id"] for p in page["items"]] ==
          toilets[:2], page)
    one = next(p for p in pois if p["id"] == toilets[0])
    check(page["items"][0]["name"] == one["name"] and
          abs(page["items"][0]["lat"] - float(one["lat"])) < 1e-6, page["items"][0])
    life.error("GET", "/api/v1/pois?category=spa", 400, "bad_request", who=life.reader)
    life.error("GET", "/api/v1/pois?limit=1001", 400, "bad_request", who=life.reader)
    audit = life.srv.sql("SELECT action, detail FROM audit WHERE action='poi.import'")
    check(len(audit) == 2, audit)

    # The booths see what the API brought in, to the metre.
    for bid, (lat, lon) in BOOTHS.items():
        same_places(life.nearby(bid, "?category=bus"),
                    expected(pois, lat, lon, "bus"), f"{bid} bus after API import")

    # Replace: the new set is the whole set, in the index too.
    small = [p for p in pois if p["category"] == "police"]
    r = life.call("POST", "/api/v1/pois?replace=true", geojson(small),
                  ctype="application/json", who=life.admin, expect=200)
    check(r.json == {"imported": len(small), "replaced": True, "total": len(small)}, r.json)
    check(life.nearby("bund-east", "?category=bus")["total"] == 0, "buses gone")
    same_places(life.nearby("bund-east"), expected(small, *BOOTHS["bund-east"]),
                "bund-east after replace")
    # A bad replace leaves the set as it was.
    life.error("POST", "/api/v1/pois?replace=true", 400, "bad_poi",
               body=lines[0] + "\nq,x,,bus,,0,0,,\n", ctype="text/csv", who=life.admin)
    check(life.poi_count() == len(small), "a failed replace changed nothing")

    # The operators' CLI query agrees.
    r = life.srv.cli("poi", "nearby", "31.2405", "121.4903", "--category", "police")
    want = expected(small, *BOOTHS["bund-east"], "police")
    rows = [l.split() for l in r.stdout.splitlines()[1:-1]]
    check([x[4] for x in rows] == [w["id"] for w in want] and
          [x[0] for x in rows] == [f"{w['distance_m']}m" for w in want], r.stdout)
    check(r.stdout.splitlines()[-1].startswith(f"{len(want)} within a 15-minute walk"),
          r.stdout)
    r = life.srv.cli("poi", "nearby", "31.2405", "121.4903", "--category", "spa",
                     check_rc=False)
    check(r.returncode == 2, r)
