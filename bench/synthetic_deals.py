"""Deterministic synthetic ``deals``: the same seed and sizes always give the same bytes.

A :class:`DealHistory` is a CRM's deals numbered in the order they were created: deals
``0..size-1`` over five and a half years, later ones after that at the same pace. Deal ``i``
is always the same row, however the rows are asked for: rows are made in fixed blocks of
:data:`BLOCK` deals, each from its own ``random.Random`` seeded with the history's seed and
the block number.

The rows look like a real export: numeric ids that grow with time, companies drawn from a
pool (so a company's attributes agree across its deals), descriptions that sometimes hold
commas, quotes or a line break, datetimes in a few ISO 8601 spellings, statuses that follow
the ``closedDatetime`` rule, empty optional cells, ``;``-separated technologies.

:func:`increment_rows` makes a later export: half of it updates recent deals of the
collection (newer ``lastUpdateDatetime``, some open deals closed), half is new deals.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

from ingestion.schemas.deals import Deal

BLOCK = 1_000
COLUMNS: tuple[str, ...] = tuple(Deal.model_fields)
HISTORY_START = datetime(2020, 1, 1, tzinfo=UTC)
HISTORY_END = datetime(2025, 7, 1, tzinfo=UTC)
# Updates are exported from this day on: after every version in the history (a deal's last
# update is at most 120 days after its creation, and its last sync 3 days after that).
UPDATES_START = HISTORY_END + timedelta(days=130)
_FIRST_ID = 10_000_000_000
_ID_STEP = 37
_DAY = 86_400

_PRODUCTS = (
    "annual supply", "software license", "support renewal", "consulting services", "IT support",
    "hardware procurement", "cloud migration", "data platform", "security audit", "training package",
    "maintenance contract", "pilot project", "expansion", "enterprise plan", "onboarding",
)  # fmt: skip
_DESCRIPTIONS = (
    "Partnership agreement", "Subscription renewal", "Strategic partnership", "Long-term contract",
    "Procurement agreement", "Upsell from the existing account", "Inbound lead from the website",
    "Referral from a partner", "Replacement of a competitor's product", "Multi-year framework",
)  # fmt: skip
_DESCRIPTION_EXTRAS = (
    ", pending legal review",
    ", budget approved for Q3",
    ', customer asked for "premium" support',
    ', see the "Pricing v2" sheet, option B',
    "\nCall notes: follow up with procurement next week",
    ", 3 sites, 2 phases",
)
_OPEN_STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation", "Final Review")
_SYLLABLES = ("nor", "dal", "vik", "tech", "sol", "ar", "lum", "ber", "gen", "tor", "mar", "quin", "ex", "ra")
_COMPANY_SUFFIXES = (
    "Logistics", "Systems", "Group", "Partners", "Labs", "Industries", "Holding", "AS", "GmbH",
)  # fmt: skip
_INDUSTRIES = (
    "Technology", "Finance", "Consulting", "IT Services", "Manufacturing", "Retail", "Healthcare",
    "Energy", "Education", "Media", "Transport", "Real Estate",
)  # fmt: skip
_COMPANY_TYPES = ("private", "public", "nonprofit")
_TECHNOLOGIES = (
    "AI", "Machine Learning", "Web", "Cloud", "Big Data", "Analytics", "DevOps", "Security", "Robotics",
    "Automation", "IoT", "ERP", "CRM", "Mobile", "Blockchain",
)  # fmt: skip
_PLACES = (
    ("Oslo", "Norway"), ("Bergen", "Norway"), ("New York", "USA"), ("Austin", "USA"), ("London", "UK"),
    ("Berlin", "Germany"), ("Munich", "Germany"), ("Tokyo", "Japan"), ("Paris", "France"),
    ("Stockholm", "Sweden"), ("Madrid", "Spain"), ("Toronto", "Canada"), ("São Paulo", "Brazil"),
)  # fmt: skip
_EMAIL_DOMAIN_TYPES = ("company", "company", "company", "free_provider", "education")
_COMPANY_POOL = 5_000


def deal_id(index: int) -> str:
    """The id of deal ``index``: numeric like a CRM's, growing with creation, never contiguous."""
    return str(_FIRST_ID + index * _ID_STEP + (index * 2_654_435_761) % _ID_STEP)


@dataclass(frozen=True)
class _Company:
    id: str
    name: str
    employees: str
    revenue: str
    industry: str
    type: str
    description: str
    technologies: str
    city: str
    country: str
    is_customer: str


