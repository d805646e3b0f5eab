#!/usr/bin/env bash
# API load benchmark (figures, not a gate): seed a fresh PostgreSQL database, serve the app with gunicorn
# (production settings, DEBUG off), then drive it with locust (benchmarks/locustfile.py):
#   1. steady: BENCH_CLIENTS clients (default 50), each with its own API key, at 1 request/s each (~50/s),
#      for BENCH_SECONDS (default 60); targets: p95 < 200 ms for reads, < 400 ms for writes, no error.
#   2. overload: BENCH_OVERLOAD times as many clients (default 4) on the same keys, so each key carries
#      4 times its rate, for BENCH_OVERLOAD_SECONDS (default 30); target: the excess is refused with 429
#      (or 503), never a 500.
# Prints requests, rate, p50/p95/p99 of reads and of writes, answers by status, and whether targets hold.
#
# Needs PostgreSQL on 127.0.0.1:5432 and, for a rate limit shared by the gunicorn workers, Redis on
# 127.0.0.1:6379 (without it each worker counts alone). `make bench-api` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${BENCH_DB:-bench_api}
CLIENTS=${BENCH_CLIENTS:-50}
SECONDS_STEADY=${BENCH_SECONDS:-60}
OVERLOAD=${BENCH_OVERLOAD:-4}
SECONDS_OVERLOAD=${BENCH_OVERLOAD_SECONDS:-30}
# Sync workers, 2 x cores + 1 (gunicorn's advice): a request spends part of its time waiting on PostgreSQL,
# so one more worker than cores keeps the CPUs busy; more would only queue on the same two cores.
WORKERS=${BENCH_WORKERS:-$((2 * $(nproc) + 1))}
PY=.venv/bin/python
WORK=${BENCH_OUT:-var/bench-api}  # logs, locust's summaries and the seeded keys (mode 600) stay here
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT

export DJANGO_SETTINGS_MODULE=config.settings.production
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export SECRET_KEY="bench-only-$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=false
export STRIPE_SECRET_KEY=sk_test_local STRIPE_WEBHOOK_SECRET=whsec_bench_only STRIPE_API_BASE=http://127.0.0.1:9
export VAR_DIR=$WORK/var CELERY_BROKER_URL=memory:// CELERY_RESULT_BACKEND=cache+memory:// LOG_LEVEL=WARNING
export CONN_MAX_AGE=60  # each sync worker keeps its database connection (a new one costs a few ms per request)
# A per-key limit of twice a client's steady 1 request/s, over a 1 s window (production's is 600/minute): the steady
# phase stays under it; the overload's 4 clients per key go over it, so the 429 path is exercised under load.
export THROTTLE_CALLER=${BENCH_THROTTLE:-2/second}
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  export CACHE_URL=redis://127.0.0.1:6379/2
  redis-cli -h 127.0.0.1 -p 6379 -n 2 flushdb >/dev/null
else
  echo "warning: no Redis on 127.0.0.1:6379: each gunicorn worker counts the rate limit alone" >&2
fi

echo "== bench api: fresh database $DB, migrate, seed"
dropdb -h 127.0.0.1 -U postgres --if-exists "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py api_bench_seed --out "$WORK/fixture.json" --lenders $((CLIENTS > 190 ? CLIENTS + 10 : 200)) --partners 5
"$PY" manage.py shell -v 0 -c 'from django.db import connection as c; c.cursor().execute("VACUUM ANALYZE")'

echo "== bench api: gunicorn, $WORKERS sync workers, on $BASE"
.venv/bin/gunicorn config.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WORKERS" --timeout 60 \
  --no-control-socket --log-level warning >"$WORK/gunicorn.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/loans/")" = 200 ] && break
  sleep 0.5
done
for _ in $(seq 1 $((WORKERS * 4))); do  # warm every worker: imports, database connection
  curl -s -o /dev/null -o /dev/null "$BASE/api/v1/loans/" "$BASE/api/v1/loans/1/"
