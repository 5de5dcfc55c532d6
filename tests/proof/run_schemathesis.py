"""Schemathesis against the running service's OpenAPI schema, every operation, with each role's key.

    python tests/proof/run_schemathesis.py [--max-examples 40] [--seed 7]
        [--database NAME] [--redis-db N]

Starts the service as in production (`settlecheck serve`, demo data) on a loopback port, on a
PostgreSQL database it recreates (default settlecheck_schemathesis, or
SETTLECHECK_SCHEMATHESIS_DATABASE) and a Redis db it flushes (default 13, or
SETTLECHECK_SCHEMATHESIS_REDIS_DB): use your own when others share the servers. Before the
generated cases it seeds settled visits, deposits, reversals and violations in several statuses
and sends the hand-found hostile cases with every role's key (tests/proof/schemathesis_cases.py).
Then it runs `schemathesis run` once per key: hospital, auditor, admin, and last the admin's key
revocation alone (it revokes keys by guessing ids). Exits non-zero on any 5xx, any response that
does not match the schema (status code, content type, headers, body), a failed pinned case, a
server log line at ERROR, or a key that only ever got 401 (the run would have proved nothing).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.harness import BIN, Stack  # noqa: E402
from tests.proof.schemathesis_cases import pinned, seed  # noqa: E402

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--roles", default="hospital,auditor,admin,admin-revoke")
    parser.add_argument(
        "--database",
        default=os.environ.get("SETTLECHECK_SCHEMATHESIS_DATABASE", "settlecheck_schemathesis"),
        help="PostgreSQL database to recreate (dropped at the end)",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=int(os.environ.get("SETTLECHECK_SCHEMATHESIS_REDIS_DB", "13")),
        help="Redis database number to flush and use",
    )
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    args = parser.parse_args()
    stack = Stack(database=args.database, redis_db=args.redis_db, workers=1)
    failed = []
    with stack:
        stack.prepare().start()
        print("seeded:", seed(stack.url, stack.keys), flush=True)
        pinned_failures = pinned(stack.url, stack.keys)
        for line in pinned_failures:
            print("pinned case failed:", line)
        if pinned_failures:
            failed.append("pinned cases")
        for run in args.roles.split(","):
            role = run.split("-")[0]
            scope = ["--include-path-regex", "/revoke$"] if run.endswith("-revoke") else []
            if role == "admin" and not scope:
                scope = ["--exclude-path-regex", "/revoke$"]
            started = time.monotonic()
            command = [
                str(BIN / "schemathesis"),
                "run",
                f"{stack.url}/openapi.json",
                *("--header", f"X-API-Key: {stack.keys[role]}"),
                *("--checks", CHECKS),
                *("--max-examples", str(args.max_examples)),
                *("--seed", str(args.seed)),
                *("--phases", "examples,coverage,fuzzing"),
                *("--generation-database", "none"),
                *("--request-timeout", "10"),
                "--no-color",
                *("--suppress-health-check", "all"),
                *("--workers", "1"),
                *scope,
                *args.extra,
            ]
            result = subprocess.run(command, cwd=stack._workdir, capture_output=True, text=True)
            print(result.stdout[-6000:], result.stderr[-3000:], sep="\n", flush=True)
            print(
                f"schemathesis as {run}: exit {result.returncode} in "
                f"{time.monotonic() - started:.0f} s",
                flush=True,
            )
            unauthorised = "401 Unauthorized (" in result.stdout and not run.endswith("-revoke")
            if result.returncode != 0 or unauthorised:
                failed.append(run)
        errors = [line for line in stack.log_text().splitlines() if '"level": "ERROR"' in line]
    for line in errors[:20]:
        print("server ERROR:", line[:2000])
    if failed or errors:
        print(f"schemathesis failed for {failed or 'no role'}; {len(errors)} server error line(s)")
        return 1
    print("schemathesis: no 5xx, no schema violations, for", args.roles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
