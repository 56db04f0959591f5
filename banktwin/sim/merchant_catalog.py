"""Merchant categories (MCC) with typical amounts and the names merchants of each go by.

Amounts are in major units of the account's currency; a purchase's amount is drawn from a
log-normal distribution around the category's median, scaled by the customer's spending
level.
"""

from __future__ import annotations

from dataclasses import dataclass

BANK_NAME = "Meridian Bank"


@dataclass(frozen=True, slots=True)
class Category:
    """A merchant category and how people spend in it."""

    mcc: str
    label: str
    median: float
    sigma: float
    in_store_weight: float
    """Base share of card-present purchases."""
    online_weight: float
    """Base share of e-commerce purchases."""
    store_names: tuple[str, ...]
    online_names: tuple[str, ...] = ()


# fmt: off
CATEGORIES: tuple[Category, ...] = (
    # mcc, label, median amount, sigma, in-store weight, online weight, shops, online merchants
    Category("5411", "grocery", 32.0, 0.7, 30.0, 3.0,
             ("Fresh Market", "Corner Grocer", "Daily Harvest", "Green Basket", "City Foods"),
             ("BasketNow", "FreshCart")),
    Category("5812", "restaurant", 38.0, 0.6, 12.0, 1.5,
             ("Trattoria Sole", "The Olive Tree", "Bistro Lumiere", "Golden Dragon", "Casa Verde"),
             ("Forkful Delivery",)),
    Category("5814", "fast_food", 11.0, 0.5, 10.0, 2.0,
             ("Burger Point", "Quick Bite", "Noodle Bar", "Bagel Corner", "Kebab House"),
             ("SnackRun",)),
    Category("5541", "fuel", 58.0, 0.4, 7.0, 0.0,
             ("RoadStar Fuel", "Autofuel", "Highway Energy")),
    Category("5912", "pharmacy", 18.0, 0.7, 5.0, 1.0,
             ("City Pharmacy", "Green Cross Pharmacy", "Apex Chemist"),
             ("MedsDirect",)),
    Category("4111", "transit", 4.5, 0.6, 6.0, 2.0,
             ("Metro Ticketing", "City Transit"),
             ("RailTickets Online",)),
    Category("4121", "taxi", 19.0, 0.5, 3.0, 3.0,
             ("City Cabs", "Radio Taxi"),
             ("RideNow", "Hopp Rides")),
    Category("5651", "clothing", 65.0, 0.7, 5.0, 5.0,
             ("Urban Threads", "Style Avenue", "Denim Depot", "North Coat Co"),
             ("Threadline", "Modaway")),
    Category("5311", "department_store", 55.0, 0.8, 4.0, 2.0,
             ("Grand Galleria", "Central Stores"),
             ("Galleria Online",)),
    Category("5732", "electronics", 160.0, 0.9, 2.0, 4.0,
             ("Volt Electronics", "Circuit Corner", "Gadget Hub"),
             ("TechNova", "PixelDepot", "Gadgetry")),
    Category("5942", "books", 22.0, 0.5, 2.0, 2.0,
             ("Chapter House Books", "Page and Quill"),
             ("ReadMore Books",)),
    Category("5999", "misc_retail", 25.0, 0.9, 6.0, 6.0,
             ("General Store", "Home and Garden Centre", "Gift Corner", "Pet Palace"),
             ("MegaMart Online", "ShopSphere", "Everyday Store")),
    Category("5816", "digital_goods", 9.0, 0.8, 0.0, 6.0,
             (),
             ("StreamBox", "GameVault", "AppMarket", "MusicStream")),
    Category("7995", "gambling", 30.0, 1.0, 0.3, 1.0,
             ("Lucky Star Casino",),
             ("SpinPalace", "BetArena")),
    Category("4511", "airline", 240.0, 0.6, 0.2, 1.5,
             (),
             ("SkyJet Airways", "Aerolux", "BlueSky Air")),
    Category("7011", "hotel", 140.0, 0.6, 0.5, 1.5,
             ("Grand Hotel", "City Inn"),
             ("StayFinder", "HotelHub")),
    Category("5944", "jewelry", 220.0, 0.8, 0.4, 0.5,
             ("Goldsmith and Co", "Diamond Lane"),
             ("Sparkle Jewels",)),
)
# fmt: on

CATEGORY_BY_MCC: dict[str, Category] = {c.mcc: c for c in CATEGORIES}

ATM_MCC = "6011"
TRANSFER_MCC = "4829"

HIGH_VALUE_MCCS: tuple[str, ...] = ("5732", "5944", "5311", "4511", "7995")
"""Categories where a stolen card is worth most."""

SMALL_ONLINE_MCCS: tuple[str, ...] = ("5816", "5999")
"""Online categories where a tiny charge looks unremarkable."""

FOREIGN_ATM_NAMES: tuple[str, ...] = ("Cash Point", "Global ATM", "Airport ATM", "City ATM")
