"""Parse a web-server style access log and an application log.

Covers re: groups, named groups, lookahead/lookbehind, sub with a function,
split, flags (IGNORECASE, MULTILINE, DOTALL, VERBOSE), finditer, fullmatch,
backreferences, plus Counter/defaultdict summaries and datetime with fixed
offsets.
"""
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

ACCESS_LOG = """\
203.0.113.9 - alice [12/Mar/2023:10:15:32 +0100] "GET /index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0"
198.51.100.23 - - [12/Mar/2023:10:15:40 +0100] "POST /api/login HTTP/1.1" 401 87 "https://example.org/" "curl/8.0"
203.0.113.9 - alice [12/Mar/2023:10:16:01 +0100] "GET /static/app.js?v=42 HTTP/1.1" 304 0 "-" "Mozilla/5.0"
192.0.2.77 - bob [12/Mar/2023:10:17:12 +0100] "GET /api/items?page=2&sort=price HTTP/2.0" 200 14022 "-" "python-requests/2.31"
192.0.2.77 - bob [12/Mar/2023:10:17:13 +0100] "DELETE /api/items/17 HTTP/2.0" 204 0 "-" "python-requests/2.31"
198.51.100.23 - - [12/Mar/2023:10:18:59 +0100] "GET /../../etc/passwd HTTP/1.0" 400 150 "-" "nikto"
203.0.113.9 - alice [12/Mar/2023:11:02:44 +0100] "GET /index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0"
this line is garbage and should be reported
10.0.0.5 - carol [12/Mar/2023:23:59:59 -0500] "PUT /api/items/3 HTTP/1.1" 500 321 "-" "Go-http-client/1.1"
"""

APP_LOG = """\
2023-03-12T10:15:32Z INFO  [auth] user=alice session=ab12cd login ok
2023-03-12T10:15:40Z WARN  [auth] user=mallory failed password attempt=3
2023-03-12T10:16:00Z ERROR [db] query timeout after 3000ms
  Traceback-ish continuation line one
  continuation line two
2023-03-12T10:16:05Z info  [cache] hit ratio=0.93 keys=1200
2023-03-12T10:17:00Z DEBUG [auth] token=eyJhbGciOi.secretpart.sig refreshed for user=bob
2023-03-12T10:18:00Z Error [db] deadlock detected; retrying (attempt 2)
"""

LINE_RE = re.compile(r"""
    ^(?P<ip>\d{1,3}(?:\.\d{1,3}){3})\s+-\s+
    (?P<user>\S+)\s+
    \[(?P<day>\d{2})/(?P<mon>[A-Z][a-z]{2})/(?P<year>\d{4})
      :(?P<time>\d{2}:\d{2}:\d{2})\s(?P<tz>[+-]\d{4})\]\s+
    "(?P<method>[A-Z]+)\s(?P<path>[^\s?]+)(?:\?(?P<query>\S*))?\s(?P<proto>HTTP/[\d.]+)"\s+
    (?P<status>\d{3})\s(?P<size>\d+)
    (?:\s"(?P<referer>[^"]*)"\s"(?P<agent>[^"]*)")?$
""", re.VERBOSE)

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def parse_ts(m):
    h, mi, s = map(int, m["time"].split(":"))
    sign = 1 if m["tz"][0] == "+" else -1
    off = timedelta(hours=int(m["tz"][1:3]), minutes=int(m["tz"][3:5])) * sign
    return datetime(int(m["year"]), MONTHS[m["mon"]], int(m["day"]), h, mi, s, tzinfo=timezone(off))


def parse_access(text):
    records, bad = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = LINE_RE.match(line)
        if not m:
            bad.append(lineno)
            continue
        rec = m.groupdict()
        rec["when"] = parse_ts(m)
        rec["status"] = int(rec["status"])
        rec["size"] = int(rec["size"])
        rec["params"] = dict(re.findall(r"([^&=]+)=([^&]*)", rec["query"] or ""))
        records.append(rec)
    return records, bad


def redact(text):
    def mask(m):
        secret = m.group(2)
        return f"{m.group(1)}={secret[:2]}{'*' * (len(secret) - 2)}"
    text = re.sub(r"\b(token|session)=(\S+)", mask, text)
    text = re.sub(r"(?<=user=)(?!alice\b)(\w)(\w*)", lambda m: m.group(1) + "." * len(m.group(2)), text)
    return text


