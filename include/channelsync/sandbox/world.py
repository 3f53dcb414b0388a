"""The seeded world every emulator draws from, so the systems agree with each other.

The same customers exist in the distributors (Crayon, Pax8, TD SYNNEX Ion) and as companies in the
PSAs (some mapped, some not); TD SYNNEX's hardware catalog is what the PSAs' hand-made products
were copied from. Everything is a pure function of (scale, seed): the same pair gives the same world.

Catalog shapes that no public source documents (the TD SYNNEX category codes) are assumptions:
realistic, stable, and said to be so.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property


@dataclass(frozen=True)
class Scale:
    name: str
    products: int
    customers: int


SCALES = {
    "tiny": Scale("tiny", 60, 5),
    "small": Scale("small", 500, 20),
    "medium": Scale("medium", 20_000, 200),
    "large": Scale("large", 100_000, 1_000),
}

# TD SYNNEX flat-file category codes (assumption: the layout is not public) → readable names.
CATEGORIES: list[tuple[str, str]] = [
    ("NBK", "Notebooks"),
    ("DSK", "Desktops"),
    ("MON", "Monitors"),
    ("SRV", "Servers"),
    ("NSW", "Network Switches"),
    ("WLS", "Wireless Networking"),
    ("SSD", "Solid State Drives"),
    ("PRN", "Printers"),
    ("KBM", "Keyboards and Mice"),
    ("CBL", "Cables and Adapters"),
    ("UPS", "Power Protection"),
    ("DOC", "Docking Stations"),
]

# (manufacturer, categories it sells, MPN pattern: # = digit, @ = upper-case letter, % = a literal #,
#  price range USD)
MANUFACTURERS: list[tuple[str, tuple[str, ...], str, tuple[int, int]]] = [
    ("HP Inc.", ("NBK", "DSK", "MON", "PRN", "DOC"), "@#@##UT%ABA", (90, 2400)),
    ("Lenovo", ("NBK", "DSK", "MON", "DOC"), "##@@###@US", (120, 2600)),
    ("Dell Technologies", ("NBK", "DSK", "MON", "SRV", "DOC"), "DELL-@@##-####", (110, 6500)),
    ("Cisco Systems", ("NSW", "WLS"), "C####@-##@-#@-@", (300, 9000)),
    ("Ubiquiti", ("NSW", "WLS"), "U#-@@@-##", (80, 1500)),
    ("Samsung", ("SSD", "MON"), "MZ-V#@#T#B/AM", (45, 900)),
    ("Kingston", ("SSD",), "SKC####/###G", (30, 400)),
    ("Logitech", ("KBM", "DOC"), "###-######", (15, 250)),
    ("APC by Schneider Electric", ("UPS",), "SMT####@", (80, 2200)),
    ("StarTech.com", ("CBL", "DOC"), "@@@##@@@@", (6, 300)),
    ("Brother", ("PRN",), "HL-L####@@W", (120, 900)),
    ("Netgear", ("NSW", "WLS"), "GS###@@-###NAS", (40, 1200)),
]

ADJECTIVES = ["Pro", "Elite", "Business", "Plus", "Slim", "Max", "Core", "Ultra", "Compact", "Smart"]
NAME_PARTS = [
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Adatum", "Litware", "Proseware", "Wingtip",
    "Lucerne", "Alpine", "Blue Yonder", "Coho", "Fourth Coffee", "Margie's", "Trey", "Woodgrove",
    "Humongous", "Wide World", "Graphic Design", "Southridge", "Relecloud", "Consolidated", "Bellows",
    "Cedar", "Harbor", "Summit", "Prairie", "Riverbend", "Granite", "Oakmont",
]
NAME_KINDS = [
    "Dental", "Law Group", "Logistics", "Accounting", "Clinic", "Manufacturing", "Realty", "Builders",
    "Insurance", "Engineering", "Foods", "Pharmacy", "Architects", "Credit Union", "Schools",
]
CITIES = [
    ("Denver", "CO", "80202"), ("Austin", "TX", "73301"), ("Columbus", "OH", "43004"),
    ("Raleigh", "NC", "27601"), ("Portland", "OR", "97201"), ("Tampa", "FL", "33601"),
    ("Madison", "WI", "53703"), ("Boise", "ID", "83702"), ("Omaha", "NE", "68102"),
]


@dataclass(frozen=True)
class Customer:
    index: int
    key: str  # stable across systems, e.g. "C0007"
    name: str
    domain: str
    tenant_id: str  # Microsoft tenant GUID
    address: str
    city: str
    state: str
    postal_code: str
    phone: str
    in_psa: bool  # exists as a company in both PSA emulators
    billing_distributor: str  # "crayon" | "pax8" | "tdsynnex": where its CSP seats are bought


@dataclass(frozen=True)
class HardwareProduct:
    synnex_sku: str
    mpn: str
    manufacturer: str
    category_code: str
    category_name: str
    description: str  # short, technical, as in the daily flat file
    long_description: str
    cost: Decimal  # reseller price, USD
    msrp: Decimal
    warehouse_qty: tuple[tuple[str, int], ...]  # (warehouse number, quantity)
    weight_lb: Decimal
    upc: str
    status: str  # "Active" | "Discontinued"


@dataclass(frozen=True)
class CloudOffer:
    product_id: str  # NCE product id, e.g. CFQ7TTC0LCHC
    sku_id: str
    name: str
    term: str  # P1M | P1Y | NONE (usage)
    billing_cycle: str  # Monthly | Annual | None
    unit_cost: Decimal  # partner buy price per seat per month (USD)
    rrp: Decimal  # recommended retail per seat per month
    usage_based: bool = False

    @property
    def nce_id(self) -> str:
        """Crayon-style product id: ProductId:SkuId:Term:BillingCycle."""
        return f"{self.product_id}:{self.sku_id}:{self.term}:{self.billing_cycle}"


@dataclass(frozen=True)
class SeatSubscription:
    customer_index: int
    offer: CloudOffer
    quantity: int
    start: date
    subscription_id: str


_OFFER_BASE = [
    ("CFQ7TTC0LH18", "0001", "Microsoft 365 Business Basic", "6.00"),
    ("CFQ7TTC0LDPB", "0001", "Microsoft 365 Business Standard", "12.50"),
    ("CFQ7TTC0LCHC", "0002", "Microsoft 365 Business Premium", "22.00"),
    ("CFQ7TTC0LFLX", "0001", "Microsoft 365 E3", "36.00"),
    ("CFQ7TTC0LFK5", "0002", "Office 365 E3", "23.00"),
    ("CFQ7TTC0LH16", "0001", "Exchange Online (Plan 1)", "4.00"),
    ("CFQ7TTC0QW7C", "0001", "Microsoft Teams Essentials", "4.00"),
    ("CFQ7TTC0LHSF", "0001", "Microsoft Defender for Office 365 (Plan 1)", "2.00"),
    ("CFQ7TTC0LGZT", "0001", "Visio Plan 2", "15.00"),
    ("CFQ7TTC0HD33", "0002", "Project Plan 3", "30.00"),
]


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _pattern(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(rng.randint(0, 9)))
        elif ch == "@":
            out.append(chr(rng.randint(65, 90)))
        elif ch == "%":  # a literal '#', as in HP's "#ABA" localisation suffix
            out.append("#")
        else:
            out.append(ch)
    return "".join(out)


class World:
    """Deterministic data for one (scale, seed)."""

    def __init__(self, scale: str = "small", seed: int = 42) -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
        self.scale = SCALES[scale]
        self.seed = seed

    def rng(self, purpose: str) -> random.Random:
        """An independent random stream per purpose, so adding data in one place moves nothing else."""
        return random.Random(f"{self.seed}:{purpose}")

    @cached_property
    def customers(self) -> list[Customer]:
        rng = self.rng("customers")
        out = []
        used: set[str] = set()
        for index in range(self.scale.customers):
            while True:
                name = f"{rng.choice(NAME_PARTS)} {rng.choice(NAME_KINDS)}"
                if name not in used:
                    break
                name = f"{name} {index}"
                if name not in used:
                    break
            used.add(name)
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
            city, state, postal = rng.choice(CITIES)
            out.append(
                Customer(
                    index=index,
                    key=f"C{index:04d}",
                    name=name,
                    domain=f"{slug}.example.com",
                    tenant_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    address=f"{rng.randint(100, 9999)} {rng.choice(['Main', 'Oak', 'Market', 'Pine'])} St",
                    city=city,
                    state=state,
                    postal_code=postal,
                    phone=f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                    # Nine in ten customers are already companies in the PSA; the rest are new.
                    in_psa=(index % 10) != 9,
                    billing_distributor=("crayon", "pax8", "tdsynnex")[index % 3],
                )
            )
        return out

    @cached_property
    def hardware(self) -> list[HardwareProduct]:
        rng = self.rng("hardware")
        category_names = dict(CATEGORIES)
        out: list[HardwareProduct] = []
        seen_mpn: set[str] = set()
        for index in range(self.scale.products):
            maker, categories, mpn_pattern, (low, high) = MANUFACTURERS[index % len(MANUFACTURERS)]
            category = categories[rng.randrange(len(categories))]
            mpn = _pattern(rng, mpn_pattern)
            while mpn in seen_mpn:
                mpn = _pattern(rng, mpn_pattern)
            seen_mpn.add(mpn)
            msrp = _money(rng.uniform(low, high))
            cost = _money(msrp * Decimal(str(round(rng.uniform(0.72, 0.92), 3))))
            model = f"{rng.choice(ADJECTIVES)} {rng.randint(100, 990)}"
            short_maker = maker.split()[0].upper()
            name = category_names[category]
            description = f"{short_maker} {model} {name.upper()[:12]} {mpn}"[:60]
            long_description = (
                f"{maker} {model} - {name.lower()} ({mpn}). "
                f"{rng.choice(['3-year', '1-year', 'limited lifetime'])} warranty."
            )
            warehouses = tuple(
                (str(w), rng.choice([0, 0, 2, 5, 12, 40, 150])) for w in rng.sample([3, 7, 11, 23, 29], 3)
            )
            out.append(
                HardwareProduct(
                    synnex_sku=str(5_000_000 + index * 7 + rng.randint(0, 6)),
                    mpn=mpn,
                    manufacturer=maker,
                    category_code=category,
                    category_name=name,
                    description=description,
                    long_description=long_description,
                    cost=cost,
                    msrp=msrp,
                    warehouse_qty=warehouses,
                    weight_lb=_money(rng.uniform(0.1, 45)),
                    upc=f"{rng.randint(10**11, 10**12 - 1)}",
                    status="Discontinued" if rng.random() < 0.02 else "Active",
                )
            )
        return out

    @cached_property
    def offers(self) -> list[CloudOffer]:
        out = []
        for product_id, sku_id, name, rrp in _OFFER_BASE:
            price = Decimal(rrp)
            # NCE: monthly term costs 20 % more than annual term billed monthly.
            out.append(CloudOffer(product_id, sku_id, name, "P1Y", "Monthly", _money(price * Decimal("0.85")), price))
            out.append(
                CloudOffer(product_id, sku_id, name, "P1M", "Monthly",
                           _money(price * Decimal("1.2") * Decimal("0.85")), _money(price * Decimal("1.2")))
            )
            out.append(
                CloudOffer(product_id, sku_id, name, "P1Y", "Annual", _money(price * Decimal("0.85")), price)
            )
        out.append(CloudOffer("DZH318Z0BQ3Q", "0001", "Azure plan", "NONE", "None", Decimal("0"), Decimal("0"),
                              usage_based=True))
        return out

    @cached_property
    def seat_subscriptions(self) -> list[SeatSubscription]:
        rng = self.rng("subscriptions")
        seat_offers = [o for o in self.offers if not o.usage_based]
        azure = next(o for o in self.offers if o.usage_based)
        out = []
        for customer in self.customers:
            for offer in rng.sample(seat_offers, rng.randint(1, 4)):
                out.append(
                    SeatSubscription(
                        customer_index=customer.index,
                        offer=offer,
                        quantity=rng.choice([1, 2, 3, 5, 8, 10, 15, 25, 40]),
                        start=date(2025, rng.randint(1, 12), rng.randint(1, 28)),
                        subscription_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    )
                )
            if rng.random() < 0.3:
                out.append(
                    SeatSubscription(customer.index, azure, 1, date(2025, 6, 1),
                                     str(uuid.UUID(int=rng.getrandbits(128), version=4)))
                )
        return out

    @cached_property
    def hand_made_psa_products(self) -> list[HardwareProduct]:
        """Catalog products a person already typed into the PSA before channelsync (every 40th)."""
        return self.hardware[::40]
