"""Text rules of each language, in one place: words, stopwords, abbreviations, verbs of saying,
question words, words that refer back, articles and quotation marks. A new language is one more
``Language`` in ``LANGUAGES``. Citation markers have their own leaf, ``assistant.citations``.

A leaf module: it imports nothing of the assistant. The sets the rest of the code uses
(``STOPWORDS``, ``SAYING``, ...) are the unions over all languages, since a question and the
article it is about are often in different languages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: A word: a run of letters, digits or underscores (Unicode).
WORD = re.compile(r"\w+", re.UNICODE)
#: A capital letter of the Latin scripts (names; in German, also nouns).
CAPITAL = "A-ZÀ-ÖØ-ÞĀ-Ž"


@dataclass(frozen=True)
class Focus:
    """One language's question words for a time or a number, and its words for times and
    numbers in a text (all lower case; question phrases are matched as whole words)."""

    asks_time: str
    asks_number: str
    months: str
    days: str
    #: Words that name a time by themselves (century, today, ...).
    time_words: str
    #: Number words; a word that is one counts, with a plural ending ("hundreds"). The
    #: first eleven are two to twelve, in order (``metrics`` reads them as digits).
    numbers: str
    #: Whether the language writes a number into a compound word ("zweitägigen"): then a
    #: word that starts with a number word counts too (not in other languages, where "mil"
    #: would find „militärisch“ and "ten" „Tendenz“).
    compounds: bool = False


@dataclass(frozen=True)
class Language:
    """What the text rules know of one language (all words lower case)."""

    code: str
    stopwords: str
    #: Words that end with a full stop without ending the sentence ("Feb.", "z. B." as "z.b").
    abbreviations: str
    #: Verb forms of saying, thinking and expecting, as a reporter attributes a statement.
    saying: str
    #: Words that put a claim in someone's mouth: "laut X", "according to X", "so der Experte".
    attributing: str
    #: Words that open an indirect question ("they said what they expect"): announcing, not saying.
    question_words: str
    #: Words of a question that asks what people think, expect or say.
    opinion: str
    #: Opening and closing quotation marks this language prints.
    quotes: tuple[str, str]
    #: Words that refer back to something said before (a follow-up question's pronouns).
    referring: str = ""
    #: Words that open a follow-up question ("And ...?").
    opening: str = ""
    #: Articles, dropped when answers are compared (SQuAD-style normalisation).
    articles: str = ""
    #: Words of a question that asks what people expect (a subset of ``opinion``).
    expecting: str = ""
    #: Words that put a statement in the future ("wird investieren"): what someone expects.
    future: str = ""
    #: Its words for asking a time or a number, and for times and numbers (``focus``).
    focus: Focus | None = None
    #: Whether it capitalises nouns as well as names (a capitalised word is then no name).
    nouns_capitalised: bool = False


LANGUAGES: dict[str, Language] = {
    "en": Language(
        "en",
        stopwords="""a an and are as at be been by did do does for from had has have how in is
        it its of on or that the their there these this to was were what when where which who
        whom whose why will with would can could about into than then they them he she his her
        you your we our""",
        abbreviations="""mr mrs ms dr prof st vs etc e.g i.e no inc ltd co corp gen sen rep gov
        jan feb mar apr jun jul aug sep sept oct nov dec""",
        saying="""say says said tell tells told state states stated explain explains explained
        believe believes believed think thinks thought argue argues argued add adds added note
        notes noted warn warns warned conclude concludes concluded expect expects expected
        claim claims claimed stress stresses stressed""",
        attributing="according",
        question_words="what how who when why which whether where",
        opinion="""think thinks thought expect expects expected expectations say says said
        opinion opinions view views believe believes feel feels""",
        quotes=("“", "”"),
        referring="""he she it they him her his its them their this that these those there""",
        opening="and also",
        articles="a an the",
        expecting="expect expects expected expectation expectations",
        future="will shall",
        focus=Focus(
            asks_time="""when | what year | which year | what day | which day | what date |
            what century | which century | what decade | which decade | what time""",
            asks_number="""how many | how much | how old | how long | how far | how large |
            how big | how high""",
            #: "may" left out: as a verb it is in every other English sentence
            months="""january february march april june july august september october november
            december""",
            days="monday tuesday wednesday thursday friday saturday sunday",
            time_words="century centuries decade today yesterday tomorrow",
            numbers="""two three four five six seven eight nine ten eleven twelve twenty thirty
            forty fifty hundred thousand million billion dozen half double""",
        ),
    ),
    "de": Language(
        "de",
        stopwords="""der die das den dem des ein eine einer eines einem einen und oder aber ist
        sind war waren wird werden wurde wurden hat haben hatte hatten im am auf aus bei mit
        nach von vor zu zum zur für über unter um wie was wer wen wem wessen wo wann warum
        welche welcher welches welchen welchem sich es er sie ihr ihre ihren ihrem ihres sein
        seine seiner seinen seinem seines nicht auch als dass so noch nur durch bis gegen ohne""",
        abbreviations="""dr prof nr st bzw ca usw etc vgl abs art jh mio mrd z.b d.h u.a dh ggf
        inkl hr fr jan feb mär apr jun jul aug sep sept okt nov dez""",
        saying="""sagt sagte sagten sagen erklärt erklärte erklärten betont betonte glaubt
        glaubte glauben meint meinte meinen schloss schließt erinnert erinnerte warnt warnte
        fügte ergänzte erwartet erwartete erwarten hält hielt denkt dachte behauptet
        behauptete""",
        attributing="laut zufolge so",
        question_words="was wie wer wann warum welche welcher welches ob wo",
        opinion="""denken denkt erwarten erwartet erwartungen sagen sagt sagte gesagt meinen
        meint glauben glaubt meinung ansicht halten hält""",
        quotes=("„", "“"),
        referring="""er es ihn ihm sein seine seiner seinen ihr ihre ihrer ihren dessen deren dies
        diese dieser dieses dort damit dazu davon darüber""",
        opening="und auch",
        articles="der die das den dem des ein eine einer eines einem einen",
        nouns_capitalised=True,
        expecting="erwarten erwartet erwartete erwartung erwartungen",
        future="wird werden",
        focus=Focus(
            asks_time="""wann | welchem jahr | welches jahr | welchem tag | welcher tag |
            welchem datum | welchem jahrhundert | welchem jahrzehnt | welcher zeit | seit wann |
            bis wann""",
            asks_number="""wie viele | wie viel | wieviel | wie alt | wie lange | wie weit |
            wie groß | wie hoch""",
            months="""januar februar märz april mai juni juli august september oktober november
            dezember""",
            days="montag dienstag mittwoch donnerstag freitag samstag sonntag",
            time_words="jahrhundert jahrhunderts jahrzehnt heute gestern morgen",
            numbers="""zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig
            vierzig fünfzig hundert tausend million milliarde dutzend hälfte halb doppelt""",
            compounds=True,
        ),
    ),
    "fr": Language(
        "fr",
        stopwords="""le la les l un une des du de d et ou mais est sont était étaient sera
        seront a ont avait au aux en dans sur pour par avec sans que qu qui quoi quel quelle
        quels quelles quand où comment pourquoi ce cet cette ces se sa son ses leur leurs il
        elle ils elles on ne pas plus""",
        abbreviations="m mme mlle dr pr etc env janv févr av apr juil sept oct nov déc p.ex",
        saying="""dit disent déclare déclaré explique expliqué estime estiment pense pensent
        affirme affirmé ajoute ajouté souligne souligné croit croient attend attendent""",
        attributing="selon",
        question_words="ce comment qui quand pourquoi quel quelle si où",
        opinion="""pense pensent attend attendent attendre dit disent avis opinion croit
        croient estiment déclaré""",
        quotes=("« ", " »"),
        expecting="attend attendent attendre attente attentes",
        future="sera seront aura auront va vont",
        focus=Focus(
            asks_time="""quand | quelle année | quel jour | quelle date | quel siècle |
            quelle époque | depuis quand""",
            asks_number="combien | quel âge | quelle taille | quelle hauteur",
            months="""janvier février mars avril mai juin juillet août septembre octobre novembre
            décembre""",
            days="lundi mardi mercredi jeudi vendredi samedi dimanche",
            time_words="siècle siècles décennie aujourd hier demain",
            numbers="""deux trois quatre cinq six sept huit neuf dix onze douze vingt trente
            quarante cinquante cent mille million milliard douzaine moitié double""",
        ),
    ),
    "es": Language(
        "es",
        stopwords="""el la los las lo un una unos unas de del al a y o pero es son era eran será
        serán ha han había en sobre para por con sin que qué quien quién cuál cuáles cuando
        cuándo donde dónde cómo como se su sus le les no más este esta estos estas""",
        abbreviations="""sr sra srta dr dra etc art núm pág ene feb mar abr jun jul ago sept oct nov
        dic""",
        saying="""dijo dice dicen dijeron afirmó afirma explicó explica cree creen considera
        señaló añadió opina opinan espera esperan""",
        attributing="según",
        question_words="qué cómo quién cuándo por cuál si dónde",
        opinion="""piensa piensan espera esperan esperar dice dicen dijo opina opinan opinión
        cree creen""",
        quotes=("«", "»"),
        expecting="espera esperan esperar expectativa expectativas",
        future="será serán habrá va van",
        focus=Focus(
            asks_time="""cuándo | qué año | qué día | qué fecha | qué siglo | qué época |
            desde cuándo""",
            asks_number="cuántos | cuántas | cuánto | cuánta | qué edad | qué altura",
            months="""enero febrero marzo abril mayo junio julio agosto septiembre octubre
            noviembre diciembre""",
            days="lunes martes miércoles jueves viernes sábado domingo",
            time_words="siglo siglos década hoy ayer mañana",
            numbers="""dos tres cuatro cinco seis siete ocho nueve diez once doce veinte treinta
            cuarenta cincuenta cien ciento mil millón millones docena mitad doble""",
        ),
    ),
}


def _union(field: str) -> frozenset[str]:
    return frozenset(w for lang in LANGUAGES.values() for w in getattr(lang, field).split())


STOPWORDS = _union("stopwords")
ABBREVIATIONS = _union("abbreviations")
SAYING = _union("saying")
ATTRIBUTING = _union("attributing")
QUESTION_WORDS = _union("question_words")
OPINION = _union("opinion")
EXPECTING = _union("expecting")
FUTURE = _union("future")
REFERRING = _union("referring")
OPENING = _union("opening")
#: Each language's articles (languages without any listed are left out).
ARTICLES: dict[str, frozenset[str]] = {
    code: frozenset(lang.articles.split()) for code, lang in LANGUAGES.items() if lang.articles
}

#: Opening quotation marks, and the marks that may close each (German „…“ is often closed
#: with a straight ", and « » are used both ways round).
OPENING_QUOTES = {"„": '“"”', "“": '”"', "«": "»", "»": "«", "‚": "‘’", '"': '"'}
QUOTE_MARKS = '„“”«»‚‘’"'

#: A line or sentence that is only a site's name ("bbabo.Net", "www.example.com").
_SITE = r"(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,6}"
BOILERPLATE = re.compile(rf"^\W*{_SITE}\W*$")
#: A site's name alone at the end of a line, after a sentence (where it is cut off).
BOILERPLATE_AFTER = re.compile(rf"\s+{_SITE}[^\S\n]*(?:\n|$)")


def _function_words(lang: Language) -> frozenset[str]:
    asking = f"{lang.focus.asks_time} {lang.focus.asks_number}" if lang.focus else ""
    return frozenset(f"{lang.stopwords} {lang.question_words} {asking}".replace("|", " ").split())


#: Each language's function words: its stopwords, question words and words asking for a
#: time or a number.
FUNCTION_WORDS = {code: _function_words(lang) for code, lang in LANGUAGES.items()}


def function_word_language(text: str) -> str | None:
    """The language whose function words the text holds the most of, when one holds more
    than any other (else None): a short question's few function words ("When will …",
    "Wohin reist …") tell its language where names mislead a statistical detector
    ("When will Putin visit Kazakhstan?" reads as German to it)."""
    found = words(text)
    counts = {code: sum(w in fw for w in found) for code, fw in FUNCTION_WORDS.items()}
    best = max(counts.values(), default=0)
    leaders = [code for code, n in counts.items() if n == best]
    return leaders[0] if best and len(leaders) == 1 else None


def quotes_for(language: str | None) -> tuple[str, str]:
    """The quotation marks to print a quote in ``language`` with (English ones if unknown)."""
    return LANGUAGES.get(language or "", LANGUAGES["en"]).quotes


def words(text: str) -> list[str]:
    """The words of a text, lower case, in order."""
    return [w.lower() for w in WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Lower-cased words of a question, without stopwords, in order, without repeats."""
    return list(dict.fromkeys(w for w in words(text) if w not in STOPWORDS))


def fold(word: str) -> str:
    """A word as the word index stores it: lower case, no diacritics."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: Spellings of one sound across transliterations (Russian ч: tsch, tch, ch; ш: sch, sh).
_SPELLINGS = (("tsch", "ch"), ("tch", "ch"), ("sch", "s"), ("sh", "s"), ("ph", "f"), ("x", "ks"))
_SOUNDS = str.maketrans({"c": "k", "q": "k", "z": "s", "w": "v", "j": "k"})


def skeleton(word: str) -> str:
    """The consonants of a folded word as its transliterations share them, doubles made one:
    Kasachstan, Kazakhstan and Kazajistan are all ``kskstn``, Putin and Poutine ``ptn``,
    Lukjanow, Lukyanov and Loukianov ``lknv``."""
    for spelling, sound in _SPELLINGS:
        word = word.replace(spelling, sound)
    kept = [c for c in word.translate(_SOUNDS) if c.isalpha() and c not in "aeiouyh"]
    return "".join(c for i, c in enumerate(kept) if i == 0 or c != kept[i - 1])
