"""TopicRepo: topics and their matching rules (the rule edits of admins included)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Topic, TopicRule
from bot.db.repos._sql import _insert
from bot.domain.matching import normalise_key
from bot.domain.types import RuleKind, TopicRules, TopicSpec


class TopicRepo:
    """Topics and their matching rules."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, *, include_archived: bool = False) -> Sequence[Topic]:
        """Topics in name order."""
        stmt = select(Topic).order_by(Topic.name_key)
        if not include_archived:
            stmt = stmt.where(Topic.archived.is_(False))
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def by_key(self, key: str) -> Topic | None:
        """A topic whose slug or name (in either language) matches forgivingly.

        Case, accents, spaces, hyphens and a leading '#' are ignored: "halte a la torture"
        finds « Halte à la torture ».
        """
        normal = normalise_key(key)
        if not normal:
            return None
        result = await self.session.execute(
            select(Topic)
            .where(
                or_(
                    Topic.slug_key == normal,
                    Topic.name_key == normal,
                    Topic.name_fr_key == normal,
                )
            )
            .order_by(Topic.id)
        )
        return result.scalars().first()

    async def by_slug(self, slug: str) -> Topic | None:
        """A topic by its slug (forgiving case and punctuation, not its name)."""
        result = await self.session.execute(
            select(Topic).where(Topic.slug_key == normalise_key(slug))
        )
        return result.scalar_one_or_none()

    async def add(self, spec: TopicSpec, now: datetime) -> Topic:
        """Create a topic with its rules."""
        topic = Topic(
            slug=spec.slug,
            slug_key=normalise_key(spec.slug),
            name=spec.name,
            name_key=normalise_key(spec.name),
            description=spec.description,
            emoji=spec.emoji,
            action_label=spec.action or None,
            urgent=spec.urgent,
            preview=spec.preview,
            created_at=now,
        )
        self.set_french(topic, spec.name_fr, spec.description_fr)
        self.session.add(topic)
        await self.session.flush()
        await self.replace_rules(topic.id, spec, new=True)
        return topic

    @staticmethod
    def set_french(topic: Topic, name: str | None, description: str | None) -> None:
        """Set a topic's French name (with its look-up key) and description; "" clears."""
        topic.name_fr = name or None
        topic.name_fr_key = normalise_key(name) if name else None
        topic.description_fr = description or None

    async def replace_rules(self, topic_id: int, spec: TopicSpec, *, new: bool = False) -> None:
        """Set a topic's rules to exactly those of `spec` (`new`: it has none yet)."""
        if not new:
            await self.session.execute(delete(TopicRule).where(TopicRule.topic_id == topic_id))
        seen: set[tuple[str, str]] = set()
        rows: list[dict[str, object]] = []
        for kind, values in (
            (RuleKind.CATEGORY, spec.categories),
            (RuleKind.KEYWORD, spec.keywords),
            (RuleKind.EXCLUDE, spec.excludes),
            (RuleKind.COUNTRY, spec.countries),
            (RuleKind.TYPE, spec.types),
        ):
            for value in values:
                key = (kind.value, value.casefold())
                if key in seen:
                    continue
                seen.add(key)
                rows.append(
                    {"topic_id": topic_id, "kind": kind.value, "value": value, "value_key": key[1]}
                )
        if rows:  # one executemany, not one INSERT per rule through the unit of work
            await self.session.execute(insert(TopicRule), rows)

    async def rules(self, topic_ids: Sequence[int] | None = None) -> dict[int, list[TopicRule]]:
        """Rules per topic id."""
        stmt = select(TopicRule).order_by(TopicRule.topic_id, TopicRule.id)
        if topic_ids is not None:
            stmt = stmt.where(TopicRule.topic_id.in_(topic_ids))
        result = await self.session.execute(stmt)
        grouped: dict[int, list[TopicRule]] = {}
        for rule in result.scalars():
            grouped.setdefault(rule.topic_id, []).append(rule)
        return grouped

    async def matching_rules(self) -> list[TopicRules]:
        """The rules of every active topic, ready for the matcher."""
        topics = await self.all()
        grouped = await self.rules([t.id for t in topics])
        compiled = []
        for topic in topics:
            by_kind: dict[str, list[str]] = {k.value: [] for k in RuleKind}
            for rule in grouped.get(topic.id, []):
                by_kind[rule.kind].append(rule.value)
            compiled.append(
                TopicRules(
                    topic_id=topic.id,
                    slug=topic.slug,
                    categories=tuple(by_kind[RuleKind.CATEGORY]),
                    keywords=tuple(by_kind[RuleKind.KEYWORD]),
                    excludes=tuple(by_kind[RuleKind.EXCLUDE]),
                    countries=tuple(by_kind[RuleKind.COUNTRY]),
                    types=tuple(by_kind[RuleKind.TYPE]),
                )
            )
        return compiled

    async def urgent_ids(self) -> frozenset[int]:
        """Ids of the active topics marked urgent (their posts go at priority URGENT)."""
        result = await self.session.execute(
            select(Topic.id).where(Topic.urgent.is_(True), Topic.archived.is_(False))
        )
        return frozenset(int(i) for i in result.scalars())

    async def count(self) -> int:
        """How many topics exist, archived included."""
        result = await self.session.execute(select(func.count()).select_from(Topic))
        return int(result.scalar_one())

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def get(self, topic_id: int) -> Topic | None:
        """A topic by id, archived or not."""
        return await self.session.get(Topic, topic_id)

    # -- rule edits by admins (bot.services.topics) -------------------------------------------

    async def add_rule(self, topic_id: int, kind: str, value: str) -> bool:
        """Add one rule; False if the topic has it already (case-insensitively)."""
        stmt = (
            _insert(self.session, TopicRule)
            .values(topic_id=topic_id, kind=kind, value=value, value_key=value.casefold())
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def remove_rule(self, topic_id: int, kind: str, value: str) -> bool:
        """Remove one rule (matched case-insensitively); False if there was none."""
        result = await self.session.execute(
            delete(TopicRule).where(
                TopicRule.topic_id == topic_id,
                TopicRule.kind == kind,
                TopicRule.value_key == value.casefold(),
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def rule_count(self, topic_id: int) -> int:
        """How many rules a topic has."""
        result = await self.session.execute(
            select(func.count()).select_from(TopicRule).where(TopicRule.topic_id == topic_id)
        )
        return int(result.scalar_one())

    async def rule_counts(self) -> dict[int, int]:
        """How many rules each topic has (topics without rules are left out)."""
        result = await self.session.execute(
            select(TopicRule.topic_id, func.count()).group_by(TopicRule.topic_id)
        )
        return {int(topic_id): int(n) for topic_id, n in result.all()}