def _timestamp(seconds: float, style: float) -> str:
    """An ISO 8601 date-time; ``style`` (uniform 0..1) picks the spelling, as mixed exports have."""
    instant = datetime.fromtimestamp(seconds, UTC)
    if style < 0.85:
        return instant.strftime("%Y-%m-%dT%H:%M:%S")
    if style < 0.95:
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class DealHistory:
    """``size`` deals created between :data:`HISTORY_START` and :data:`HISTORY_END`, from ``seed``.

    Deals numbered ``size`` and above are created after :data:`HISTORY_END`, at the same pace.
    """

    seed: int
    size: int

    @property
    def seconds_per_deal(self) -> float:
        return (HISTORY_END - HISTORY_START).total_seconds() / self.size

    def deals(self, start: int, stop: int) -> Iterator[dict[str, str]]:
        """Deals ``start..stop-1`` as first exported, in creation order."""
        if not 0 <= start <= stop:
            raise ValueError(f"no deals {start}..{stop}")
        for block in range(start // BLOCK, (stop + BLOCK - 1) // BLOCK):
            first = block * BLOCK
            rows = self._block(block)
            yield from rows[max(start - first, 0) : stop - first]

    def updates(self, indexes: Iterable[int], round_number: int) -> list[dict[str, str]]:
        """Later versions of the given deals, exported ``round_number`` days after :data:`UPDATES_START`.

        Each keeps its id, name and creation time; it has a newer ``lastUpdateDatetime`` than
        any version before it, more activity, and an open deal may have been closed.
        """
        rng = random.Random(f"updates:{self.seed}:{round_number}")
        by_block: dict[int, list[int]] = {}
        for index in indexes:
            by_block.setdefault(index // BLOCK, []).append(index)
        updated = []
        export_time = UPDATES_START.timestamp() + (round_number + 1) * _DAY
        for block, members in sorted(by_block.items()):
            rows = self._block(block)
            for index in members:
                updated.append(_update(rows[index - block * BLOCK], rng, export_time))
        return updated

    @cached_property
    def _companies(self) -> tuple[_Company, ...]:
        rng = random.Random(f"companies:{self.seed}")
        companies = []
        for number in range(_COMPANY_POOL):
            name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
            city, country = rng.choice(_PLACES)
            industry = rng.choice(_INDUSTRIES)
            description = f"{industry} company from {city}"
            if rng.random() < 0.3:
                description += f", {rng.randint(2, 40)} offices, founded {rng.randint(1950, 2022)}"
            companies.append(
                _Company(
                    id=str(700_000 + number),
                    name=f"{name} {rng.choice(_COMPANY_SUFFIXES)}",
                    employees=str(int(rng.lognormvariate(4.5, 1.5)) + 1),
                    revenue=f"{rng.lognormvariate(15, 1.8):.2f}",
                    industry=industry,
                    type=rng.choice(_COMPANY_TYPES),
                    description=description,
                    technologies=";".join(rng.sample(_TECHNOLOGIES, rng.randint(0, 4))),
                    city=city,
                    country=country,
                    is_customer=rng.choice(("true", "false")),
                )
            )
        return tuple(companies)

    def _block(self, block: int) -> list[dict[str, str]]:
        rng = random.Random(f"deals:{self.seed}:{block}")
        first = block * BLOCK
        return [self._deal(index, rng) for index in range(first, first + BLOCK)]

    def _deal(self, index: int, rng: random.Random) -> dict[str, str]:
        step = self.seconds_per_deal
        random_ = rng.random
        style = random_()
        created = HISTORY_START.timestamp() + (index + random_()) * step
        added = created + random_() * 2 * _DAY
        roll = random_()
        status = "open" if roll < 0.45 else "closed_won" if roll < 0.75 else "closed_lost"
        closed = created + (1 + random_() * 119) * _DAY if status != "open" else None
        updated = max(closed or created, created + random_() * 30 * _DAY)
        stage_start = created + (updated - created) * random_()
        interaction = created + (updated - created) * random_()
        synced = updated + random_() * 3 * _DAY
        company = self._companies[int(random_() * _COMPANY_POOL)]
        description = rng.choice(_DESCRIPTIONS) if random_() < 0.85 else ""
        if description and random_() < 0.35:
            description += rng.choice(_DESCRIPTION_EXTRAS)
        sent = int(random_() * 40)
        return {
            "id": deal_id(index),
            "name": f"{company.name} - {rng.choice(_PRODUCTS)}",
            "description": description,
            "creationDatetime": _timestamp(created, style),
            "addDatetime": _timestamp(added, style) if random_() < 0.9 else "",
            "closedDatetime": _timestamp(closed, style) if closed is not None else "",
            "expectedClosureDatetime": (
                _timestamp(created + (14 + random_() * 166) * _DAY, style) if random_() < 0.9 else ""
            ),
            "status": status,
            "stage": (rng.choice(_OPEN_STAGES) if status == "open" else status.replace("_", " ").title()),
            "currentStageStartDatetime": _timestamp(stage_start, style),
            "value": f"{rng.lognormvariate(9, 1.2):.2f}",
            "numberOfSentEmails": str(sent),
            "numberOfEmailOpens": str(int(sent * random_() * 3)),
            "numberOfReceivedEmails": str(int(sent * random_())),
            "numberOfMeetings": str(int(random_() * 12)) if random_() < 0.95 else "",
            "lastInteractionDatetime": _timestamp(interaction, style) if random_() < 0.95 else "",
            "accountId": f"acc-{int(random_() * 90_000) + 10_000}",
            "accountAverageResponseTime": f"{random_() * 20_000:.1f}" if random_() < 0.9 else "",
            "companyId": company.id,
            "companyNumberOfEmployees": company.employees,
            "companyRevenue": company.revenue,
            "companyIndustry": company.industry,
            "companyType": company.type,
            "companyDescription": company.description,
            "companyTechnologies": company.technologies,
            "companyCity": company.city,
            "companyCountry": company.country,
            "companyIsCustomer": company.is_customer,
            "contactId": str(int(random_() * 9_000_000) + 1_000_000),
            "contactNumberOfConversions": str(int(random_() * 15)),
            "contactEmailDomainType": rng.choice(_EMAIL_DOMAIN_TYPES),
            "contactEmailOptedOut": "true" if random_() < 0.1 else "false",
            "contactAverageResponseTime": f"{random_() * 50_000:.1f}" if random_() < 0.8 else "",
            "lastUpdateDatetime": _timestamp(updated, style),
            "lastSyncedAt": _timestamp(synced, style),
        }


def _update(row: dict[str, str], rng: random.Random, export_time: float) -> dict[str, str]:
    """A later version of ``row``, last updated within the day before ``export_time``."""
    style = rng.random()
    updated = export_time - rng.random() * _DAY
    new = dict(row)
    if row["status"] == "open" and rng.random() < 0.4:
        new["status"] = rng.choice(("closed_won", "closed_lost"))
        new["closedDatetime"] = _timestamp(updated, style)
        new["stage"] = new["status"].replace("_", " ").title()
        new["currentStageStartDatetime"] = _timestamp(updated, style)
    elif row["status"] == "open":
        new["stage"] = rng.choice(_OPEN_STAGES)
        new["currentStageStartDatetime"] = _timestamp(updated - rng.random() * _DAY, style)
    more_emails = int(rng.random() * 6)
    new["numberOfSentEmails"] = str(int(row["numberOfSentEmails"]) + more_emails)
    new["numberOfEmailOpens"] = str(int(row["numberOfEmailOpens"]) + more_emails * 2)
    new["value"] = f"{float(row['value']) * (0.8 + rng.random() * 0.4):.2f}"
    new["lastInteractionDatetime"] = _timestamp(updated, style)
    new["lastUpdateDatetime"] = _timestamp(updated, style)
    new["lastSyncedAt"] = _timestamp(updated + rng.random() * 3600, style)
    return new


def recent_window(collection_rows: int, updates: int) -> range:
    """The deals an increment updates from: the collection's most recent 5% (at least 4x the updates)."""
    size = min(collection_rows, max(collection_rows // 20, 4 * updates))
    return range(collection_rows - size, collection_rows)


def increment_rows(
    history: DealHistory, *, collection_rows: int, first_new: int, size: int, round_number: int
) -> list[dict[str, str]]:
    """A later export of ``size`` rows: ``size // 2`` updates of recent deals of the collection
    (deals ``0..collection_rows-1``), the rest new deals numbered from ``first_new``, shuffled."""
    updates = size // 2
    rng = random.Random(f"increment:{history.seed}:{round_number}")
    updated = rng.sample(recent_window(collection_rows, updates), updates)
    rows = history.updates(sorted(updated), round_number) + list(
        history.deals(first_new, first_new + size - updates)
    )
    rng.shuffle(rows)
    return rows


def csv_bytes(rows: Iterable[dict[str, str]]) -> bytes:
    """Rows as a CSV file with a header, quoted only where needed, as spreadsheet exports are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([row[column] for column in COLUMNS] for row in rows)
    return buffer.getvalue().encode("utf-8")


def write_csv(path: Path, rows: Iterable[dict[str, str]]) -> int:
    """Write rows as CSV to ``path`` (atomically, so an interrupted run leaves no half file); its size."""
    temporary = path.with_name(path.name + ".partial")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([row[column] for column in COLUMNS] for row in rows)
    temporary.replace(path)
    return path.stat().st_size
