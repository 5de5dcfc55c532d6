"""Policy documents: parse, validate with line numbers, inherit, check versions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml
from pydantic import ValidationError

from service.policy.errors import PolicyError, PolicyProblem, PolicyTooComplex
from service.policy.schema import Document, Layer, When
from service.policy.yamlsource import DocumentTooComplex, LDict, LList, line_of, load_yaml

__all__ = ["PolicyDocument", "check_versions", "merge", "parse_policy", "validate_merged"]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """One parsed YAML policy file (a county's file may only hold what it overrides)."""

    region_code: str
    version: str
    effective_from: date
    effective_to: date | None
    inherits: str | None
    source: str
    data: LDict

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _problem(data: Any, path: Path, message: str) -> PolicyProblem:
    source, line = line_of(data, path)
    return PolicyProblem(line=line, path=format_path(path), message=message, source=source)


def _pydantic_problems(data: LDict, error: ValidationError, partial: bool) -> list[PolicyProblem]:
    problems = []
    for item in error.errors():
        if partial and item["type"] == "missing":
            continue
        path: Path = tuple(p for p in item["loc"] if isinstance(p, str | int))
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(_problem(data, path, message))
    return problems


def parse_policy(text: str, *, source: str = "<string>") -> PolicyDocument:
    """Parse and validate one YAML policy document; raise PolicyError naming line and field."""
    try:
        data = load_yaml(text, source)
    except DocumentTooComplex as e:
        raise PolicyTooComplex([PolicyProblem(e.line, "", str(e), source)]) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PolicyError([PolicyProblem(line, "", f"not valid YAML: {e}", source)]) from e
    if not isinstance(data, LDict):
        raise PolicyError([PolicyProblem(1, "", "a policy document is a YAML mapping", source)])
    partial = data.get("inherits") is not None
    problems = _validate(data, partial=partial)
    if problems:
        raise PolicyError(problems)
    return PolicyDocument(
        region_code=str(data["region"]),
        version=str(data["version"]),
        effective_from=data["effective_from"],
        effective_to=data.get("effective_to"),
        inherits=data.get("inherits"),
        source=source,
        data=data,
    )


def _validate(data: LDict, *, partial: bool) -> list[PolicyProblem]:
    for key in ("region", "version", "effective_from"):
        if key not in data:
            return [_problem(data, (key,), "field required")]
    # Before the model: a part (one that inherits) lacks fields, so Document's whole-document
    # checks never run on it, yet its own dates are whole.
    start, end = data.get("effective_from"), data.get("effective_to")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        return [_problem(data, ("effective_to",), "effective_to is before effective_from")]
    try:
        document = Document.model_validate(data)
    except ValidationError as e:
        return _pydantic_problems(data, e, partial)
    if partial:
        return []
    return [_problem(data, path, message) for path, message in semantic_problems(document)]


def validate_merged(data: LDict) -> Document:
    """Validate a complete (merged) policy; raise PolicyError on any problem."""
    try:
        document = Document.model_validate(data)
    except ValidationError as e:
        raise PolicyError(_pydantic_problems(data, e, partial=False)) from e
    problems = [_problem(data, path, message) for path, message in semantic_problems(document)]
    if problems:
        raise PolicyError(problems)
    return document


def semantic_problems(doc: Document) -> Iterator[tuple[Path, str]]:
    """Rules that need the whole document: bands, categories, layer order."""
    known = set(doc.categories)
    seen_other = False
    for i, layer in enumerate(doc.layers):
        if layer.kind == "fee_waiver" and seen_other:
            yield ("layers", i, "kind"), "fee waivers come before every other layer"
        seen_other = seen_other or layer.kind != "fee_waiver"
        yield from _band_problems(i, layer.bands or [], layer.convention, layer.threshold)
        yield from _deductible_problems(i, layer)
        yield from _higher_cap_problems(i, layer, doc)
        conditions: list[tuple[Path, When]] = [(("applies_to",), layer.applies_to)]
        conditions += [
            (("adjustments", j, "when"), a.when) for j, a in enumerate(layer.adjustments)
        ]
        for where, when in conditions:
            for k, code in enumerate(when.categories or []):
                if code not in known:
                    yield ("layers", i, *where, "categories", k), _unknown_category(code)
            for k, code in enumerate(when.diseases or []):
                if code not in doc.diseases:
                    yield ("layers", i, *where, "diseases", k), _unknown("disease", code)
        for field in ("line_categories", "excludes_line_categories"):
            for k, code in enumerate(getattr(layer, field) or []):
                if code not in doc.bill_categories:
                    yield ("layers", i, field, k), _unknown("bill category", code)
        if layer.line_categories and layer.out_of_policy_ratio is not None:
            yield (
                ("layers", i, "out_of_policy_ratio"),
                "a layer of its own lines (line_categories) pays in-catalogue cost only",
            )
    for i, entry in enumerate(doc.year_end):
        for k, code in enumerate(entry.applies_to.categories or []):
            if code not in known:
                yield ("year_end", i, "applies_to", "categories", k), _unknown_category(code)
    controls = doc.controls
    for k, code in enumerate(controls.covered_categories):
        if code not in known:
            yield ("controls", "covered_categories", k), _unknown_category(code)
    pat = controls.pay_after_treatment
    for k, code in enumerate(pat.categories if pat else []):
        if code not in known:
            yield ("controls", "pay_after_treatment", "categories", k), _unknown_category(code)


def _deductible_problems(i: int, layer: Layer) -> Iterator[tuple[Path, str]]:
    if layer.later_admissions is not None and layer.deductible_accumulates == "per_year":
        yield (
            ("layers", i, "later_admissions"),
            "later_admissions cannot reduce a deductible taken once per year (per_year)",
        )
    has_out_deductible = layer.out_of_policy_deductible > 0 or any(
        a.out_of_policy_deductible for a in layer.adjustments
    )
    if has_out_deductible and layer.out_of_policy_ratio is None:
        yield (
            ("layers", i, "out_of_policy_deductible"),
            "an out_of_policy_deductible needs out_of_policy_ratio (out-of-catalogue cover)",
        )


def _higher_cap_problems(i: int, layer: Layer, doc: Document) -> Iterator[tuple[Path, str]]:
    # the key the bands layer's accumulators use: its pool if it has one, else its code
    bands = {other.pool or other.code for other in doc.layers if other.kind == "bands"}
    for j, higher in enumerate(layer.higher_caps):
        here: Path = ("layers", i, "higher_caps", j)
        if higher.eligible_of not in bands:
            yield (
                (*here, "eligible_of"),
                f"{higher.eligible_of!r} is not a bands layer (its pool, if it has one)",
            )
        for field in ("annual_cap", "per_admission_cap"):
            plain, high = getattr(layer, field), getattr(higher, field)
            if high is not None and plain is not None and high < plain:
                yield (*here, field), f"a higher {field} {high} is below the layer's {plain}"


def _unknown(what: str, code: str) -> str:
    plural = {"disease": "diseases", "bill category": "bill_categories"}[what]
    return f"{what} {code!r} is not defined in this policy's {plural} or its parent's"


def _unknown_category(code: str) -> str:
    return f"category {code!r} is not defined in this policy's categories or its parent's"


def _band_problems(
    i: int, bands: Sequence[Any], convention: str | None, threshold: Any
) -> Iterator[tuple[Path, str]]:
    for j, band in enumerate(bands):
        here: Path = ("layers", i, "bands", j)
        if band.to is not None and band.to <= band.from_:
            yield (*here, "to"), f"band 'to' {band.to} must be above its 'from' {band.from_}"
        if j == 0:
            if convention == "cumulative" and band.from_ != threshold:
                yield (
                    (*here, "from"),
                    (f"cumulative bands start at the threshold ({threshold}), not {band.from_}"),
                )
            if convention == "above_threshold" and band.from_ != 0:
                yield (*here, "from"), f"above_threshold bands start at 0, not {band.from_}"
            continue
        before = bands[j - 1]
        if before.to is None or band.from_ != before.to:
            yield (
                (*here, "from"),
                (
                    f"bands must increase without gaps: this band starts at {band.from_}, "
                    f"the one before ends at {before.to if before.to is not None else 'no limit'}"
                ),
            )


def merge(parent: LDict, child: LDict) -> LDict:
    """A county's document over its parent's: mappings merge key by key, layers by code
    (a child layer with ``remove: true`` drops the parent's), other values replace."""
    out = _copy_dict(parent)
    for key, value in child.items():
        if key == "layers" and isinstance(value, LList) and isinstance(parent.get(key), LList):
            out[key] = _merge_layers(parent[key], value)
        elif isinstance(value, LDict) and isinstance(parent.get(key), LDict):
            out[key] = merge(parent[key], value)
        else:
            out[key] = value
        out.lines[key] = child.lines[key]
    out.pop("inherits", None)
    if "inherits" in child:
        out["inherits"] = child["inherits"]
        out.lines["inherits"] = child.lines["inherits"]
    return out


def _copy_dict(data: LDict) -> LDict:
    out = LDict(data)
    out.lines = dict(data.lines)
    out.line = data.line
    return out


def _merge_layers(parent: LList, child: LList) -> LList:
    out = LList()
    out.line = child.line
    by_code = {
        item.get("code"): (item, where)
        for item, where in zip(child, child.lines, strict=True)
        if isinstance(item, LDict)
    }
    used = set()
    for item, where in zip(parent, parent.lines, strict=True):
        code = item.get("code") if isinstance(item, LDict) else None
        if code in by_code:
            used.add(code)
            override, override_where = by_code[code]
            if override.get("remove") is True:
                continue
            out.append(merge(item, override))
            out.lines.append(override_where)
        else:
            out.append(item)
            out.lines.append(where)
    for item, where in zip(child, child.lines, strict=True):
        code = item.get("code") if isinstance(item, LDict) else None
        if code not in used:
            out.append(item)
            out.lines.append(where)
    return out


def check_versions(docs: Sequence[PolicyDocument]) -> list[PolicyProblem]:
    """Versions of one region must not overlap in time (effective_to is inclusive)."""
    problems = []
    by_region: dict[str, list[PolicyDocument]] = {}
    for doc in docs:
        by_region.setdefault(doc.region_code, []).append(doc)
    for region, versions in sorted(by_region.items()):
        ordered = sorted(versions, key=lambda d: d.effective_from)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.effective_to is None or before.effective_to >= after.effective_from:
                ends = before.effective_to or "open-ended"
                message = (
                    f"region {region}: version {after.version!r} (from {after.effective_from}) "
                    f"overlaps version {before.version!r} of {before.source} "
                    f"({before.effective_from} to {ends})"
                )
                problems.append(_problem(after.data, ("effective_from",), message))
    return problems
