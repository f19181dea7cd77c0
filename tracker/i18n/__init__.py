"""The users' language: French by default, English on request (docs/errors.md).

English text in the code is the message id; the French is in a Babel message catalogue,
`tracker/i18n/locales/fr/LC_MESSAGES/tracker.po`, read by Babel when first needed (no
compiled `.mo` file, no build step: a fresh clone answers in French after `make install`).

A message id may hold named placeholders, `{name}`: the domain raises its errors with
English sentences built from values (`go from framing enters discovery, not ideation`), and
the edge translates them without the domain knowing of languages: each id with placeholders
is read as a pattern, the values are taken out of the English sentence, translated when they
are themselves message ids (a phase, a field's label), and put into the French sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

FRENCH = "fr"
ENGLISH = "en"
LANGUAGES = (FRENCH, ENGLISH)
DEFAULT_LANGUAGE = FRENCH
DOMAIN = "tracker"

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_LANGUAGE_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}|\*)(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


def negotiate(accept_language: str | None) -> str:
    """The answer's language for an `Accept-Language` header: French unless English is preferred.

    The highest-weighted range naming French or English wins (`en-GB` counts as English);
    `*`, other languages or a malformed header leave the default, French.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    best, best_weight = DEFAULT_LANGUAGE, 0.0
    for order, part in enumerate(accept_language.split(",")[:20]):
        match = _LANGUAGE_RANGE.match(part)
        if match is None:
            continue
        language = match.group(1).lower()
        try:
            weight = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if language not in LANGUAGES or weight <= 0:
            continue
        # Equal weights: the first listed wins (`weight - order/1000` keeps it ahead).
        score = weight - order / 1000
        if score > best_weight:
            best, best_weight = language, score
    return best


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    translation: str
    literal_length: int  # characters outside the placeholders: the more, the more specific


@dataclass(frozen=True)
class Catalogue:
    """One language's messages: plain ids looked up, ids with placeholders matched."""

    plain: dict[str, str]
    patterns: tuple[_Pattern, ...]

    def translate(self, text: str) -> str:
        """`text` in this language; unknown text is answered as it is (English)."""
        found = self.plain.get(text)
        if found is not None:
            return found
        for pattern in self.patterns:
            match = pattern.regex.fullmatch(text)
            if match is not None:
                # A value may be a message id itself (a phase, a label, a nested message).
                values = {name: self.translate(value) for name, value in match.groupdict().items()}
                return pattern.translation.format(**values)
        return text


def _pattern(message_id: str) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in _PLACEHOLDER.finditer(message_id):
        parts.append(re.escape(message_id[position : match.start()]))
        name = match.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(message_id[position:]))
    return re.compile("".join(parts), re.DOTALL)


@cache
def catalogue(language: str) -> Catalogue:
    """The catalogue of `language` (English: the ids themselves), read once per process."""
    if language == ENGLISH:
        return Catalogue({}, ())
    path = resources.files(__package__).joinpath(f"locales/{language}/LC_MESSAGES/{DOMAIN}.po")
    with path.open("rb") as file:
        po = read_po(file, locale=language, domain=DOMAIN)
    plain: dict[str, str] = {}
    patterns: list[_Pattern] = []
    for message in po:
        if not message.id or not message.string or message.fuzzy:
            continue
        message_id, translation = str(message.id), str(message.string)
        if _PLACEHOLDER.search(message_id):
            literal_length = len(_PLACEHOLDER.sub("", message_id))
            patterns.append(_Pattern(_pattern(message_id), translation, literal_length))
        else:
            plain[message_id] = translation
    # The most specific pattern first: more literal characters win over fewer.
    patterns.sort(key=lambda pattern: -pattern.literal_length)
    return Catalogue(plain, tuple(patterns))


def translate(text: str, language: str) -> str:
    """`text` (an English message, possibly built from a template) in `language`."""
    return catalogue(language).translate(text)