def main():
    records, bad = parse_access(ACCESS_LOG)
    print(f"parsed {len(records)} access records; unparseable lines: {bad}")
    for r in records:
        utc = r["when"].astimezone(timezone.utc)
        print(f"  {r['ip']:<15} {r['user']:<6} {r['method']:<6} {r['path']:<22} {r['status']} "
              f"{r['size']:>6} {r['when'].isoformat()} utc={utc:%H:%M:%S} params={r['params']}")
    by_status = Counter(r["status"] // 100 * 100 for r in records)
    print("status classes:", sorted(by_status.items()))
    bytes_by_ip = defaultdict(int)
    for r in records:
        bytes_by_ip[r["ip"]] += r["size"]
    for ip, total in sorted(bytes_by_ip.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {ip:<15} {total:>8} bytes")
    suspicious = [r["path"] for r in records if re.search(r"\.\./|/etc/", r["path"])]
    print("suspicious paths:", suspicious)
    span = max(r["when"] for r in records) - min(r["when"] for r in records)
    print("time span:", span, "=", span.total_seconds(), "seconds")
    api = re.compile(r"^/api/(?P<resource>\w+)(?:/(?P<id>\d+))?$")
    for r in records:
        m = api.fullmatch(r["path"])
        if m:
            print(f"  api call {r['method']:<6} resource={m['resource']} id={m.group('id')} span={m.span('resource')}")

    print("== application log ==")
    entry_re = re.compile(r"^(\S+)\s+(?i:(info|warn|error|debug))\s+\[(\w+)\]\s+(.*?)(?=^\S|\Z)",
                          re.MULTILINE | re.DOTALL)
    levels = Counter()
    for m in entry_re.finditer(APP_LOG):
        ts, level, comp, msg = m.groups()
        level = level.upper()
        levels[level] += 1
        lines = msg.rstrip("\n").split("\n")
        print(f"  {ts} {level:<5} {comp:<5} {redact(lines[0])}")
        for extra in lines[1:]:
            print(f"  {'':20}{'':12}| {extra.strip()}")
    print("levels:", levels.most_common())
    print("errors (case-insensitive):", re.findall(r"(?im)^\S+\s+error\b", APP_LOG))
    kv = re.findall(r"(\w+)=([\w.]+)", APP_LOG)
    print("key=value pairs:", kv)
    numbers = [float(x) if "." in x else int(x) for x in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", APP_LOG)]
    print("standalone numbers:", numbers)

    print("== split, sub and friends ==")
    print(re.split(r"\s*[,;]\s*", "alpha, beta;gamma ,delta ;; epsilon"))
    print(re.split(r"(\d+)", "a1b22c333d"))
    print(re.split(r"\b", "hi there", maxsplit=3))
    print(re.sub(r"(\w+)@(\w+)\.com", r"\2 at \1", "mail alice@example.com or bob@test.com"))
    print(re.sub(r"(?P<word>\b\w)", lambda m: m["word"].upper(), "the rain in spain"))
    print(re.subn(r"a", "A", "banana", count=2))
    print(re.sub(r"\b(\w+)(\s+\1\b)+", r"\1", "this is is a test test test of repeats"))
    print(re.sub(r"(?<=\d)(?=(\d{3})+$)", ",", "1234567890"))
    print(re.escape("1+1=2? [yes] (maybe) *wild* $5.00"))
    pat = re.compile(r"(?P<key>[a-z]+)\s*:\s*(?P<value>[^,]+)", re.I)
    print([m.groupdict() for m in pat.finditer("Host: example.org, Port : 8080, TLS:on")])
    m = re.search(r"(a)(b)?(c)", "ac")
    print("optional group:", m.groups(), m.groups(default="-"), m.lastindex, m.start(3))
    print("pattern info:", pat.groups, pat.groupindex["value"], pat.flags & re.IGNORECASE != 0)
    print("unicode classes:", re.findall(r"\w+", "naïve façade Ω-omega 東京 x_1"))
    print("ascii classes:", re.findall(r"\w+", "naïve façade Ω-omega", flags=re.ASCII))
    print("casefold match:", bool(re.fullmatch(r"strasse", "STRASSE", re.IGNORECASE)),
          bool(re.match(r"ǆ", "ǅ", re.I)))
    try:
        re.compile(r"(unclosed[group")
    except re.error as exc:
        print("re.error:", exc.msg, "at pos", exc.pos)


if __name__ == "__main__":
    main()
