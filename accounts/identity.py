"""E-mail identity: the one form an address is stored, looked up, counted and compared in.

The canonical form of an e-mail address is its NFKC normalisation, trimmed and lower-cased,
and it must be plain ASCII. NFKC folds compatibility look-alikes onto the letters they
imitate (full-width letters, the long s U+017F, the Kelvin sign U+212A); whatever is still
not ASCII afterwards (the dotless i U+0131, Cyrillic a U+0430, Greek omicron U+03BF...) is
refused with a message naming the character. An internationalised domain is entered in its
ASCII (``xn--``) form, which the message offers. Django's own e-mail validator already
refuses non-ASCII in the part before the ``@``, except for four letters its
case-insensitive regex lets through (U+0130, U+0131, U+017F, U+212A), which are exactly
look-alikes of ASCII letters; so no genuine address is lost, and two stored addresses a
person could not tell apart cannot exist: they are both ASCII, and ASCII lower case has one
spelling per address.

Where it is enforced: ``User.clean`` (every form, the API and the services call
``full_clean``), the users form, the API serializer and the access import, and the database
itself (``user_email_canonical``: the column holds only ASCII lower case, on SQLite and
PostgreSQL; the existing unique constraints then make one row per identity). The sign-in
lookup matches the canonical form exactly on that unique column, so it finds one user or
none, never two.

``identity_key`` is what the login throttle counts under: the canonical form when there is
one, otherwise a *skeleton* of what was typed (accents and invisible characters dropped,
common Cyrillic, Greek and Latin look-alikes mapped to the ASCII letter they imitate), so
failures typed as ``nora@northw\u0131nd.example`` (dotless i) count against
``nora@northwind.example``.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.db.models import Func, IntegerField

NOT_ASCII = (
    "Enter the e-mail address in plain ASCII characters: “{char}” ({codepoint}, {name}) "
    "looks like an ordinary letter but is a different character, so the address could "
    "pass for someone else's."
)
DOMAIN_ASCII_FORM = " If the domain really is internationalised, enter its ASCII form: {ascii}."
CANONICAL_VIOLATION = "E-mail addresses are stored in canonical form: ASCII and lower case."
COLLISIONS_FOUND = (
    "Cannot make the stored e-mail addresses canonical (ASCII, lower case):\n{problems}\n"
    "Change or remove these users first (python manage.py shell), then migrate again."
)

# Letters that survive NFKD and case folding but look like an ASCII letter, mapped to it.
# Not the whole Unicode confusables table (UTS #39): the common homoglyphs of Latin letters.
_LOOK_ALIKES = str.maketrans(
    {
        # Latin
        "\u0131": "i", "\u0237": "j", "\u0142": "l", "\u019a": "l", "\u0269": "i", "\u0251": "a",
        "\u0261": "g", "\u00f8": "o", "\u0111": "d", "\u0127": "h", "\u0167": "t", "\u0180": "b",
        "\u027e": "r", "\u028b": "u", "\u0262": "g",
        # Cyrillic (lower case, as case folding leaves them)
        "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u04bb": "h", "\u043d": "h", "\u0456": "i",
        "\u0458": "j", "\u043a": "k", "\u04cf": "l", "\u043c": "m", "\u043e": "o", "\u0440": "p",
        "\u051b": "q", "\u0441": "c", "\u0455": "s", "\u0442": "t", "\u0443": "y", "\u04af": "y",
        "\u0445": "x", "\u0501": "d", "\u051d": "w",
        # Greek
        "\u03b1": "a", "\u03b2": "b", "\u03b5": "e", "\u03b6": "z", "\u03b7": "n", "\u03b9": "i",
        "\u03ba": "k", "\u03bc": "m", "\u03bd": "v", "\u03bf": "o", "\u03c1": "p", "\u03c4": "t",
        "\u03c5": "u", "\u03c7": "x", "\u03b3": "y", "\u03f2": "c", "\u03f3": "j", "\u03c9": "w",
        # dashes that NFKC keeps
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    }
)  # fmt: skip


def _describe(char: str) -> dict[str, str]:
    return {
        "char": char,
        "codepoint": f"U+{ord(char):04X}",
        "name": unicodedata.name(char, "unnamed character"),
    }


def canonical_email(value) -> str:
    """The address as stored and compared: NFKC, trimmed, lower case, plain ASCII.
    Raises ValidationError naming the first character that is not ASCII."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if text.isascii():  # nearly every address: one check, not one per character
        return text.lower()
    bad = next(char for char in text if not char.isascii())
    message = NOT_ASCII.format(**_describe(bad))
    local, at, domain = text.rpartition("@")
    if at and bad in domain and local.isascii():
        try:
            ascii_domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            pass  # not a valid domain either; the message above is enough
        else:
            message += DOMAIN_ASCII_FORM.format(ascii=f"{local.lower()}@{ascii_domain}")
    raise ValidationError(message, code="not_ascii")


def skeleton(value) -> str:
    """What a typed address looks like, reduced to ASCII where a look-alike is known:
    compatibility forms folded (NFKC), case folded, accents and invisible characters
    dropped, homoglyphs mapped. Never raises; an ASCII address is its own skeleton."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip().casefold()
    kept = "".join(
        char
        for char in unicodedata.normalize("NFKD", text)
        if unicodedata.category(char) not in ("Mn", "Me", "Cf")
    )
    return unicodedata.normalize("NFKC", kept.translate(_LOOK_ALIKES)).lower()


def identity_key(value) -> str:
    """The identity a typed address stands for: its canonical form, or, when it has none
    (it is not ASCII), its skeleton, so look-alikes meet under the address they imitate."""
    try:
        return canonical_email(value)
    except ValidationError:
        return skeleton(value)


def canonical_problems(rows) -> list[str]:
    """For (primary key, e-mail) rows already stored: one line per row that has no
    canonical form or whose canonical form (or look-alike skeleton) is another row's.
    Empty when every row can be made canonical without two becoming one identity."""
    problems: list[str] = []
    owners: dict[str, tuple[int, str]] = {}
    unfit: list[tuple[int, str, str]] = []
    for pk, email in rows:
        try:
            key = canonical_email(email)
        except ValidationError as error:
            unfit.append((pk, email, error.messages[0]))
            continue
        if key in owners:
            other_pk, other = owners[key]
            problems.append(
                f"user {pk} {email!r} and user {other_pk} {other!r} are the same address {key!r}"
            )
        else:
            owners[key] = (pk, email)
    for pk, email, reason in unfit:
        line = f"user {pk} {email!r}: {reason}"
        if (twin := owners.get(skeleton(email))) is not None:
            line += f" It looks like user {twin[0]} {twin[1]!r}."
        problems.append(line)
    return problems


class OctetLength(Func):
    """Bytes in a text value's UTF-8 form: equal to its length exactly when it is ASCII
    (both databases store text as UTF-8). Used by the ``user_email_canonical`` check."""

    function = "OCTET_LENGTH"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="LENGTH(CAST(%(expressions)s AS BLOB))", **extra_context
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="OCTET_LENGTH((%(expressions)s)::text)", **extra_context
        )
