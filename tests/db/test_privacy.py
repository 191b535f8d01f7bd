"""PrivacyRepo on SQLite and PostgreSQL: expired rows, folding into totals, trimming posts,
forgetting usernames in the audit log, and the counts /mydata shows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEntry, Broadcast, Delivery, Post
from bot.db.repos import AuditRepo, PostRepo, PrivacyRepo
from bot.domain.search import query_terms, search_text
from bot.domain.types import ParsedEntry
from tests.db.privacy_seed import figures, is_old, seed, totals

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


async def test_expired_deliveries_are_old_and_not_pending_oldest_first(
    sessionmaker: Sessions,
) -> None:
    """Only rows created before the cut-off and no longer pending, by id, up to the limit."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, NOW)
    async with sessionmaker.begin() as session:
        repo = PrivacyRepo(session)
        every = await repo.expired_deliveries(seeded.cutoff, 100)
        first = await repo.expired_deliveries(seeded.cutoff, 4)
        expected = list(
            (
                await session.execute(
                    select(Delivery.id).where(is_old(seeded.cutoff)).order_by(Delivery.id)
                )
            ).scalars()
        )
    assert (len(every), every, first) == (13, expected, expected[:4])


async def test_fold_deliveries_adds_their_figures_to_totals_and_deletes_them(
    sessionmaker: Sessions,
) -> None:
    """Totals equal what delivery_figures gave for the folded rows; only those rows go."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, NOW)
    async with sessionmaker() as session:
        before = await figures(session, is_old(seeded.cutoff))
        kept_before = await figures(session, ~is_old(seeded.cutoff))
    async with sessionmaker.begin() as session:
        repo = PrivacyRepo(session)
        deleted = await repo.fold_deliveries(await repo.expired_deliveries(seeded.cutoff, 100))
    async with sessionmaker() as session:
        after = await totals(session)
        left_old = await figures(session, is_old(seeded.cutoff))
        kept_after = await figures(session, ~is_old(seeded.cutoff))
    assert (deleted, after, left_old, kept_after) == (13, before, {}, kept_before)
    # The fixture covers what matters: both kinds, two topics, clicks, actions, each status.
    assert after[("post", seeded.old_post, seeded.topics[0])] == {
        "targeted": 3,
        "sent": 2,
        "failed": 1,
        "clicks": 2,
        "click_count": 4,
        "actions": 1,
    }


async def test_fold_adds_to_existing_totals(sessionmaker: Sessions) -> None:
    """Folding in two steps gives the same totals as folding at once (counters add up)."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, NOW)
    async with sessionmaker() as session:
        before = await figures(session, is_old(seeded.cutoff))
    for _ in range(2):
        async with sessionmaker.begin() as session:
            repo = PrivacyRepo(session)
            await repo.fold_deliveries(await repo.expired_deliveries(seeded.cutoff, 7))
    async with sessionmaker() as session:
        assert await totals(session) == before


async def test_chat_deliveries_are_every_row_of_the_chat(sessionmaker: Sessions) -> None:
    """Old, recent and pending rows of one chat, none of another."""
    async with sessionmaker.begin() as session:
        await seed(session, NOW)
    async with sessionmaker.begin() as session:
        ids = await PrivacyRepo(session).chat_deliveries(102)
        expected = list(
            (
                await session.execute(
                    select(Delivery.id).where(Delivery.chat_id == 102).order_by(Delivery.id)
                )
            ).scalars()
        )
    assert (len(ids), ids) == (4, expected)