done
PARTNERS=5

run() {  # phase name, clients per key, seconds
  local users=$((CLIENTS * $2))
  echo "== bench api: $1: $users clients at 1 request/s on $CLIENTS keys for $3 s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  BENCH_FIXTURE=$WORK/fixture.json BENCH_SUMMARY=$WORK/$1.json BENCH_RATE=1 \
    BENCH_LENDER_KEYS=$((CLIENTS - PARTNERS)) BENCH_PARTNER_CLIENTS=$((PARTNERS * $2)) \
    /usr/bin/time -f "locust CPU: %U s user, %S s system" -a -o "$WORK/locust-cpu.txt" \
    .venv/bin/locust -f benchmarks/locustfile.py --headless --host "$BASE" --users "$users" \
    --spawn-rate "$users" --run-time "$3s" --reset-stats --only-summary --loglevel WARNING \
    --stop-timeout 10 >"$WORK/$1.log" 2>&1 || true  # locust exits 1 on any failure; the report below judges
  [ -s "$WORK/$1.json" ] || { cat "$WORK/$1.log" >&2; exit 1; }
  echo "   $(tail -n 1 "$WORK/locust-cpu.txt"); CPU seconds so far: gunicorn workers $(cpu_of "$(pgrep -d, -P "${PIDS[0]}")"), PostgreSQL backends of $DB $(cpu_of "$(pgrep -d, -f "postgres: .* $DB ")")"
}
cpu_of() { ps -o times= -p "$1" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
run steady 1 "$SECONDS_STEADY"
run overload "$OVERLOAD" "$SECONDS_OVERLOAD"
echo "   (load average after: $(cut -d' ' -f1-3 /proc/loadavg); other work on the machine skews the figures)"

SERVER_ERRORS=$(grep -c "^Traceback" "$WORK/gunicorn.log" || true)
"$PY" - "$WORK" "$CLIENTS" "$OVERLOAD" "$WORKERS" "$SERVER_ERRORS" <<'REPORT'
import json
import os
import sys

work, clients, overload, workers, tracebacks = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
steady = json.load(open(f"{work}/steady.json"))
over = json.load(open(f"{work}/overload.json"))


def row(name, s):
    return (f"{name:<9} {s['requests']:>8} {s['per_second']:>7} "
            + " ".join(f"{s[k].get('p50', '-'):>6} {s[k].get('p95', '-'):>6} {s[k].get('p99', '-'):>6}" for k in ("read", "write"))
            + f"  {s['statuses']}")


print(f"\nmachine: {os.cpu_count()} cores; gunicorn {workers} sync workers; locust on the same machine")
print(f"{'phase':<9} {'requests':>8} {'req/s':>7} {'read p50':>6} {'p95':>6} {'p99':>6} {'write p50':>6} {'p95':>6} "
      f"{'p99':>6}  answers by status (ms for percentiles)")
print(row("steady", steady))
print(row("overload", over))
errors = {code: n for code, n in steady["statuses"].items() if not code.startswith("2")}
target = clients * 1.0
checks = [
    (f"steady rate ~{target:.0f} req/s (within 10%)", abs(steady["per_second"] - target) <= 0.1 * target),
    ("steady reads p95 < 200 ms", steady["read"].get("p95", 1e9) < 200),
    ("steady writes p95 < 400 ms", steady["write"].get("p95", 1e9) < 400),
    (f"steady: no error answers (got {errors or 'none'})", not errors),
    ("overload: some answers refused with 429/503", any(c in over["statuses"] for c in ("429", "503"))),
    ("overload: no 5xx other than 503, no dropped connection",
     not any(c.startswith("5") and c != "503" or c == "0" for c in over["statuses"])),
    (f"server logged no exception (tracebacks: {tracebacks})", tracebacks == 0),
]
for what, ok in checks:
    print(f"  {'holds ' if ok else 'MISSES'}  {what}")
REPORT
