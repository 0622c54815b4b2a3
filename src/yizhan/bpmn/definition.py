"""A loaded process: what the case engine stores once per item version.

``ProcessDefinition.spec_json`` is the whole of it: SpiffWorkflow's
serialized specification plus what Yizhan reads from the drawing (the post
of each user task, the outcome of each end event).  The other attributes
are read from it, so a definition is rebuilt from the stored text alone with
``ProcessDefinition.from_json``.

Two hashes: ``spec_hash`` is the SHA-256 of the text, the runtime's cache
key (cheap to compute, no parsing); ``digest`` is the SHA-256 of the
canonical JSON of the content, written into the text when it is built.  A
workflow state records the ``digest``, so a state still matches its
specification after a JSON column has re-serialized the text (PostgreSQL's
``jsonb`` reorders keys), while a state never runs on another process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from django.db import models
from django.utils.translation import gettext_lazy as _

from yizhan.bpmn.errors import ProcessStateError

FORMAT = "yizhan.bpmn/1"

ACCEPTING = "$accepting"
JOINT = "$joint"
UPPER = "$upper"
SYMBOLIC_AGENCIES = (ACCEPTING, JOINT, UPPER)


class Outcome(models.TextChoices):
    """How a case ends, read from the id of the end event reached."""

    APPROVED = "approved", _("准予")
    REFUSED = "refused", _("不予许可")
    NOT_ACCEPTED = "not_accepted", _("不予受理")


def outcome_of(end_event_id: str) -> str | None:
    """``approved``, ``refused_by_review`` → the outcome; None if it names none.

    The id is the outcome itself or the outcome followed by ``_`` and
    anything (ids are unique in a document, so two refusal ends are
    ``refused`` and ``refused_after_review``).  The longest outcome wins.
    """
    for value in sorted(Outcome.values, key=len, reverse=True):
        if end_event_id == value or end_event_id.startswith(value + "_"):
            return value
    return None


# What a user task is, by the start of its BPMN id (docs/processes.md, "Task
# ids"): the case engine accepts (受理, the clock starts) at ``accept…``,
# decides (and issues an approval's certificate) at ``decide…``, delivers at
# ``deliver…``; ``reply…`` is an agency's reply to a supervision notice.
TASK_KINDS = ("accept", "decide", "deliver", "reply")


def task_kind(task_id: str) -> str:
    """accept / review / decide / deliver / reply, from the BPMN id of a user task.

    Anything not starting with one of ``TASK_KINDS`` is a review.  The case
    engine acts on it, and the catalog refuses an uploaded process whose
    ids would leave cases never accepted or decided.
    """
    for kind in TASK_KINDS:
        if task_id.startswith(kind):
            return kind
    return "review"


@dataclass(frozen=True)
class TaskPost:
    """Who does a user task: a role in an agency (possibly symbolic)."""

    task: str       # the BPMN id of the user task
    title: str      # its name in the drawing
    role: str       # a value of yizhan.directory.roles.Role
    agency: str     # "$accepting", "$joint", "$upper" or an agency's name

    @property
    def joint(self) -> bool:
        return self.agency == JOINT


@dataclass(frozen=True)
class ProcessDefinition:
    """A checked, serialized process, ready to run.

    ``agency_refs`` lists what ``start(agencies=...)`` must map to agency
    ids: the symbolic agencies used, plus the names of named agencies.
    """

    process_id: str
    name: str
    tasks: Mapping[str, TaskPost]
    outcomes: Mapping[str, str]
    spec_json: str = field(repr=False)
    spec_hash: str
    digest: str

    @property
    def agency_refs(self) -> frozenset[str]:
        return frozenset(post.agency for post in self.tasks.values())

    @property
    def has_joint(self) -> bool:
        return any(post.joint for post in self.tasks.values())

    @classmethod
    def from_json(cls, spec_json: str) -> ProcessDefinition:
        """Rebuild a definition from its stored ``spec_json``."""
        definition, _dct = cls._parse(spec_json)
        return definition

    @classmethod
    def _parse(cls, spec_json: str) -> tuple[ProcessDefinition, dict]:
        """The definition and the SpiffWorkflow specification dict (to restore)."""
        try:
            document = json.loads(spec_json)
            if document.get("format") != FORMAT:
                raise ValueError("format")
            meta = document["process"]
            tasks = {
                task_id: TaskPost(task=task_id, title=t["title"], role=t["role"],
                                  agency=t["agency"])
                for task_id, t in meta["tasks"].items()
            }
            definition = cls(
                process_id=meta["id"],
                name=meta["name"],
                tasks=MappingProxyType(tasks),
                outcomes=MappingProxyType(dict(meta["outcomes"])),
                spec_json=spec_json,
                spec_hash=hash_spec(spec_json),
                digest=document["digest"],
            )
            if not isinstance(definition.digest, str):
                raise ValueError("digest")
            return definition, document["spiff"]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ProcessStateError(detail=_("流程定义不是本系统生成的格式。")) from None


def hash_spec(spec_json: str) -> str:
    """The key of a specification in the runtime's cache (SHA-256, hex)."""
    return hashlib.sha256(spec_json.encode()).hexdigest()


def build_spec_json(*, process_id: str, name: str, tasks: Mapping[str, TaskPost],
                    outcomes: Mapping[str, str], spiff_spec: dict,
                    serializer_version: str) -> str:
    content = {
        "process": {
            "id": process_id,
            "name": name,
            "tasks": {
                task_id: {"title": post.title, "role": post.role, "agency": post.agency}
                for task_id, post in tasks.items()
            },
            "outcomes": dict(outcomes),
        },
        "spiff": {"serializer_version": serializer_version, "spec": spiff_spec},
    }
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    document = {
        "format": FORMAT,
        "digest": hashlib.sha256(canonical.encode()).hexdigest(),
        **content,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
