"""PostRepo: posts, their dedup and their topics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Integer, column, func, literal_column, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.db.models import Post, PostTopic
from bot.db.repos._sql import _chunks, _dialect, _insert
from bot.domain.ingest_policy import url_hash
from bot.domain.languages import TwinCandidate
from bot.domain.search import fts5_match, search_text, tsquery
from bot.domain.types import Facet, ParsedEntry

# The text search configuration of PostgreSQL's index (migration 0005), as a literal: a
# bound parameter would not match the index expression and the index would go unused.
_SIMPLE: ColumnElement[str] = literal_column("'simple'")
# The advisory lock key of twin pairing (PostgreSQL): any constant no other lock uses.
TWIN_PAIRING_LOCK = 0x7477696E  # "twin"


def facets_json(facets: Sequence[Facet]) -> list[list[str | None]] | None:
    """A post's facets as stored in `posts.facets`: [[kind, name, ident], ...]; None if none."""
    return [[f.kind, f.name, f.ident] for f in facets] or None


def facets_from_json(stored: object) -> tuple[Facet, ...]:
    """The facets of a stored `posts.facets` value; anything malformed is skipped."""
    if not isinstance(stored, list):
        return ()
    return tuple(
        Facet(row[0], row[1], row[2] if isinstance(row[2], str) else None)
        for row in stored
        if isinstance(row, list)
        and len(row) == 3
        and isinstance(row[0], str)
        and isinstance(row[1], str)
    )


