"""Revised articles: what changed for a claim between two versions, word diffs, and article_revised events.

Pure functions over records. The match stage calls :func:`revise` for each claim a revised article matched
(or matches again); shift detection calls :func:`revision_plan` with the claim's stored revisions.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from watcher.domain import (
    Article,
    ArticleVersion,
    Claim,
    Event,
    EventDraft,
    EventType,
    Framing,
    Match,
    MatchRevision,
    MatchScore,
    as_utc,
)

HEADLINE = "headline"
EVIDENCE = "evidence"
STANCE = "stance"
UNMATCHED = "unmatched"  # the new version no longer matches the claim
REMATCHED = "rematched"  # a version matches again after one that did not
SKEPTICISM = "skepticism"  # same stance, but the article now presents the claim with more (or less) doubt
# Whether the article covers the claim at all. A live blog whose feed item carries its latest update goes in
# and out of matching with every few updates: only the first such flip in a cooldown is announced at once.
MATCH_STATUS = frozenset({UNMATCHED, REMATCHED})
# How the article frames the claim. A live blog revised back and forth (supports, disputes, supports) flips
# its stance with its updates: only the first change in a cooldown is announced at once, then the net one.
STANCE_CHANGE = frozenset({STANCE})
# The urgent changes, by kind, announced at once whatever the cooldown: the article now says something else about
# the claim, or no longer (or again) covers it; each kind only once per cooldown of a story.
URGENT_KINDS = (MATCH_STATUS, STANCE_CHANGE)
# Changes kept in the claim's history (match_revisions, and the framing timeline from when they were seen) that
# raise no article_revised on their own: an article adding "critics say the figures do not add up" is told with
# the story's next announcement, if any, and counts as markedly skeptical from when it was seen.
QUIET = frozenset({SKEPTICISM})
# How far the skepticism (0..1) of an article whose stance did not change must move to be a change of its own,
# short of crossing the claim's threshold of marked skepticism: rewording moves it by a few hundredths.
SKEPTICISM_STEP = 0.2

# A word diff is a list of [op, words]: "=" unchanged, "-" removed, "+" added.
Diff = list[list[str]]
CONTEXT_WORDS = 8  # unchanged words kept on each side of a change in a text diff
MAX_DIFF_OPS = 60  # a text diff is cut after this many runs (a rewrite is not worth a full diff)
# Word pairs difflib may compare (the sum over words of their counts in one text times those in the other),
# about 0.3 s at worst. News prose of 8,000 words costs some 400,000; text of a few repeated words costs the
# product of the lengths (seconds), so beyond this the changed middle is shown as removed and added whole.
MAX_DIFF_COST = 1_000_000


def word_diff(before: str, after: str, *, context: int | None = None) -> Diff:
    """The word-level diff of two texts (whitespace-separated words, compared as written).

    With ``context``, a run of unchanged words longer than twice that keeps ``context`` words on each
    side of it and "…" between (only the side next to a change at the start and end), and the diff is
    cut after :data:`MAX_DIFF_OPS` runs, ending in ``["…", ""]``.
    """
    a, b = before.split(), after.split()
    ops: Diff = []
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal":
            ops.append(["=", " ".join(a[i1:i2])])
            continue
        if tag in ("delete", "replace"):
            ops.append(["-", " ".join(a[i1:i2])])
        if tag in ("insert", "replace"):
            ops.append(["+", " ".join(b[j1:j2])])
    if context is None:
        return ops
    return _clip(_with_context(ops, context))


def _opcodes(a: list[str], b: list[str]) -> Sequence[tuple[str, int, int, int, int]]:
    """difflib's opcodes from ``a`` to ``b``, or, when they would cost more than :data:`MAX_DIFF_COST`, the
    common head and tail kept and everything between replaced (a feed controls both texts)."""
    counts = Counter(b)
    if sum(counts[word] for word in a) <= MAX_DIFF_COST:
        return difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    ops = [("equal", 0, head, 0, head)] if head else []
    removed, added = len(a) - tail > head, len(b) - tail > head
    if removed or added:
        tag = "replace" if removed and added else "delete" if removed else "insert"
        ops.append((tag, head, len(a) - tail, head, len(b) - tail))
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def _with_context(ops: Diff, context: int) -> Diff:
    out: Diff = []
    for index, (op, words) in enumerate(ops):
        if op != "=":
            out.append([op, words])
            continue
        split = words.split()
        first, last = index == 0, index == len(ops) - 1
        if first and last:
            continue  # nothing changed in this text
        keep_head = 0 if first else context
        keep_tail = 0 if last else context
        if len(split) <= keep_head + keep_tail + 1:
            out.append([op, words])
            continue
        head, tail = split[:keep_head], split[len(split) - keep_tail :]
        out.append([op, " ".join([*head, "…", *tail])])
    return out


def _clip(ops: Diff) -> Diff:
    return ops if len(ops) <= MAX_DIFF_OPS else [*ops[:MAX_DIFF_OPS], ["…", ""]]


def diff_text(ops: Diff) -> str:
    """A diff as one line: unchanged words as they are, ``[-removed-]`` and ``{+added+}``."""
    parts = []
    for op, words in ops:
        if op == "-":
            parts.append(f"[-{words}-]")
        elif op == "+":
            parts.append(f"{{+{words}+}}")
        else:
            parts.append(words or op)
    return " ".join(p for p in parts if p)


def changed(ops: Diff) -> bool:
    return any(op in ("-", "+") for op, _ in ops)


def revise(
    match: Match,
    article: Article,
    update: tuple[MatchScore, Framing] | None,
    *,
    new_score: float | None = None,
    skeptical_at: float | None = None,
) -> MatchRevision | None:
    """How a claim sees an article's new version: the match as it stood (``match``, whose article carries its
    versions) against the new score and framing (``update``; None when the new version does not match, with
    its score ``new_score`` if known). ``skeptical_at``: the skepticism from which an article counts as
    markedly skeptical (shift detection's threshold); a move across it is a change whatever its size.

    Returns None when there is nothing to write: the article still does not match. Otherwise a revision
    whose ``changes`` list what a reader cares about, possibly none (a new score, the same story):
    the match is updated either way, and only a revision with changes is announced.

    Whether the article matches is news only when the article changed what it says: a version that no
    longer matches yet still carries every sentence the match was made on, or that matches again with
    sentences its previous version already carried, crossed the claim's threshold because the claim
    (its threshold, keywords) changed, not the article. "No longer matches" would read as a retraction.
    """
    if update is None and match.unmatched_at is not None:
        return None
    versions = {v.version: v for v in match.article.versions}
    previous = versions.get(match.version)
    current = versions.get(article.version)
    before = _state(previous.title if previous else match.article.title, match)
    after = _after(article, update, new_score)
    changes = _changes(before, after, was_unmatched=match.unmatched_at is not None, skeptical_at=skeptical_at)
    if UNMATCHED in changes and _carries(f"{article.title}\n{article.text}", match.evidence):
        changes = ()
    last = versions.get(article.version - 1)
    if (
        REMATCHED in changes
        and last is not None
        and _carries(f"{last.title}\n{last.text}", after["evidence"])
    ):
        changes = tuple(change for change in changes if change != REMATCHED)
    return MatchRevision(
        match_id=match.id,
        claim_id=match.claim_id,
        article_id=article.id,
        story_id=article.story_id,
        version=article.version,
        previous_version=match.version,
        content_hash=current.content_hash if current else article.content_hash,
        changes=changes,
        before=before,
        after=after,
        diff=version_diff(previous, current),
        updated_at=article.updated_at,
        revised_at=current.seen_at if current else article.first_seen_at,
        update=update,
    )


def version_diff(previous: ArticleVersion | None, current: ArticleVersion | None) -> dict[str, Diff]:
    """Word diffs of the title (whole) and text (changes in context) from one version to another."""
    if previous is None or current is None:
        return {"title": [], "text": []}
    return {
        "title": word_diff(previous.title, current.title),
        "text": word_diff(previous.text, current.text, context=CONTEXT_WORDS),
    }


def _state(title: str, match: Match) -> dict[str, Any]:
    return {
        "title": title,
        "stance": str(match.stance),
        "skepticism": round(float(match.skepticism), 4),
        "evidence": list(match.evidence),
        "score": round(float(match.score), 4),
        "matched": match.unmatched_at is None,
    }


def _after(
    article: Article, update: tuple[MatchScore, Framing] | None, new_score: float | None
) -> dict[str, Any]:
    if update is None:
        score = None if new_score is None else round(float(new_score), 4)
        return {
            "title": article.title,
            "stance": None,
            "skepticism": None,
            "evidence": [],
            "score": score,
            "matched": False,
        }
    match_score, framing = update
    return {
        "title": article.title,
        "stance": str(framing.stance),
        "skepticism": round(float(framing.skepticism), 4),
        "evidence": list(match_score.evidence),
        "score": round(float(match_score.score), 4),
        "matched": True,
    }


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def _carries(text: str, sentences: Sequence[str]) -> bool:
    """Whether ``text`` holds each of ``sentences`` word for word (case and spacing aside); False for none."""
    words = _words(text)
    return bool(sentences) and all(_words(sentence) in words for sentence in sentences)


def _changes(
    before: dict[str, Any], after: dict[str, Any], *, was_unmatched: bool, skeptical_at: float | None = None
) -> tuple[str, ...]:
    if not after["matched"]:
        return (UNMATCHED,)
    found = []
    if was_unmatched:
        found.append(REMATCHED)
    if _words(before["title"]) != _words(after["title"]):
        found.append(HEADLINE)
    if [_words(s) for s in before["evidence"]] != [_words(s) for s in after["evidence"]]:
        found.append(EVIDENCE)
    if before["stance"] != after["stance"]:
        found.append(STANCE)
    elif not was_unmatched and _doubt_moved(before, after, skeptical_at):
        found.append(SKEPTICISM)
    return tuple(found)


def _doubt_moved(before: dict[str, Any], after: dict[str, Any], skeptical_at: float | None) -> bool:
    """Whether the skepticism moved by :data:`SKEPTICISM_STEP` or more, or across ``skeptical_at``."""
    old, new = _skepticism(before), _skepticism(after)
    if old is None or new is None:
        return False
    if skeptical_at is not None and (old >= skeptical_at) != (new >= skeptical_at):
        return True
    # Stored rounded to four places: 0.1 to 0.3 is a step of 0.2, not of 0.19999999999999998.
    return abs(new - old) >= SKEPTICISM_STEP - 1e-9


def _shown(state: dict[str, Any]) -> str | None:
    """The skepticism as a summary shows it (two places); None where the article did not match."""
    value = _skepticism(state)
    return None if value is None else f"{value:.2f}"


def _skepticism(state: dict[str, Any]) -> float | None:
    value = state.get("skepticism")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _loud(changes: Sequence[str]) -> bool:
    """Whether ``changes`` call for an article_revised: any but the :data:`QUIET` ones."""
    return any(change not in QUIET for change in changes)


# --- events -------------------------------------------------------------------------------------------------


def dedupe_key(revision: MatchRevision) -> str:
    """One event per story and new content: the same revision seen in two feeds (copies of one story) is one."""
    return f"article_revised:{revision.story_id}:{revision.content_hash}"


def revision_plan(
    claim: Claim,
    revisions: Sequence[MatchRevision],
    previous: Sequence[Event],
    *,
    outlets: dict[int, str],
    now: datetime,
    fresh_window_s: int = 0,
    cooldown_s: int = 0,
    versions: Mapping[int, Sequence[ArticleVersion]] | None = None,
) -> tuple[list[EventDraft], datetime | None]:
    """The ``article_revised`` drafts for the claim's revisions that ``previous`` does not hold yet, and when
    the earliest revision held back now is to be announced (the end of its story's cooldown, or the time of a
    revision seen after ``now`` by a clock ahead; None: none held): detection must run again then, whether or
    not new coverage comes.

    A revision is fresh by when watcher saw it, not by its article's publication: a draft whose trigger
    is more than ``fresh_window_s`` (when > 0) before ``now`` is ``backfill``. ``outlets``: match id
    → outlet name, for the summary. ``versions``: article id → its versions, for the diff of a fold.

    With ``cooldown_s``, a story's revision seen within that of its last announcement is held, unless it
    changes the stance or whether the article matches (:data:`URGENT_KINDS`): the next announcement (a later
    revision, or the end of the cooldown when detection runs after it) folds the held ones in, from the
    last announced version to the newest. Each kind of urgent change is urgent only once per cooldown: a
    live blog flipping in and out of the claim, or between supporting and disputing it, with its updates is
    announced once, then its net state when the cooldown ends, not at every flip. Replayed from the stored
    events, so a re-run agrees.

    A revision whose changes are all :data:`QUIET` (the skepticism alone) is announced with the story's next
    announcement, never on its own. Copies of a story (its matches in several feeds) held together are folded
    each on its own: one whose new content another's announcement covers adds nothing, one that says
    something else (a correction only the copy carries) is announced too.
    """
    now = as_utc(now)  # naive is UTC, as everywhere in detection
    mine = [e for e in previous if e.claim_id == claim.id]
    announced = {e.dedupe_key: event_time(e) for e in mine}
    told = {e.dedupe_key: frozenset(_listed_changes(e)) for e in mine}
    by_story: dict[int, list[MatchRevision]] = {}
    due: datetime | None = None
    for revision in sorted(revisions, key=lambda r: (as_utc(r.revised_at), r.id)):
        if not revision.changes or revision.claim_id != claim.id:
            continue
        if as_utc(revision.revised_at) > now:
            # Seen by a clock ahead of this one: not yet on the claim's timeline (shift detection ignores it
            # too), so detection must run again when it is.
            due = as_utc(revision.revised_at) if due is None else min(due, as_utc(revision.revised_at))
            continue
        by_story.setdefault(revision.story_id, []).append(revision)
    drafts = []
    for story in by_story.values():
        announcements, held_until = _announcements(story, announced, told, now, cooldown_s, versions or {})
        if held_until is not None and (due is None or held_until < due):
            due = held_until
        for at, revision, folded in announcements:
            text = summary(revision, outlets.get(revision.match_id, "An outlet"))
            drafts.append(
                EventDraft(
                    type=EventType.ARTICLE_REVISED,
                    claim_id=claim.id,
                    dedupe_key=dedupe_key(revision),
                    summary=text if folded == 1 else f"{text} ({folded} revisions since the last alert)",
                    details=_details(revision, at, folded=folded),
                    match_ids=(revision.match_id,),
                    created_at=now,
                    backfill=fresh_window_s > 0 and (now - at).total_seconds() > fresh_window_s,
                )
            )
    drafts.sort(key=lambda d: (d.details["trigger_at"], d.dedupe_key))
    return drafts, due


def _listed_changes(event: Event) -> list[str]:
    listed = event.details.get("changes") if isinstance(event.details, dict) else None
    return [change for change in listed if isinstance(change, str)] if isinstance(listed, list) else []


def _announcements(
    story: list[MatchRevision],
    announced: dict[str, datetime],
    told: dict[str, frozenset[str]],
    now: datetime,
    cooldown_s: int,
    versions: Mapping[int, Sequence[ArticleVersion]],
) -> tuple[list[tuple[datetime, MatchRevision, int]], datetime | None]:
    """What to announce of one story's revisions (in the order seen): (trigger time, the revision, folded
    from the last announced version to the newest, how many contents it covers); and when what is held
    back is to be announced (None: nothing held). ``announced``: dedupe key → trigger time of what was
    announced, updated here; a content announced before restarts the cooldown. ``told``: dedupe key → the
    changes that announcement listed, updated here."""
    cooldown = timedelta(seconds=cooldown_s)
    out: list[tuple[datetime, MatchRevision, int]] = []
    last: datetime | None = None
    # When each kind of urgent change (URGENT_KINDS) was last announced.
    last_urgent: dict[frozenset[str], datetime] = {}
    held: list[MatchRevision] = []

    def note(key: str, at: datetime) -> None:
        for kind in URGENT_KINDS:
            if kind & told.get(key, frozenset()):
                last_urgent[kind] = at

    def announce(at: datetime) -> None:
        nonlocal last, held
        fold, held = held, []
        covered: set[str] = set()  # contents told by this announcement: a copy at one of them adds nothing
        for revisions in _by_match(fold):
            revision = _folded(revisions, versions)
            if revision.content_hash in covered or not _loud(revision.changes):
                continue  # back where the last announcement left it, or doubt alone: nothing to say
            covered.update(r.content_hash for r in revisions)
            key = dedupe_key(revision)
            announced[key] = last = at
            told[key] = frozenset(revision.changes)
            note(key, at)
            out.append((at, revision, len({r.content_hash for r in revisions})))

    def urgent(revision: MatchRevision, seen: datetime) -> bool:
        changes = set(revision.changes)
        return any(
            kind & changes and (kind not in last_urgent or seen - last_urgent[kind] >= cooldown)
            for kind in URGENT_KINDS
        )

    for revision in story:
        seen = as_utc(revision.revised_at)
        key = dedupe_key(revision)
        stored = announced.get(key)
        if stored is not None:  # announced before (or a copy of what was): the cooldown counts from then
            last, held = stored, []
            note(key, stored)
            continue
        held.append(revision)
        if not _loud(revision.changes):
            continue  # kept for the next announcement, which tells it with what else changed
        if urgent(revision, seen) or last is None or seen - last >= cooldown:
            announce(seen)
    pending = any(_loud(r.changes) for r in held)
    if pending and last is not None and last + cooldown <= now:
        announce(last + cooldown)  # nothing came after the cooldown: announce what it held back
        pending = any(_loud(r.changes) for r in held)
    return out, (last + cooldown if pending and last is not None else None)


def _by_match(fold: list[MatchRevision]) -> list[list[MatchRevision]]:
    """``fold``'s revisions by match (each copy of the story), in the order seen; the copy revised last comes
    first, so that where copies reached the same content, the announcement is that copy's."""
    by_match: dict[int, list[MatchRevision]] = {}
    for revision in reversed(fold):
        by_match.setdefault(revision.match_id, []).append(revision)
    return [list(reversed(revisions)) for revisions in by_match.values()]


