"""Retrieval scores of a replayed screenshot folder (`rememora replay DIR`).

The core feeds the folder through capture and the write path (:meth:`Service.replay`);
here each session of its index asks its prompt through the real retrieval path, and the
rank of the first memory made from a frame of a session with the same prompt is scored:
hit@1 and hit@5 over the sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.capture.replay import ReplayReport, ReplaySession
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.service import Service

TOP = 5  # hits looked at per prompt


@dataclass(frozen=True)
class SessionScore:
    session_id: str
    prompt: str
    rank: int | None  # 0-based rank of the first hit from a frame of this prompt
    retrieved: int

    def to_json(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "prompt": self.prompt,
            "rank": self.rank,
            "retrieved": self.retrieved,
        }


@dataclass(frozen=True)
class ScoredReplay:
    """The replay's costs and, when its folder had a session index, each session's score."""

    replay: ReplayReport
    sessions: tuple[SessionScore, ...] = ()

    @property
    def queries(self) -> int:
        return len(self.sessions)

    @property
    def hits_at_1(self) -> int:
        return sum(s.rank == 0 for s in self.sessions)

    @property
    def hits_at_5(self) -> int:
        return sum(s.rank is not None for s in self.sessions)

    def to_json(self) -> dict[str, object]:
        data = self.replay.to_json()
        if self.queries:
            data.update(
                {
                    "queries": self.queries,
                    "hit@1": round(self.hits_at_1 / self.queries, 3),
                    "hit@5": round(self.hits_at_5 / self.queries, 3),
                    "per_session": [s.to_json() for s in self.sessions],
                }
            )
        return data


def score_sessions(
    service: Service, sessions: Sequence[ReplaySession], progress: Progress = NULL_PROGRESS
) -> tuple[SessionScore, ...]:
    """Each session's prompt asked through ``service.search``: where its first hit made
    from one of the frames of a session with the same prompt ranks."""
    prompt_of = {str(path): s.prompt for s in sessions for path in s.images}
    scores: list[SessionScore] = []
    for done, session in enumerate(sessions, 1):
        check_cancelled(progress)
        hits = service.search(session.prompt)[:TOP]
        prompts = [prompt_of.get(service.source_frame(hit) or "") for hit in hits]
        rank = next((i for i, p in enumerate(prompts) if p == session.prompt), None)
        scores.append(SessionScore(session.session_id, session.prompt, rank, len(hits)))
        progress.update(done, len(sessions), "scoring retrieval")
    return tuple(scores)


def replay_and_score(
    service: Service,
    folder: Path,
    naive: bool = False,
    limit_sessions: int | None = None,
    progress: Progress = NULL_PROGRESS,
) -> ScoredReplay:
    """`rememora replay DIR`: feed the folder into ``service``'s store, then score
    retrieval on its sessions (none without an index.json)."""
    report = service.replay(folder, naive=naive, limit_sessions=limit_sessions, progress=progress)
    return ScoredReplay(report, score_sessions(service, report.sessions, progress))