class PostRepo:
    """Posts, their dedup and their topics."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, post_id: int) -> Post | None:
        """A post by id."""
        return await self.session.get(Post, post_id)

    async def existing_for_feed(self, feed_id: int, identities: Iterable[str]) -> dict[str, Post]:
        """Posts of this feed with one of these identities, keyed by identity."""
        keys = list(set(identities))
        found: dict[str, Post] = {}
        for chunk in _chunks(keys, 500):
            result = await self.session.execute(
                select(Post).where(Post.feed_id == feed_id, Post.identity.in_(chunk))
            )
            found.update((post.identity, post) for post in result.scalars())
        return found

    async def known_url_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Which of these canonical-URL hashes some post already has."""
        keys = list(set(hashes))
        known: set[str] = set()
        for chunk in _chunks(keys, 500):
            result = await self.session.execute(
                select(Post.url_hash).where(Post.url_hash.in_(chunk))
            )
            known.update(h for h in result.scalars() if h)
        return known

    async def insert_new(
        self,
        feed_id: int,
        entries: Sequence[ParsedEntry],
        now: datetime,
        *,
        announced: bool,
        language: str | None = None,
    ) -> dict[str, int]:
        """Insert posts, skipping any that another transaction stored meanwhile.

        `language` is the feed's ("en", "fr", "other" or None), kept on each post.

        Returns:
            The new post ids keyed by identity; an entry missing from it was a duplicate.
        """
        if not entries:
            return {}
        rows = [
            {
                "feed_id": feed_id,
                "identity": entry.identity,
                "url": entry.url,
                "url_hash": url_hash(entry.url),
                "title": entry.title,
                "summary": entry.summary,
                "search_text": search_text(entry.title, entry.summary),
                "author": entry.author,
                "image_url": entry.image_url,
                "categories": list(entry.categories),
                "facets": facets_json(entry.facets),
                "published_at": entry.published,
                "first_seen_at": now,
                "updated_at": now,
                "announced": announced,
                "language": language,
            }
            for entry in entries
        ]
        # executemany ("insertmanyvalues"): one cached compiled statement, batched by the
        # driver, instead of compiling a multi-row VALUES per feed (a third of a poll's CPU).
        stmt = (
            _insert(self.session, Post).on_conflict_do_nothing().returning(Post.id, Post.identity)
        )
        result = await self.session.execute(stmt, rows)
        return {identity: post_id for post_id, identity in result.all()}

    @staticmethod
    def apply_edit(post: Post, entry: ParsedEntry, now: datetime) -> bool:
        """Update a stored post from a newer version of its entry; True if anything changed."""
        changes: dict[str, object] = {
            "title": entry.title,
            "summary": entry.summary,
            "author": entry.author,
            "image_url": entry.image_url,
            "categories": list(entry.categories),
            "facets": facets_json(entry.facets),
        }
        if entry.published is not None:
            changes["published_at"] = entry.published
        changed = False
        if post.image_url != entry.image_url:
            post.image_refused = False  # a new image gets its own chance
        for field, value in changes.items():
            if getattr(post, field) != value:
                setattr(post, field, value)
                changed = True
        if changed:
            post.updated_at = now
            post.search_text = search_text(post.title, post.summary)
        return changed

    async def add_topics(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Record (post_id, topic_id) matches."""
        rows = [{"post_id": p, "topic_id": t} for p, t in pairs]
        if rows:  # executemany: one cached compiled statement
            await self.session.execute(
                _insert(self.session, PostTopic).on_conflict_do_nothing(), rows
            )

    async def lock_twin_pairing(self) -> None:
        """Serialise twin pairing with other transactions until this one ends.

        Two feeds polled at once (the English and French versions published together) would
        otherwise each miss the other's uncommitted post and hold both for the whole window.
        PostgreSQL: a transaction-scoped advisory lock, so the second waits for the first's
        commit and then sees its posts. SQLite: one statement, so that the transaction has
        begun (its BEGIN IMMEDIATE lets one writer in at a time).
        """
        if _dialect(self.session) == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(TWIN_PAIRING_LOCK)))
        else:
            await self.session.execute(select(literal_column("1")))

    async def twin_candidates(
        self, language: str, languages: Sequence[str], feed_id: int, since: datetime
    ) -> dict[int, TwinCandidate]:
        """Announced posts that could be the twin of a new post, with their topic ids.

        Posts of another feed in another of `languages` than `language`, first seen at or
        after `since`, with topics, that have no twin yet (neither one themselves nor the
        twin of one). Returns {post id: candidate}.
        """
        others = [lang for lang in languages if lang != language]
        if not others:
            return {}
        twinned = select(Post.twin_of).where(Post.twin_of.is_not(None)).scalar_subquery()
        result = await self.session.execute(
            select(Post.id, Post.published_at, Post.first_seen_at, PostTopic.topic_id)
            .join(PostTopic, PostTopic.post_id == Post.id)
            .where(
                Post.language.in_(others),
                Post.feed_id != feed_id,
                Post.first_seen_at >= since,
                Post.announced.is_(True),
                Post.twin_of.is_(None),
                Post.id.not_in(twinned),
            )
        )
        topics: dict[int, set[int]] = {}
        times: dict[int, tuple[datetime | None, datetime]] = {}
        for post_id, published, seen, topic_id in result.all():
            topics.setdefault(int(post_id), set()).add(int(topic_id))
            times[int(post_id)] = (published, seen)
        return {
            post_id: TwinCandidate(frozenset(ids), times[post_id][0], times[post_id][1])
            for post_id, ids in topics.items()
        }

    async def set_twin(self, post_id: int, twin_of: int) -> None:
        """Record that a post is the other language's version of `twin_of`."""
        await self.session.execute(update(Post).where(Post.id == post_id).values(twin_of=twin_of))

    async def mark_image_refused(self, post_id: int, image_url: str) -> None:
        """Telegram refused the post's image: later deliveries of it go as text.

        Only while the post still has that image (an edit may have brought another).
        """
        await self.session.execute(
            update(Post)
            .where(Post.id == post_id, Post.image_url == image_url)
            .values(image_refused=True)
            .execution_options(synchronize_session=False)
        )

    async def count(self) -> int:
        """How many posts are stored."""
        result = await self.session.execute(select(func.count()).select_from(Post))
        return int(result.scalar_one())

    async def topics_of(self, post_ids: Sequence[int]) -> dict[int, list[int]]:
        """Topic ids of each post."""
        found: dict[int, list[int]] = {pid: [] for pid in post_ids}
        for chunk in _chunks(list(post_ids), 500):
            result = await self.session.execute(
                select(PostTopic.post_id, PostTopic.topic_id)
                .where(PostTopic.post_id.in_(chunk))
                .order_by(PostTopic.post_id, PostTopic.topic_id)
            )
            for post_id, topic_id in result.all():
                found[post_id].append(topic_id)
        return found

    async def latest(
        self, *, topic_id: int | None = None, offset: int = 0, limit: int = 5
    ) -> Sequence[Post]:
        """Newest posts (by publication, else first seen), optionally of one topic."""
        stmt = select(Post)
        if topic_id is not None:
            stmt = stmt.join(PostTopic, PostTopic.post_id == Post.id).where(
                PostTopic.topic_id == topic_id
            )
        stmt = stmt.order_by(
            func.coalesce(Post.published_at, Post.first_seen_at).desc(), Post.id.desc()
        )
        result = await self.session.execute(stmt.offset(offset).limit(limit))
        return result.scalars().all()

    async def search(
        self, terms: tuple[str, ...], *, offset: int = 0, limit: int = 5
    ) -> Sequence[Post]:
        """Posts whose title and summary hold every term (the last also as a prefix).

        Newest first (by publication, else first seen), like `latest`.

        `terms` are folded words (`bot.domain.search.query_terms`); the same terms find the
        same posts on SQLite (FTS5 table `posts_fts`) and PostgreSQL (GIN index on
        `to_tsvector('simple', search_text)`), both from migration 0005.
        """
        if not terms:
            return []
        if _dialect(self.session) == "sqlite":
            matching = text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :match")
            matching = matching.bindparams(match=fts5_match(terms))
            condition = Post.id.in_(matching.columns(column("rowid", Integer)))
        else:
            condition = func.to_tsvector(_SIMPLE, Post.search_text).op("@@")(
                func.to_tsquery(_SIMPLE, tsquery(terms))
            )
        stmt = (
            select(Post)
            .where(condition)
            .order_by(func.coalesce(Post.published_at, Post.first_seen_at).desc(), Post.id.desc())
        )
        result = await self.session.execute(stmt.offset(offset).limit(limit))
        return result.scalars().all()

    async def by_url(self, canonical: str) -> Post | None:
        """The stored post with this canonical URL (by its url hash)."""
        result = await self.session.execute(
            select(Post).where(Post.url_hash == url_hash(canonical))
        )
        return result.scalar_one_or_none()