def _folded(fold: list[MatchRevision], versions: Mapping[int, Sequence[ArticleVersion]]) -> MatchRevision:
    """One revision from the first of ``fold`` (of the newest's match) to the newest."""
    newest = fold[-1]
    if len(fold) == 1:
        return newest
    first = next(r for r in fold if r.match_id == newest.match_id)
    by_version = {v.version: v for v in versions.get(newest.article_id, ())}
    before, after = by_version.get(first.previous_version), by_version.get(newest.version)
    if before is not None and after is not None:
        diff = version_diff(before, after)
    else:  # versions not at hand: the headline's whole change, the newest revision's text diff
        diff = {
            "title": word_diff(first.before["title"], newest.after["title"]),
            "text": newest.diff.get("text", []),
        }
    was_unmatched = not first.before.get("matched", True)
    # Out of the claim before the fold and out of it after: nothing changed for the claim, whatever between.
    still_out = was_unmatched and not newest.after.get("matched", True)
    changes = () if still_out else _changes(first.before, newest.after, was_unmatched=was_unmatched)
    if (
        changes
        and SKEPTICISM not in changes
        and STANCE not in changes
        and any(SKEPTICISM in r.changes for r in fold)
        and _shown(first.before) != _shown(newest.after)
    ):
        # A revision of the fold moved the doubt by enough (or across the claim's threshold) and it has not
        # moved back: the net move is told, though it may be smaller than the step.
        changes = (*changes, SKEPTICISM)
    return replace(
        newest, previous_version=first.previous_version, changes=changes, before=first.before, diff=diff
    )


