"""Storing checked policy versions. A version is accepted only if the whole set — the new text
with every stored one — still parses, resolves its inheritance and has no overlapping dates."""

from __future__ import annotations

from functools import lru_cache, partial

from anyio import to_thread
from sqlmodel.ext.asyncio.session import AsyncSession

from service.policy import (
    CompiledPolicy,
    PolicyDocument,
    PolicyError,
    PolicyTooComplex,
    load_policies,
    parse_policy,
)
from service.policy_versions.errors import (
    InvalidPolicy,
    PolicyDocumentTooComplex,
    PolicyVersionExists,
    PolicyVersionNotFound,
)
from service.policy_versions.models import PolicyVersion
from service.policy_versions.store import SqlPolicyVersionStore


async def list_versions(session: AsyncSession) -> list[PolicyVersion]:
    return await SqlPolicyVersionStore(session).all()


async def get_version(session: AsyncSession, content_hash: str) -> PolicyVersion:
    version = await SqlPolicyVersionStore(session).by_hash(content_hash)
    if version is None:
        raise PolicyVersionNotFound(f"no policy version with hash {content_hash}")
    return version


def compile_all(texts: dict[str, str]) -> list[CompiledPolicy]:
    try:
        return list(_compile_set(tuple(sorted(texts.items()))))
    except PolicyTooComplex as exc:
        raise PolicyDocumentTooComplex.from_problems(exc.problems) from exc
    except PolicyError as exc:
        raise InvalidPolicy.from_problems(exc.problems) from exc


def check_document(text: str, *, source: str) -> PolicyDocument:
    try:
        return parse_policy(text, source=source)
    except PolicyTooComplex as exc:
        raise PolicyDocumentTooComplex.from_problems(exc.problems) from exc
    except PolicyError as exc:
        raise InvalidPolicy.from_problems(exc.problems) from exc


@lru_cache(maxsize=8)
def _compile_set(items: tuple[tuple[str, str], ...]) -> tuple[CompiledPolicy, ...]:
    # Compiled policies are immutable; replicas, tests and reloads of one set share them.
    return tuple(load_policies(dict(items)))


async def store_policy(
    session: AsyncSession, *, text: str, source: str, loaded_by: str
) -> tuple[PolicyVersion, bool]:
    """Check and store one version; returns (version, created). The same text twice is a no-op.

    Parsing and compiling are CPU work on text an admin sent: they run in a worker thread, so a
    large document delays its own request, never the event loop's other requests."""
    document = await to_thread.run_sync(partial(check_document, text, source=source))
    stored = await list_versions(session)
    for existing in stored:
        if existing.source_text == text:
            return existing, False
        same_slot = (existing.region_code, existing.effective_from) == (
            document.region_code,
            document.effective_from,
        )
        if same_slot and existing.source_text != text:
            raise PolicyVersionExists(
                f"region {document.region_code} already has a version from "
                f"{document.effective_from}; versions are never edited — add a new one "
                "with a later effective_from",
                field="effective_from",
            )
    texts = {f"{v.region_code}@{v.effective_from}": v.source_text for v in stored}
    texts[f"{source} ({document.region_code}@{document.effective_from})"] = text
    every = await to_thread.run_sync(compile_all, texts)
    compiled = {(p.region_code, p.effective_from): p for p in every}
    mine = compiled[(document.region_code, document.effective_from)]
    version = version_row(mine, inherits=document.inherits, text=text, loaded_by=loaded_by)
    await SqlPolicyVersionStore(session).add(version)
    return version, True


def version_row(
    policy: CompiledPolicy, *, inherits: str | None, text: str, loaded_by: str
) -> PolicyVersion:
    """The stored row of a compiled policy version, with the text it was compiled from."""
    return PolicyVersion(
        region_code=policy.region_code,
        version=policy.version,
        name=policy.name,
        effective_from=policy.effective_from,
        effective_to=policy.effective_to,
        inherits=inherits,
        content_hash=policy.content_hash,
        source_text=text,
        loaded_by=loaded_by,
    )
