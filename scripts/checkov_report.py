"""Summarize checkov's JSON report for scripts/scan.sh.

usage: checkov_report.py REPORT_JSON SKIPS_YAML

Applies the waivers of scripts/checkov-skips.yaml, prints the failed checks per
resource, and ends with "scan: N passed, N failed, N skipped". Exit status 1 when
a check failed (after waivers), a file could not be parsed, or nothing was scanned.
Runs with the checkov virtualenv's python (PyYAML comes with checkov).
"""
from __future__ import annotations

import fnmatch
import json
import sys
from collections import defaultdict

import yaml


def load_reports(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, list) else [data]


def load_skips(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    skips = doc.get("skips") or []
    for i, s in enumerate(skips):
        for key in ("id", "resource", "reason"):
            if not str(s.get(key) or "").strip():
                sys.exit(f"scan: ERROR: {path}: skip #{i + 1} has no {key}")
        s.setdefault("stack", "*")
        s["used"] = 0
    return skips


_TYPES: dict[str, dict[str, str]] = {}


def normalize_resource(record: dict) -> None:
    """checkov 3.3.30's terraform_json runner names resources of Python checks
    "resource.<logical id>" (the type is lost; graph checks say "<type>.<id>").
    Put the type back from the scanned file so that every record reads
    "<type>.<logical id>"."""
    res = record.get("resource", "")
    if not res.startswith("resource."):
        return
    path = record.get("file_abs_path", "")
    if path not in _TYPES:
        names: dict[str, str] = {}
        try:
            with open(path, encoding="utf-8") as fh:
                for rtype, blocks in (json.load(fh).get("resource") or {}).items():
                    for name in blocks or {}:
                        names[name] = rtype
        except (OSError, ValueError):
            pass
        _TYPES[path] = names
    name = res[len("resource."):]
    if name in _TYPES[path]:
        record["resource"] = f"{_TYPES[path][name]}.{name}"


def stack_of(record: dict) -> str:
    # file_path is "/<config>/<stack>/cdk.tf.json" relative to the scan root
    parts = record.get("file_path", "").strip("/").split("/")
    return "/".join(parts[:2]) if len(parts) >= 3 else record.get("file_path", "")


def main() -> int:
    report_path, skips_path = sys.argv[1], sys.argv[2]
    reports = load_reports(report_path)
    skips = load_skips(skips_path)

    passed = failed = skipped = parse_errors = 0
    resources: set[tuple[str, str]] = set()
    failures: list[dict] = []
    waived: list[tuple[dict, dict]] = []
    parse_error_files: list[str] = []
    for rep in reports:
        summary = rep.get("summary", rep)
        results = rep.get("results", {})
        passed += len(results.get("passed_checks", []))
        skipped += len(results.get("skipped_checks", []))
        parse_errors += int(summary.get("parsing_errors", 0) or 0)
        parse_error_files += results.get("parsing_errors", []) or []
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for rec in results.get(kind, []):
                normalize_resource(rec)
                resources.add((stack_of(rec), rec["resource"]))
        for rec in results.get("failed_checks", []):
            hit = next(
                (s for s in skips
                 if s["id"] == rec["check_id"]
                 and fnmatch.fnmatchcase(rec["resource"], s["resource"])
                 and fnmatch.fnmatchcase(stack_of(rec), s["stack"])),
                None,
            )
            if hit:
                hit["used"] += 1
                waived.append((rec, hit))
            else:
                failures.append(rec)
    raw_failed = len(failures) + len(waived)
    failed = len(failures)

    print(f"scan: checkov raw result: {passed} passed, {raw_failed} failed, {skipped} skipped, "
          f"{parse_errors} parsing errors, {len(resources)} resources checked")

    if failures:
        print("scan: failed checks by resource:")
        by_res: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for rec in failures:
            by_res[(stack_of(rec), rec["resource"])].append(rec)
        for (stack, res), recs in sorted(by_res.items()):
            print(f"  {stack}  {res}")
            for rec in sorted(recs, key=lambda r: r["check_id"]):
                print(f"    {rec['check_id']}  {rec.get('check_name', '')}")
    if waived:
        print("scan: waived by scripts/checkov-skips.yaml (counted as skipped):")
        for rec, s in sorted(waived, key=lambda x: (stack_of(x[0]), x[0]["resource"], x[0]["check_id"])):
            print(f"  {stack_of(rec)}  {rec['resource']}  {rec['check_id']}: {s['reason']}")
    for s in skips:
        if not s["used"]:
            print(f"scan: note: stale skip {s['id']} {s['resource']} (stack {s['stack']}) matched nothing")
    ok = True
    if parse_errors:
        print(f"scan: ERROR: checkov could not parse: {', '.join(parse_error_files) or parse_errors}")
        ok = False
    if not resources:
        print("scan: ERROR: checkov reported no check on any resource")
        ok = False
    print(f"scan: {passed} passed, {failed} failed, {skipped + len(waived)} skipped")
    return 0 if ok and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
