"""`python -m unimatch_stack.audit` (what `make audit` calls): known vulnerabilities in the pinned
dependencies, constraints.txt, by pip-audit against PyPI's advisory data.

Exit 1 when a pinned package has a known vulnerability. Where the advisory data cannot be
reached (a machine that sees only a package mirror), pip-audit skips every package and would
still say "No known vulnerabilities found": this says plainly that nothing was audited, and
exits 0, so an offline CI run does not fail on the network.
"""

import json
import subprocess
import sys
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def main() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(CONSTRAINTS),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    run = subprocess.run(command, capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"audit: NOT AUDITED, pip-audit failed:\n{run.stderr[-2000:]}")
        return 0
    packages = report["dependencies"]
    skipped = [p for p in packages if "skip_reason" in p]
    vulnerable = [p for p in packages if p.get("vulns")]
    for package in vulnerable:
        for vuln in package["vulns"]:
            fixed = ", ".join(vuln["fix_versions"]) or "none yet"
            print(f"audit: {package['name']} {package['version']}: {vuln['id']} (fixed in {fixed})")
    audited = len(packages) - len(skipped)
    if audited == 0:
        print(
            f"audit: NOT AUDITED: the advisory data is unreachable from here, all "
            f"{len(packages)} pinned packages skipped (first: {skipped[0]['skip_reason']})"
        )
        return 0
    print(
        f"audit: {audited} packages audited, {len(skipped)} skipped, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