async def test_expired_posts_leave_recent_pending_and_pushed_posts(sessionmaker: Sessions) -> None:
    """Old posts are trimmed to title and link; a post a pending delivery or a scheduled
    /push will render is left, and so is a recent one; a trimmed post is not listed again."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, NOW)
    async with sessionmaker.begin() as session:
        repo = PrivacyRepo(session)
        expired = await repo.expired_posts(seeded.cutoff, 100)
        trimmed = await repo.trim_posts(expired)
    async with sessionmaker.begin() as session:
        again = await PrivacyRepo(session).expired_posts(seeded.cutoff, 100)
        posts = {p.id: p for p in (await session.execute(select(Post))).scalars()}
    old = posts[seeded.old_post]
    assert (expired, trimmed, again) == ([seeded.old_post], 1, [])
    assert (old.title, old.url, old.summary, old.author, old.image_url, old.categories) == (
        "Title old",
        "https://example.org/old",
        "",
        None,
        None,
        [],
    )
    for kept in (seeded.pending_post, seeded.recent_post, seeded.pushed_post):
        assert (posts[kept].summary, posts[kept].categories) != ("", [])


async def test_trimmed_posts_are_found_by_their_title_only(sessionmaker: Sessions) -> None:
    """Trimming recomputes the search words from the title: the old summary's words no longer
    find the post (FTS5 triggers on SQLite, the tsvector index on PostgreSQL); the title's
    still do, and an untrimmed post keeps both."""
    entries = [
        ParsedEntry(identity=i, url=f"https://example.org/{i}", title=t, summary=s)
        for i, t, s in (
            ("old", "Écrire au ministre", "Détenue à Téhéran depuis 2024"),
            ("new", "Écrire encore", "Détenue, toujours"),
        )
    ]
    async with sessionmaker.begin() as session:
        ids = await PostRepo(session).insert_new(None, entries, NOW, announced=True)  # type: ignore[arg-type]

    async def found(query: str) -> list[str]:
        terms = query_terms(query)
        assert terms is not None
        async with sessionmaker() as session:
            return [p.identity for p in await PostRepo(session).search(terms, limit=10)]

    before = (await found("detenue"), await found("teheran"), await found("ecrire"))
    async with sessionmaker.begin() as session:
        trimmed = await PrivacyRepo(session).trim_posts([ids["old"], 10**9])
    after = (await found("detenue"), await found("teheran"), await found("ecrire ministre"))
    async with sessionmaker() as session:
        old = await session.get(Post, ids["old"])
    assert old is not None
    assert before == (["new", "old"], ["old"], ["new", "old"])
    assert (trimmed, after) == (1, (["new"], [], ["old"]))
    assert (old.summary, old.search_text) == ("", search_text("Écrire au ministre", ""))


async def test_forget_audit_names_keeps_ids_without_usernames(sessionmaker: Sessions) -> None:
    """Entries by the user and about the user (role grants) keep the id, lose the @name;
    other people's entries are untouched."""
    async with sessionmaker.begin() as session:
        audit = AuditRepo(session)
        await audit.record(NOW, "@alice (101)", "broadcast.send", "#1", actor_id=101)
        await audit.record(NOW, "@boss (9)", "role.grant", "@alice (101)", actor_id=9)
        await audit.record(NOW, "@boss (9)", "role.grant", "@carol (1010)", actor_id=9)
        await audit.record(NOW, "cli", "feed.add", "https://example.org/feed")
    async with sessionmaker.begin() as session:
        changed = await PrivacyRepo(session).forget_audit_names(101)
    async with sessionmaker() as session:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        shown = [(r.actor, r.target) for r in rows]
    assert (changed, shown) == (
        2,
        [
            ("101", "#1"),
            ("@boss (9)", "101"),
            ("@boss (9)", "@carol (1010)"),
            ("cli", "https://example.org/feed"),
        ],
    )


async def test_chat_delivery_marks_and_audit_count(sessionmaker: Sessions) -> None:
    """A chat's stored rows, those with a click and those with an action; audit entries."""
    async with sessionmaker.begin() as session:
        await seed(session, NOW)
        await AuditRepo(session).record(NOW, "@alice (101)", "broadcast.send", actor_id=101)
    async with sessionmaker() as session:
        repo = PrivacyRepo(session)
        marks = (await repo.chat_delivery_marks(101), await repo.chat_delivery_marks(999))
        audit = (await repo.audit_count_by(101), await repo.audit_count_by(102))
    # 101: old post (3 clicks, acted), pending post (1 click), old broadcast (2 clicks, acted),
    # recent post (1 click, acted), recent broadcast (2 clicks).
    assert (marks, audit) == (((5, 5, 3), (0, 0, 0)), (1, 0))


async def test_a_post_whose_push_still_has_pending_deliveries_is_kept(
    sessionmaker: Sessions,
) -> None:
    """A /push broadcast marked done with one delivery still pending keeps its post whole;
    once that delivery is sent, the post is trimmed like any other."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, NOW)
        push = Broadcast(
            created_by=101, status="done", created_at=NOW, post_id=seeded.old_post, total=1
        )
        session.add(push)
        await session.flush()
        waiting = Delivery(
            chat_id=103,
            broadcast_id=push.id,
            status="pending",
            next_attempt_at=NOW,
            created_at=NOW,
        )
        session.add(waiting)
    async with sessionmaker.begin() as session:
        kept = await PrivacyRepo(session).expired_posts(seeded.cutoff, 100)
        delivery = await session.get(Delivery, waiting.id)
        assert delivery is not None
        delivery.status = "sent"
    async with sessionmaker.begin() as session:
        trimmed = await PrivacyRepo(session).expired_posts(seeded.cutoff, 100)
    assert (kept, trimmed) == ([], [seeded.old_post])