def summary(revision: MatchRevision, outlet: str) -> str:
    """E.g. "Revised: Wire changed its headline and the sentences on the claim (stance supports → neutral)"."""
    changes = set(revision.changes)
    if UNMATCHED in changes:
        return f"Revised: {outlet} changed its article, which no longer matches the claim"
    actions = []
    if HEADLINE in changes:
        actions.append("its headline")
    if EVIDENCE in changes:
        actions.append("the sentences on the claim")
    text = (
        f"Revised: {outlet} changed {' and '.join(actions)}"
        if actions
        else f"Revised: {outlet} revised its article"
    )
    if REMATCHED in changes:
        text += ", which matches the claim again"
    if STANCE in changes:
        text += f" (stance {revision.before['stance']} → {revision.after['stance']})"
    elif SKEPTICISM in changes:
        old, new = _shown(revision.before), _shown(revision.after)
        if old is not None and new is not None:
            text += f" (skepticism {old} → {new})"
    return text


def _details(revision: MatchRevision, at: datetime, *, folded: int = 1) -> dict[str, Any]:
    return {
        "trigger_at": _iso(at),
        "changes": list(revision.changes),
        "version": revision.version,
        "previous_version": revision.previous_version,
        "revisions": folded,  # how many revisions this announces (more than 1 after a cooldown)
        "updated_at": _iso(revision.updated_at) if revision.updated_at else None,
        "revised_at": _iso(revision.revised_at),
        "match_id": revision.match_id,
        "article_id": revision.article_id,
        "story_id": revision.story_id,
        "before": revision.before,
        "after": revision.after,
        "diff": revision.diff,
    }


def event_time(event: Event) -> datetime:
    """When a stored event was triggered (``details["trigger_at"]``: the publication or revision that raised it),
    else when it was created; where it sits on a claim's timeline."""
    raw = event.details.get("trigger_at") if isinstance(event.details, dict) else None
    if isinstance(raw, str):
        try:
            return as_utc(datetime.fromisoformat(raw))
        except ValueError:
            pass
    return as_utc(event.created_at)


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")
