"""Generated names and purposes: the demo never shows a real borrower's or lender's name or words."""

from __future__ import annotations

import random

FEMALE = (
    "Ama", "Nia", "Lucía", "Sokha", "Amina", "Grace", "Rosa", "Maria", "Aigerim", "Nodira", "Thi", "Esperanza",
    "Wanjiru", "Fatima", "Marisol", "Ana", "Chiara", "Rahel", "Zainab", "Imelda", "Ruth", "Pilar",
)  # fmt: skip
MALE = (
    "Kofi", "Tariq", "Mateo", "Dara", "Joseph", "Juan", "Minh", "Otieno", "Ibrahim", "Jorge", "Yusuf", "Samuel",
    "Kwame", "Carlos", "Sovann", "Hamid", "Diego", "Emeka", "Arman", "Luis", "Tomás", "Daniel",
)  # fmt: skip
FIRST = FEMALE + MALE
LAST = (
    "Achieng", "Mensah", "Okello", "Quispe", "Mamani", "Reyes", "Santos", "Chan", "Sok", "Nguyen", "Haddad",
    "Kamau", "Mwangi", "Torres", "Flores", "Bautista", "Dela Cruz", "Abdullah", "Diallo", "Traoré", "Ortiz",
    "Cruz", "Njeri", "Kiptoo", "Vargas", "Ramos", "Aliyev", "Karimova", "Rahman", "Begum", "Osei", "Banda",
)  # fmt: skip
PLACES = (
    "Riverside", "Hillview", "Lakeshore", "Greenfield", "Highland", "Sunrise", "Valley", "Harbour", "Cedar",
    "Coastal", "Northern", "Southern", "Eastern", "Western", "Unity", "Horizon",
)  # fmt: skip
PURPOSES = {
    "agriculture": ("seed and fertiliser for the next planting", "a dairy cow", "a water pump for the fields"),
    "arts": ("thread and dyes for weaving", "clay and a kiln repair", "materials for handicrafts"),
    "clothing": ("fabric to sew school uniforms", "a sewing machine", "stock of second-hand clothes"),
    "construction": ("cement and iron sheets", "tools for a building trade", "bricks for a workshop"),
    "education": ("school fees for the term", "books and uniforms", "a vocational course"),
    "entertainment": ("sound equipment for events", "a generator for a video hall", "games for a youth hall"),
    "food": ("stock for a grocery stall", "flour and oil for a bakery", "fish to sell at the market"),
    "health": ("medicines for a pharmacy", "a clinic visit and treatment", "a water filter for the family"),
    "housing": ("a new roof before the rains", "a latrine", "a concrete floor"),
    "manufacturing": ("raw materials for soap making", "a welding machine", "a mill for grinding maize"),
    "personal_use": ("a solar lamp", "a clean cookstove", "a water tank"),
    "retail": ("more stock for a general store", "a display fridge", "phone credit and accessories to resell"),
    "services": ("a hair salon's dryer", "tools for a repair shop", "a motorbike taxi's repairs"),
    "transportation": ("a bicycle for deliveries", "a motorbike taxi", "spare parts for a minibus"),
    "wholesale": ("bulk rice to resell to shops", "a delivery of beverages", "grain bought at harvest"),
}


def borrower_name(rng: random.Random, gender: str = "") -> str:
    """A made-up name; for a loan whose real borrower was a woman or a man, a name to match."""
    first = {"female": FEMALE, "male": MALE}.get(gender, FIRST)
    return f"{rng.choice(first)} {rng.choice(LAST)}"


def lender_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)[0]}."


def partner_name(number: int, country: str) -> str:
    """`Field partner 012 (KE)`: the number is the partner's own, so the simulation finds it again."""
    return f"Field partner {number:03d} ({country})"


def purpose_for(sector: str, rng: random.Random) -> str:
    return rng.choice(PURPOSES[sector]).capitalize()
