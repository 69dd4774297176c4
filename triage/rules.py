"""Word rules that sit beside the classifier, each built for precision.

The classifier guesses categories from the whole text; these rules say things a person
would only say when the words leave no doubt, and they name those words:

- :func:`threat`: a chargeback, legal or regulator threat aimed at the business;
- :func:`acknowledgement`: a short note that thanks or acknowledges and asks for nothing;
- :func:`needs_no_reply`: a sales pitch, survey, newsletter or "no need to reply" note;
- :func:`negated`: the categories a message says it is *not* asking for;
- :func:`chasing`: a customer chasing their own earlier contact.

Each takes the text as the message gives it (any case; typographic apostrophes are
fine): :func:`threat`, :func:`negated` and :func:`chasing` read "subject\nnewest words"
(``Message.classifier_text``), :func:`acknowledgement` the newest words alone, and
:func:`needs_no_reply` the newest words and the subject apart. All are pure.
:func:`read` runs them all over one message (the analysis workers do, so the process
that keeps the history spends no time on words).

Speed: each rule makes one pass over the lower-cased text with a single compiled
alternation tried at word starts only. :func:`_word_start_alternation` leads it with a
literal space (the regex engine then jumps from space to space) and groups its branches
by their first characters, so a word that starts no phrase is rejected after a few
character tests. Only a hit pays for a look at the words around it: its clause, back to
the last sentence end and forward to the next.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from triage.alternation import REGEX_META, expand, factor, spaces, top_level

# ---------------------------------------------------------------------------- helpers

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "\u201c": '"', "\u201d": '"'})
_SENTENCE_END = re.compile(r"[.!?;]+[\"')\]]*(?:\s|$)|\n\s*\n|\n\s*[-*\u2022>]")
CLAUSE_CHARS = 160
"""How far a clause reaches either side of a hit, at most."""


def _lower(text: str) -> str:
    """Lower-cased, with typographic apostrophes and quotes made plain ("I’ll" is "i'll")."""
    low = text.lower()
    if "\u2019" in low or "\u2018" in low or "\u201c" in low or "\u00b4" in low:
        return low.translate(_QUOTES)
    return low


class LazyPattern:
    """A compiled regular expression that is compiled on first use.

    The rules' alternations hold hundreds of phrases; compiling them all costs a quarter
    of a second, which a `triage once` with nothing to do, or a status check, should not
    pay. The first attribute looked up compiles the pattern, and its methods then become
    plain attributes of this object (no lookup cost after that). :func:`compile_all`
    compiles every one, before worker processes are forked, so they inherit them."""

    def __init__(self, build: Callable[[], re.Pattern[str]]) -> None:
        self._build = build
        _LAZY_PATTERNS.append(self)

    def compile(self) -> re.Pattern[str]:
        """The compiled pattern (compiled now if it was not yet)."""
        pattern = self.__dict__.get("_pattern")
        if pattern is None:
            pattern = self._build()
            self.__dict__.update(_pattern=pattern, search=pattern.search, match=pattern.match,
                                 finditer=pattern.finditer, findall=pattern.findall, sub=pattern.sub,
                                 fullmatch=pattern.fullmatch, pattern=pattern.pattern)
        return pattern

    def __getattr__(self, name: str):
        return getattr(self.compile(), name)


_LAZY_PATTERNS: list[LazyPattern] = []


def compile_all() -> None:
    """Compile every rule pattern now (see :class:`LazyPattern`)."""
    for pattern in _LAZY_PATTERNS:
        pattern.compile()


def _word_start_alternation(patterns: Iterable[str]) -> LazyPattern:
    """Compile phrases (regex alternatives, written with plain spaces) into one pattern
    that finds any of them at a word start of a text prepared by :func:`_prepare`, fast.

    The pattern starts with a literal space, so the regex engine jumps from space to space
    (a ``\\b``-led pattern is tried at every character, several times slower); the
    branches are expanded and grouped by their first characters (:func:`_factor`), so a
    word that starts no phrase is rejected after a few character tests."""
    alternatives = [piece for pattern in patterns for branch in top_level(spaces(pattern))
                    for piece in expand(branch)]
    heads = set()
    for alternative in alternatives:
        if alternative.startswith(r"\d"):
            heads.add("0-9")
        elif alternative[:1] in REGEX_META:
            raise ValueError(f"a phrase must start with a plain character: {alternative!r}")
        else:
            heads.add(re.escape(alternative[0]))
    return LazyPattern(lambda: re.compile(" (?=[" + "".join(sorted(heads)) + "])(?:" + factor(alternatives) + ")"))


def _phrases(patterns: Iterable[str]) -> LazyPattern:
    """Phrases compiled for matching at a known word start (grouped like
    :func:`_word_start_alternation`, without its leading space)."""
    alternatives = [piece for pattern in patterns for branch in top_level(spaces(pattern))
                    for piece in expand(branch)]
    return LazyPattern(lambda: re.compile("(?:" + factor(alternatives) + ")"))


_WORD_SEPARATORS = ("\n", "\t", "\r", "(", '"', "\u00bf", "\u00a1")
"""Characters after which a word starts that are not a space (line breaks, "(", quotes,
the Spanish "¿" and "¡")."""


@lru_cache(maxsize=16)
def _prepare(text: str) -> tuple[str, str]:
    """The text lower-cased, and the same with a space before every word start the rules
    look at (each of :data:`_WORD_SEPARATORS` becomes a space; one space leads): position
    ``i + 1`` of the second is position ``i`` of the first. Cached, as the rules of one
    message read the same text."""
    low = _lower(text)
    scan = low
    for separator in _WORD_SEPARATORS:
        if separator in scan:
            scan = scan.replace(separator, " ")
    return low, " " + scan


def _before(low: str, start: int, limit: int = CLAUSE_CHARS) -> str:
    """The words of the hit's sentence before it (at most ``limit`` characters)."""
    window = low[max(0, start - limit):start]
    cut = 0
    for boundary in _SENTENCE_END.finditer(window):
        cut = boundary.end()
    return window[cut:]


def _after(low: str, end: int, limit: int = CLAUSE_CHARS) -> str:
    """The words of the hit's sentence after it (at most ``limit`` characters)."""
    window = low[end:end + limit]
    boundary = _SENTENCE_END.search(window)
    return window[:boundary.start()] if boundary else window


def _quoted_line(low: str, start: int) -> bool:
    """True when the hit sits on a line of quoted history ("> …")."""
    line_start = low.rfind("\n", 0, start) + 1
    return low[line_start:start].lstrip().startswith(">")


def _words(match_text: str) -> str:
    return " ".join(match_text.split())


# ----------------------------------------------------------------------------- threat

_THREAT_WORDS: dict[str, tuple[str, ...]] = {
    "sue": (r"su(?:e|ing)\b",),
    "proceedings": (
        r"legal (?:action|proceedings|steps|route)\b", r"lawsuits?\b", r"class action\b",
        r"court (?:action|proceedings)\b",
        r"(?:issue|issuing|start|begin|commence|initiate) (?:court |legal )?proceedings\b",
        r"letter before (?:action|claim)\b", r"cease and desist\b",
    ),
    "court": (r"court\b",),
    "claims": (r"small[- ]claims?\b",),
    "counsel": (r"legal (?:advice|counsel|team|department|representation)\b",),
    "lawyer": (r"lawyers?\b", r"attorneys?\b(?! general)", r"solicitors?\b", r"barristers?\b"),
    "regulator": (
        r"ombuds(?:man|men|person)\b", r"ombud\b", r"trading standards\b", r"ftc\b", r"cfpb\b", r"bbb\b",
        r"better business bureau\b", r"attorneys? general\b", (r"consumer (?:protection|affairs|rights|council|watchdog"
        r"|ombudsman|authority|agency|commission|tribunal|forum|court|complaints board|disputes|advocate)\b"),
        r"regulators?\b", r"ofcom\b", r"ofgem\b", r"ofwat\b", r"fca\b", r"fcc\b", r"ccpc\b", r"citizens advice\b",
        r"accc\b", r"acma\b", r"ico\b", r"information commissioner", r"public utilities commission\b",
        r"state (?:regulator|commission)\b", r"central bank\b", r"(?:civil )?aviation authority", r"caa\b",
        r"abta\b", r"adr (?:scheme|body)\b", r"icasa\b", r"conciliateur", r"verbraucherzentrale",
        r"schlichtungsstelle", r"bundesnetzagentur", r"bafin\b", r"procon\b", r"reclame aqui\b", r"consumidor\.gov",
        r"(?:oficina|organismo|instituto) (?:municipal )?(?:de|del) consum", r"(?:en|a|ante) consumo\b", r"facua\b",
        r"ocu\b", r"omic\b", r"dgccrf\b", r"signal ?conso\b", r"m[ée]diateur\b", r"que choisir\b", r"agcom\b",
        r"codacons\b", r"altroconsumo\b", r"associazion[ei] (?:dei |di )?consumatori", r"geschillencommissie",
        r"(?:all|dall|nell|l|un|d)'(?:agcom|associazione (?:dei |di )?consumatori|altroconsumo|arera)\b",
        r"consumentenbond\b", r"autoriteit consument", r"rzecznik",
    ),
    "chargeback": (r"charge[- ]?backs?\b", r"contracargos?\b", r"r[ée]trofacturation"),
    "dispute": (r"disput(?:e|es|ed|ing)\b", r"contest(?:s|ed|ing)?\b"),
    "bank": (
        (r"(?:my|our|the) (?:bank|card (?:company|issuer|provider)|credit card(?: company| provider| issuer)?|visa"
        r"|mastercard|amex|paypal|barclaycard)\b(?! (?:statements?|account|details|transfer|holiday|app|balance))"),
    ),
    "report": (
        (r"report(?:ing|ed)? (?:you|u|y'all|your (?:company|business|shop|store|firm)|this (?:company|business|shop"
        r"|store|firm)|you guys)(?: to (?:the )?[a-z.]+)?\b"),
    ),
    "bank_claim": (
        r"section 75\b", r"direct debit guarantee", r"indemnity claim",
        r"charg(?:e|ing) (?:it|this|them|that|the (?:payment|charge|amount)) back\b",
        r"report(?:ing|ed)? (?:it|this|them|the (?:charges?|payments?)) as (?:unauthori[sz]ed|fraud)",
        r"(?:lo|los) reclamo (?:como fraude )?(?:en|al) (?:el )?banco", r"contestazione con la mia banca",
        r"contesto l'addebito", r"(?:lo|los|la|las) devuelvo (?:yo )?(?:desde|en|por|con) el banco",
        r"devolver (?:el|los) recibos?", r"opposition (?:bancaire|aupr[eè]s de ma banque|sur (?:ma carte|le paiement))",
        r"lastschrift (?:zurück(?:buchen|geben|gehen)|widerrufen|widersprechen)",
        r"bei meiner bank (?:zurückbuchen|zurückholen|widersprechen|reklamieren)", r"storneren\b", r"stornering\b",
        r"terugboeken via (?:mijn|de) bank",
    ),
    "foreign_legal": (
        r"demandar(?:les|los|las|te|le)?\b", r"(?:os|les|los|las|te|le) (?:voy a |vamos a )?demandar",
        r"(?:acciones|medidas) (?:legales|judiciales)", r"v[ií]a judicial", r"denunciar(?:les|los|os)?\b",
        r"(?:os|les|los) denuncio", r"processar (?:vocês|voces|vcs|a empresa|a loja)", r"vou processar",
        r"a[çc][ãa]o judicial", r"entrar na justi[çc]a", r"juizado", r"pequenas causas", r"action en justice",
        r"poursuites judiciaires", r"poursuivre en justice", r"porter plainte", r"mise en demeure",
        r"saisir (?:le tribunal|la justice)", r"devant (?:le|les) tribuna(?:l|ux)", r"(?:mon|un|d'un) avocat\b",
        r"rechtliche(?:n)? schritte", r"rechtsweg", r"(?:meinen|meinem|einen|mein) (?:rechts)?anwalt",
        r"anwalt (?:einschalten|beauftragen)", r"verklagen", r"klage (?:einreichen|erheben)", r"vor gericht",
        r"gerichtlich", r"mahnverfahren", r"azion[ei] legal[ei]", r"vie legali", r"fare causa", r"vi faccio causa",
        r"(?:il mio|un) avvocato", r"sporgere denuncia", r"(?:fare|presentare) (?:una )?denuncia", r"esposto\b",
        r"juridische stappen", r"(?:mijn|een) advocaat", r"naar de rechter", r"rechtszaak", r"dagvaard\w*",
    ),
}
"""Every word that may start a threat, by kind; the kind decides what its clause must say."""

_THREAT_TRIGGER = _word_start_alternation(p for patterns in _THREAT_WORDS.values() for p in patterns)
_THREAT_KINDS = {kind: _phrases(patterns) for kind, patterns in _THREAT_WORDS.items()}

_INTENT = re.compile(spaces(
    r"\b(?:i|we)(?:'ll| will| shall| am going| 'm going|'m going| are going|'re going|'m gonna| am gonna"
    r"| might| may| have to| will have| have no choice| reserve)\b"
    r"|\b(?:ill|im going|i'm about|gonna|otherwise|or else|else|unless|next step|no choice|no option|no alternative"
    r"|left with no|forced to|last chance|last warning|final notice|or i|or we|or i'll|before i|after that"
    r"|if (?:not|i|this|it|you|the|that|there|nothing|my|we|no|payment|the money)|already"
    r"|i'm (?:filing|raising|opening|reporting|taking|going|doing|contacting|escalating|referring|considering"
    r"|prepared|ready|sending|making|lodging|submitting|speaking|talking|writing|calling|disputing)"
    r"|i am (?:filing|raising|opening|reporting|taking|going|doing|contacting|escalating|referring|considering"
    r"|prepared|ready|sending|making|lodging|submitting|speaking|talking|writing|calling|disputing)"
    r"|will be|i(?:'ve| have)(?: now| already| just| also)? (?:contacted|spoken|instructed|filed|raised|opened"
    r"|started|reported|lodged|submitted|been|consulted|taken|told|asked|blocked|cancelled|withdrawn|disputed"
    r"|charged back|phoned|called)|rather|prepared to|ready to|considering|se non|se entro|si en|si no"
    r"|se até|sans r[ée]ponse|pass[ée] ce d[ée]lai|sollte|wenn|falls"
    r"|vou|voy a|vamos a|je vais|nous allons|ich werde|werde ich|wir werden|andernfalls|ansonsten|sonst|sinon"
    r"|se não|senão|caso contrário|altrimenti|anders|als ik|ga ik|zal ik|ik zal)\b"
))
"""A first-person intention, an ultimatum or a step already taken: "I'll", "otherwise",
"if this is not sorted", "I have contacted"."""

_NOT_A_THREAT = re.compile(spaces(
    r"\b(?:not (?:going|planning|trying|threatening|looking|wanting|intending|about)|no (?:intention|plans?|desire"
    r"|wish|need) (?:to|of)|won't(?! hesitate)|will not(?! hesitate)|wouldn't|would never|never (?:want|would|will"
    r"|intended)|(?:don't|do not|dont) (?:want|need|plan|intend) to(?! have to)|not a threat|isn't a threat)\b"
))
_BUT = re.compile(r"\b(?:but|however|though|yet)\b")
_SUBCLAUSE = re.compile(r"[,:(]|\b(?:and|but|if|so|because|then|or|otherwise|unless)\b")

_SUE_INTENT = re.compile(spaces(
    r"\b(?:i|we|i'll|we'll|i'd|we'd|ill|im|i'm|we're)\b[^,;:]{0,40}?"
    r"(?:\b(?:will|'ll|ll|shall|would|'d|gonna|wanna|can|could|may|might|must|should|not hesitate to|definitely"
    r"|absolutely|happily|gladly|seriously|then|also|just)|\b(?:going|want|wants|plan|planning|intend|intending"
    r"|decided|prepared|ready|forced|have|has|had|need|needs|but|threaten(?:ing)?|able|right|entitled|willing"
    r"|likely|about|start|begin|hesitate|choice but) to)\s+$"
))
_SUING_INTENT = re.compile(spaces(
    r"\b(?:i|we|i'm|im|we're)\b[^,;:]{0,40}?\b(?:am|'m|are|'re|be|considering|consider|about|of|into|start"
    r"|begin|recommend|threatening)\s+$"
))
_SUE_OBJECT = re.compile(spaces(
    r"\s+(?:you|u|ya|y'all|yall|your|you guys|the company|this company|the (?:business|shop|store|firm)"
    r"|this (?:business|shop|store|firm))\b"
))
_SUE_NOT_AIMED = re.compile(r"(?:'s|\s+(?:my|me|myself|him|her|his|mine)\b)")

_COURT_PHRASE = re.compile(spaces(
    r"\b(?:take|taking|took|bring|bringing|drag|dragging|haul|hauling|see|seeing|go|going|went|end up|settle"
    r" (?:this|it)|sort (?:this|it) out|claim|claims|file|filing) (?:(?:you|u|ya|you guys|them|this|it|the matter"
    r"|this matter|the company|your (?:company|business|firm)|the (?:whole )?thing) )?(?:all the way )?"
    r"(?:to|in|through|at) (?:the )?(?:small claims |county |district |civil |magistrates'? |local )?$"
    r"|\b(?:through|in|to|at) (?:the )?(?:small claims|county|district|civil|magistrates'?) $"
))
_COURT_OBJECT = re.compile(spaces(r"\b(?:you|u|ya|you guys|your (?:company|business|firm)|the company) (?:to|in) "))

_DETERMINER = r" (?:a|an|my|our|the) (?:(?:own|family|personal|company|consumer|employment|local|specialist|legal) )?$"
_LAWYER_VERB = re.compile(spaces(
    r"\b(?:contact|contacted|contacting|consult|consulted|consulting|instruct|instructed|instructing|hire|hired"
    r"|hiring|retain|retained|retaining|engage|engaged|engaging|involve|involving|involved|get|getting|got|call"
    r"|calling|called|see|seeing|seek|seeking|sought|lawyer up)" + _DETERMINER
    + r"|\b(?:speak|speaking|spoke|spoken|talk|talking|talked|go|going|went|turn|turning|reach out|reached out"
    r"|in touch|pass|passing|passed|hand|handing|handed|forward|forwarding|forwarded|refer|referring|referred"
    r"|send|sending|sent|take|taking|took|give|giving|gave)\b(?: (?:this|it|that|everything|all of this|all this"
    r"|the (?:whole )?(?:matter|thread|case|file|article|emails?|messages?|correspondence)|them))?"
    r"(?: (?:on|over|along))?(?: [^.!?]{0,40}? and)? (?:to|with)" + _DETERMINER
    + r"|\b(?:keep|keeping|kept|save|saving|saved|screenshot\w*)\b[^.!?]{0,30}? for" + _DETERMINER
))
_LAWYER_ACTS = re.compile(spaces(
    r"s? (?:will|'ll|shall|is going to|are going to|is about to|would) (?:be )?(?:in touch|contact|contacting"
    r"|write|writing|hear|deal|dealing|send|sending|take|taking|pursue|pursuing|follow|following|handle|handling"
    r"|look|looking|call|calling|reach|reaching|file|filing)\b"
))
_LAWYER_CORRESPONDENCE = re.compile(spaces(
    r"\b(?:hear|hearing|heard) from (?:my|our) $|\bcorrespondence to (?:our|my) $"
    r"|\b(?:letter|call|email|letters) (?:you get |you receive )?will be from (?:my|our) $"
))
_LAWYER_NOT_A_THREAT = re.compile(spaces(
    r"power of attorney|attorneys? at law|attorney[- ]client|district attorney|\bestate\b|probate|executor|notar"
    r"|conveyanc|i(?:'m| am) a (?:lawyer|solicitor|attorney)|as a (?:lawyer|solicitor|attorney)|law firm"
    r"|regulation authority|who is a|\bmy (?:son|daughter|wife|husband|brother|sister|friend)\b[^.]{0,20}\bis a"
))
_LAWYER_SIGNATURE = re.compile(r"s?,? (?:llp|&)")

_COMPLAINT_VERB = re.compile(
    r"\b(?:report|reporting|reported|complain|complaining|complained|complaint|complaints|file|filing|filed|lodge"
    r"|lodging|raise|raising|refer|referring|escalat\w*|take|taking|go|going|went|straight|contact|contacting"
    r"|contacted|write|writing|letter|approach|approaching|involve|involving|tell|telling|notify|notifying|submit"
    r"|submitting|send|sending|speak|speaking|hearing from|next step|in front of|reclamaci[oó]n|reclamar|queja"
    r"|denuncia|reclama[çc][ãa]o|registrar|plainte|signaler|saisir|saisis|beschwerde|wende|wenden|melden"
    r"|einschalten|segnalazione|reclamo|esposto|klacht|melding|rivolger\w*|rivolgo|irai|voir)\b"
)
_REGULATOR_NOT_A_THREAT = re.compile(
    r"\b(?:regulated by|fined by|approved by|registered with|member of|regulation authority|authori[sz]ed by)\b"
)

_CHARGEBACK_ACTION = re.compile(spaces(
    r"\b(?:file|filing|filed|raise|raising|raised|open|opening|opened|do|doing|did|initiate|initiating|initiated"
    r"|start|starting|started|request|requesting|requested|issue|issuing|put in|putting in|submit|submitting"
    r"|lodge|lodging|approve|go for|going for|process|make|making|claim|pursue|apply for|zgłaszam|faço|hago"
    r"|fais|mache)\b[^.!?,;]{0,25}$"
    r"|\b(?:before|or|otherwise|then|else|next step is|only option is|it's|it is|it'll be|that's|threat of)"
    r" (?:a )?$"
))
_CHARGEBACK_AFTER = re.compile(r"\s*(?:next|incoming|it is|then|coming|warning)\b")
_CHARGEBACK_NOT_A_THREAT = re.compile(
    r"\b(?:what (?:is|does|'s|exactly)|what's a|how (?:do|does|can|long|would)|explain\w*|mean|meaning|ratios?"
    r"|rates?|fewer|reduce|reducing|prevent|preventing|protection|playbook|notification|merchants?|your customers"
    r"|customers who|never had|no chargebacks|zero chargebacks|avoid(?:ing)? chargebacks|fight|become"
    r"|outcome|in my favour|in my favor)\b"
)

_BANK_DISPUTE_AFTER = re.compile(spaces(
    r"s? (?:(?:it|this|that|them|both|everything|every charge|the lot|the (?:charges?|payments?|transactions?"
    r"|debits?|amounts?|fees?|second charge)) )?(?:with|through|via) (?:(?:my|the|our) )?(?:bank|card|credit card"
    r"|card (?:issuer|company|provider)|visa|mastercard|amex|american express|paypal|bank's|credit card company"
    r"|barclaycard)\b"
))
_BANK_DISPUTE_BEFORE = re.compile(r"\b(?:bank|card|paypal|visa|amex|mastercard)\s+$")
_BANK_ACTION = re.compile(spaces(
    r"\b(?:contact|contacting|contacted|call|calling|called|phone|phoned|phoning|ring|ringing|rang|go|goes|going"
    r"|speak|speaking|talk|talking|tell|telling|told|report|reporting|reported|take|taking|raise|raising|block"
    r"|blocking|blocked|stop|stopping|dispute|disputing|ask|asking|send|sending|forward|forwarding)\b"
    r"[^.!?]{0,30}?(?: (?:to|with|at|through|via|up with))? $"
    r"|\b(?:or|otherwise|else|next stop is|next step is|before i go to) $"
))
_REPORT_BY_ME = re.compile(r"\b(?:i|we|i'll|we'll|i'm|im|ill|we're)\b[^.!?]{0,30}$|\b(?:will|'ll|to|be|am)\s+$")
_AGAINST_SOMEONE_ELSE = re.compile(r"\bagainst (?:my|his|her|their|a|the (?:landlord|seller|builder|tenant))\b")


def _negated_threat(before: str, after: str) -> bool:
    """ "I'm not going to sue you" withdraws a threat; "if you won't, I'll sue" and "I don't
    want to, but I will" do not: only the words since the last comma or conjunction count,
    and an intention after the negation outweighs it."""
    start = 0
    for boundary in _SUBCLAUSE.finditer(before):
        start = boundary.end()
    negation = None
    for negation in _NOT_A_THREAT.finditer(before, start):
        pass
    if negation is None or _INTENT.search(before, negation.end()):
        return False
    return _BUT.search(after) is None


def _sue(low: str, original: str, start: int, end: int, word: str, before: str) -> bool:
    """ "I will sue you", "I'm going to sue", "we're considering suing": the verb, said by
    the writer or aimed at the business; not "Sue from your team" nor "sue my card"."""
    rest = low[end:end + 40]
    if _SUE_NOT_AIMED.match(rest):
        return False
    intent = (_SUE_INTENT if word == "sue" else _SUING_INTENT).search(before[-80:]) is not None
    capital = len(low) == len(original) and original[start] == "S"
    if capital and start and not _SENTENCE_END.search(low[max(0, start - 3):start]) and not intent:
        return False  # "Sue" with a capital inside a sentence is a name ("I spoke to Sue").
    return intent or _SUE_OBJECT.match(rest) is not None


def _lawyer(before: str, after: str) -> bool:
    """ "I have contacted an attorney", "my lawyer will be in touch"; not "my lawyer asked me
    to request copies", a law firm's signature or "power of attorney"."""
    if _LAWYER_NOT_A_THREAT.search(before + " " + after) or _LAWYER_SIGNATURE.match(after):
        return False
    return (_LAWYER_VERB.search(before) is not None or _LAWYER_ACTS.match(after) is not None
            or _LAWYER_CORRESPONDENCE.search(before) is not None)


def _chargeback(before: str, after: str) -> bool:
    """ "I'll file a chargeback", "next step is a chargeback"; not "what is a chargeback?"
    nor a pitch to cut "chargeback rates"."""
    if _CHARGEBACK_NOT_A_THREAT.search(before + " " + after):
        return False
    return (_CHARGEBACK_ACTION.search(before) is not None or _CHARGEBACK_AFTER.match(after) is not None
            or _INTENT.search(before) is not None)


def _court(before: str, after: str) -> bool:
    """ "take you to court", "see you in court"; not "tennis court" or "Supreme Court"."""
    if not _COURT_PHRASE.search(before):
        return False
    return _COURT_OBJECT.search(before[-40:]) is not None or _INTENT.search(before + " " + after) is not None


def _small_claims(before: str, after: str) -> bool:
    if _AGAINST_SOMEONE_ELSE.search(after):
        return False
    return _INTENT.search(before + " " + after) is not None or _COMPLAINT_VERB.search(before) is not None


def _proceedings(before: str, after: str) -> bool:
    return not _AGAINST_SOMEONE_ELSE.search(after) and not _LAWYER_NOT_A_THREAT.search(before + " " + after)


def _counsel(before: str, after: str) -> bool:
    return _INTENT.search(before) is not None and not _LAWYER_NOT_A_THREAT.search(before + " " + after)


def _regulator(before: str, after: str) -> bool:
    if _REGULATOR_NOT_A_THREAT.search(before + " " + after[:30]):
        return False
    return _COMPLAINT_VERB.search(before) is not None or _INTENT.search(before) is not None


def _bank_dispute(before: str, after: str) -> bool:
    return _BANK_DISPUTE_AFTER.match(after) is not None or _BANK_DISPUTE_BEFORE.search(before) is not None


def _bank(before: str, after: str) -> bool:
    return _BANK_ACTION.search(before) is not None and _INTENT.search(before + " " + after) is not None


def _with_intent(before: str, after: str) -> bool:
    return _INTENT.search(before + " " + after) is not None


_THREAT_CONTEXT: dict[str, Callable[[str, str], bool]] = {
    "proceedings": _proceedings,
    "court": _court,
    "claims": _small_claims,
    "counsel": _counsel,
    "lawyer": _lawyer,
    "regulator": _regulator,
    "chargeback": _chargeback,
    "dispute": _bank_dispute,
    "bank": _bank,
    "report": lambda before, after: _REPORT_BY_ME.search(before) is not None,
    "bank_claim": _with_intent,
    "foreign_legal": lambda before, after: True,
}
"""For each kind of trigger word (but "sue", which reads the original case too): does its
clause make it a threat?"""


def threat(text: str) -> str | None:
    """The words of a chargeback, legal or regulator threat aimed at the business, or None.

    "I will sue you", "my lawyer will be in touch", "I'll file a chargeback", "I'm reporting
    you to the FTC", "I'm going to the ombudsman": each names its key words ("sue",
    "lawyer", "chargeback", "reporting you to the ftc", "ombudsman"). Context decides, not
    the word: "Sue from your team", "Shareholders sue PayPal", "a tennis court", "my lawyer
    asked me to request copies of my invoices", "what is a chargeback?", a law firm's
    signature and "I'm not going to take legal action" are no threat.
    """
    found = _find_threat(text)
    return found[0] if found else None


def _find_threat(text: str) -> tuple[str, int] | None:
    """:func:`threat`'s words and where they start in the text."""
    low, scan = _prepare(text)
    for hit in _THREAT_TRIGGER.finditer(scan):
        start = hit.start()
        if _quoted_line(low, start):
            continue
        before = _before(low, start)
        for kind, pattern in _THREAT_KINDS.items():
            match = pattern.match(low, start)
            if match is None:
                continue
            words, end = match.group(0), match.end()
            after = _after(low, end)
            if kind == "sue":
                aimed = _sue(low, text, start, end, words, before)
            else:
                aimed = _THREAT_CONTEXT[kind](before, after)
            if aimed and not _negated_threat(before, after):
                return _words(words), start
    return None


# --------------------------------------------------------------------- acknowledgement

ACKNOWLEDGEMENT_MAX_CHARS = 400
"""A thank-you is short; a longer note almost always says something more."""

_THANKS = _word_start_alternation((
    r"thanks\b", r"thank you\b", r"thank u\b", r"thanx\b", r"thx\b", r"thnx\b", r"ty\b", r"tysm\b", r"cheers\b",
    r"ta\b", r"many thanks\b", r"much appreciated\b", r"appreciate it\b", r"appreciated\b", r"got it\b",
    r"gotcha\b", r"noted\b", r"all (?:good|sorted|clear|set|fine|done)\b", r"sorted\b", r"perfect\b", r"great\b",
    r"brilliant\b", r"lovely\b", r"awesome\b", r"excellent\b", r"wonderful\b", r"fantastic\b", r"amazing\b",
    r"legend\b", r"cool\b", r"ok\b", r"okay\b", r"no worries\b", r"no problem\b", r"will do\b", r"sounds good\b",
    r"makes sense\b", r"that works\b", r"that's fine\b", r"fine by me\b", r"understood\b", r"gracias\b",
    r"perfecto\b", r"vale\b", r"entendido\b", r"danke\b", r"vielen dank\b", r"alles klar\b", r"perfekt\b",
    r"super\b", r"merci\b", r"parfait\b", r"c'est not[ée]\b", r"entendu\b", r"grazie\b", r"perfetto\b",
    r"obrigad[oa]\b", r"perfeito\b", r"bedankt\b", r"dank je\b", r"dank u\b", r"prima\b", r"dzi[eę]kuj[eę]\b",
    r"agradec\w*", r"ringrazi\w*", r"remerci\w*", r"bedank\w*", r"takk\b", r"tusen takk\b", r"tack\b",
    r"tak\b", r"kiitos\b", r"te[şs]ekk[üu]r\w*", r"k[öo]sz[öo]n\w*", r"d[ěe]kuj\w*", r"ďakujem\b", r"dakujem\b",
    r"hvala\b", r"mul[țt]umesc\b", r"ευχαριστ\w*", r"спасибо\b", r"дякую\b",
))
"""Words that thank or acknowledge ("received" is not one: it starts complaints too)."""

_POLITE_NEGATIONS = _word_start_alternation((
    r"didn't (?:realise|realize|expect|know)\b", r"couldn't (?:believe|be happier|ask for more|have asked)\b",
    r"can't (?:thank|believe|wait|recommend)\b", r"wasn't your fault\b",
    r"no need (?:for|to (?:reply|respond|do)) anything(?: else)?\b", r"no need to (?:reply|respond)\b",
    r"no further action\b", r"(?:thanks|thank you) (?:so much )?for (?:chasing|checking in)\b", r"all the best\b",
    r"best wishes\b", r"no complaints\b",
    (r"(?:thanks|thank you|thank u|thx|cheers|many thanks) (?:so much |very much |a lot |again )?for "
     r"(?:the|my|your|sorting(?: out)? the|processing the|issuing the|sending the) refund\b"),
    (r"(?:the |my )?refund (?:has |have |is |was )?(?:now )?(?:arrived|landed|received|come through|came through"
     r"|gone through|went through|showed up|shown up|turned up|cleared)\b"),
    r"(?:received|got|seen) (?:the|my) refund\b", r"merci (?:beaucoup |bien )?pour (?:le|votre) remboursement\b",
    r"(?:danke|vielen dank) f[üu]r die (?:r[üu]ck)?erstattung\b", r"gracias por el reembolso\b",
    r"grazie (?:mille )?per il rimborso\b", r"obrigad[oa] pelo (?:reembolso|estorno)\b",
    r"recebi o (?:reembolso|estorno)\b",
))
"""Words that deny something without asking for anything ("I didn't realise", "can't thank
you enough"): taken out before looking for what a note asks."""

_ASKS = _word_start_alternation((
    r"but\b", r"however\b", r"although\b", r"though\b", r"still\b", r"yet\b", r"again\b", r"not\b",
    r"no longer\b", r"never\b", r"nothing\b", r"none\b", r"wrong\b", r"incorrect\b",
    (r"no (?:one|body|reply|response|answer|sign|data|service|signal|internet|access|idea|way|refund|money"
    r"|confirmation|email|update|news|record|longer)\b"),
    r"missing\b", r"broken\b", r"damaged\b", r"faulty\b", r"problems?\b", r"issues?\b", r"errors?\b",
    r"you can\b(?! close (?:the|my|this) (?:case|ticket|query|request))", r"go ahead\b", r"if possible\b",
    r"here (?:is|are)\b", r"attached\b", r"as requested\b", r"you asked for\b", r"please\b", r"pls\b", r"plz\b",
    r"(?:can|could|would|will) (?:you|u|someone|somebody|anyone)\b", r"(?:can|could|may) (?:i|we)\b", r"do you\b",
    r"need\b", r"needs\b", r"want\b", r"wants\b", r"would like\b", r"i'd like\b", r"we'd like\b", r"wondering\b",
    r"wonder\b", r"let me know\b", r"help me\b", r"need help\b", r"charged\b", r"charges?\b", r"refunds?\b",
    r"cancel\w*", r"unsubscribe\w*", r"dispute\w*", r"complain\w*", r"waiting\b", r"asap\b", r"urgent\w*",
    r"unfortunately\b", r"sadly\b", r"except\b", r"instead\b", r"also\b", r"another\b", r"one more\b",
    r"additionally\b", r"(?:a|one|another|quick|other|follow-up) question\b", r"request\w*",
    r"while i have you\b", r"unrelated\b", r"p\.?s\b", r"by the way\b", r"btw\b", r"send\b", r"resend\b",
    r"change\b", r"update (?:my|the|our)\b", r"any chance\b", r"in advance\b", r"tia\b", r"confirm\b", r"check\b",
    r"following up\b", r"follow up\b", r"reminder\b", r"i prefer\b", r"twice\b", r"double\b", r"survey\b",
    r"pero\b", r"aber\b", r"mais\b", r"ma\b", r"maar\b", r"mas\b", r"bitte\b", r"por favor\b",
    r"s'il vous pla[iî]t\b", r"per favore\b", r"alstublieft\b", r"ainda\b", r"todav[ií]a\b", r"noch\b",
    r"encore\b", r"ancora\b", r"nog\b", r"quiero\b", r"quisiera\b", r"querr[ií]a\b", r"necesito\b",
    r"puede[ns]?\b", r"podr[ií]a[ns]?\b", r"saber si\b", r"me gustar[ií]a\b", r"je souhaite\b", r"je voudrais\b",
    r"pourriez\b", r"pouvez\b", r"merci de\b", r"merci d'", r"souhaiterais\b", r"je demande\b", r"vorrei\b",
    r"potete\b", r"potreste\b", r"volevo sapere\b", r"chiedo\b", r"ich m[öo]chte\b", r"k[öo]nnten\b",
    r"k[öo]nnen sie\b", r"gostaria\b", r"queria\b", r"preciso\b", r"podem\b", r"poderiam\b", r"solicito\b",
    r"ik wil\b", r"graag\b", r"kunt u\b", r"kunnen jullie\b", r"zou ik\b", r"prosz[eę]\b", r"chcia\w*",
    r"anular\b", r"cancelar\b", r"annuler\b", r"r[ée]silier\b", r"disdire\b", r"annullare\b", r"k[üu]ndig\w*",
    r"stornier\w*", r"widerruf\w*", r"reembolso\b", r"rembours\w*", r"rimborso\b", r"erstatt\w*",
    r"terugbetal\w*", r"opzeg\w*", r"zwrot\w*", r"anulowa\w*", r"dar de baja\b", r"pe[çc]o\b", r"pido\b",
    r"pedimos\b", r"favor\b", r"verifi\w*", r"estorn\w*", r"cobran[çc]\w*", r"cobr\w*", r"cargos?\b",
    r"addebit\w*", r"abbuch\w*", r"pr[ée]l[eè]vement\b", r"frais\b", r"geb[üu]hr\w*", r"doppelt\b",
    r"duplicad\w*", r"duplicat\w*", r"no more\b", r"n[ãa]o\b", r"quero\b", r"dont\b", r"cant\b", r"wont\b",
    r"stop\b",
    # a refusal or request in the languages the words above lack, and the side question
    # a thank-you carries (round 12): "je ne veux pas d'offre, merci", "iptal etmek
    # istiyorum ... teşekkürler", "jag vill säga upp ... tack", "would love to get numbers"
    r"(?:je |nous )?ne (?:veux|voulons|souhaite|souhaitons|d[ée]sire|peux|pouvons)\b", r"veuillez\b",
    r"indiquez\b", r"mettre fin\b", r"r[ée]sili\w*", r"(?:will|wollen|m[öo]chte|m[öo]chten) (?:nicht|kein\w*)\b",
    r"nicht mehr\b", r"no (?:quiero|queremos|deseo|deseamos|necesito|acepto|me interesa)\b", r"preferir\w*",
    r"devolv\w*", r"devuel\w*", r"non (?:voglio|vogliamo|desidero|accetto|mi interessa)\b",
    r"(?:wil|willen) (?:geen|niet)\b", r"(?:jag|vi|jeg) (?:vill|vil|ville)\b", r"s[äa]g(?:a)? upp\b",
    r"avsluta\w*", r"avslutt\w*", r"opsig\w*", r"oppsig\w*", r"si opp\b", r"sige op\b", r"afmeld\w*",
    r"avmeld\w*", r"återbetal\w*", r"aterbetal\w*", r"tilbakebetal\w*", r"tilbagebetal\w*", r"refusjon\b",
    r"pengarna tillbaka\b", r"pengene tilbake\b", r"pengene tilbage\b", r"sn[äa]lla\b", r"venligst\b",
    r"vennligst\b", r"kan (?:ni|dere|i) \w", r"haluan\b", r"peru(?:a|n|ttaa|utus|uttakaa)\w*", r"hyvity\w*",
    r"istiyorum\b", r"istemiyorum\b", r"iptal\w*", r"iade\w*", r"l[üu]tfen\b", r"rica ediyorum\b",
    r"checking in\b", r"circling back\b", r"get back to me\b", r"hear back\b",
    r"(?:would|i'd|we'd) love to (?:get|know|hear|have|find out|see)\b", r"hoping to (?:get|hear|know)\b",
))
"""Words of a note that asks, complains or says "but": any one of them and it is no
thank-you."""
_QUESTION_WORD = re.compile(
    r"(?:^|[.!,;:\n])\s*(?:why|how|when|where|what|which|who|is there|are there|do you|does|did you)\b"
)
"""A question without its question mark, at the start of a sentence ("how do I …")."""


def acknowledgement(newest_text: str) -> bool:
    """True for a short note that only thanks or acknowledges and asks for nothing:
    "thanks, got it!", "Perfect, received, cheers". Pass the sender's newest words, not the
    subject (a thank-you under "Re: Refund for order 4471" is still a thank-you).

    Anything that asks, complains or chases is not one: "Can you refund the second charge?
    Thanks!", "The amount of cash I received was incorrect", "thanks in advance",
    "Following up on the below - thanks!". "Received" on its own thanks nobody.
    """
    body = newest_text.strip()
    if not body or len(body) > ACKNOWLEDGEMENT_MAX_CHARS:
        return False
    low, scan = _prepare(body)
    if _THANKS.search(scan) is None:
        return False
    rest = _POLITE_NEGATIONS.sub(" ", scan)
    if "?" in rest or "n't" in rest or _ASKS.search(rest) or _QUESTION_WORD.search(low):
        return False
    return chasing(body) is None


# ---------------------------------------------------------------------- needs no reply

NO_REPLY_NEEDED = "says no reply is needed"
SALES_PITCH = "a sales pitch"
SURVEY = "a survey"
NEWSLETTER = "a newsletter"

_NO_REPLY_WORDS: dict[str, tuple[str, ...]] = {
    "no_reply": (
        r"no (?:need|reason) to (?:reply|respond|answer|get back)\b",
        r"no (?:reply|response|answer|action) (?:is )?(?:needed|necessary|required)\b",
        r"(?:you )?(?:don't|do not|dont) (?:need|have) to (?:reply|respond|answer|get back)\b",
        r"just (?:fyi|for your information|letting you know|so you know)\b", r"for your records\b",
        r"for info(?:rmation)? only\b", r"no hace falta (?:responder|contestar)\b", r"pas besoin de r[ée]pondre\b",
        r"keine antwort (?:nötig|notwendig|erforderlich)\b", r"não (?:precisa|é preciso) responder\b",
        r"non (?:serve|c'è bisogno di) rispondere\b", r"(?:je hoeft|u hoeft) niet te (?:antwoorden|reageren)\b",
    ),
    "request": (
        r"please\b", r"pls\b", r"can you\b", r"could you\b", r"would you\b", r"let me know\b",
        r"(?:i|we) (?:still )?(?:need|want)\b", r"need you to\b", r"needs to be\b",
        r"refund\b", r"cancel\w*", r"charged\b", r"wrong\b", r"broken\b", r"problem\b", r"still\b", r"asap\b",
        r"urgent\w*", r"por favor\b", r"bitte\b", r"s'il vous pla[iî]t\b", r"per favore\b", r"alstublieft\b",
    ),
    "opener": (
        r"i(?:'m| am) reaching out\b", r"(?:apologies|sorry) for reaching out\b",
        r"reaching out (?:because|to|from|on behalf|with|via)\b", r"i came across\b", r"came across your\b",
        r"i noticed (?:your|that|you|\w+(?:'s)? (?:manages|has|is|sits|runs|uses|only|doesn't|isn't))\b",
        r"i was (?:on|browsing|checking|looking at|reviewing|checking out) (?:your|\w+\.\w+)",
        r"we built \w+ to\b",
        r"hope (?:this|you're|you are) (?:email |message |note )?(?:finds|doing|well)\b",
        r"i hope this (?:email|message|note) finds\b", r"i(?:'m| am) \w+ from\b",
        r"my name is \w+(?: \w+)? (?:and|from|,)", r"i lead (?:partnerships|growth|sales|business development)\b",
        r"i (?:run|manage|head) (?:partnerships|growth|sales|business development|an agency)\b",
        r"i(?:'m| am) retained by\b", r"we help\b", r"we've helped\b", r"we have helped\b",
        r"helping (?:brands|businesses|companies|stores|teams|merchants|shops|marketplaces|retailers)\b",
        (r"our (?:agency|platform|team|company|solution|tool|software|app|service|studio) (?:helps|can help|offers"
        r"|provides|specialises|specializes|makes|lets|works with)\b"), r"we specialis\w*", r"we specializ\w*",
        r"we(?:'re| are) an? (?:\w+ ){0,3}(?:agency|startup|platform|studio|consultancy|company that)\b",
        r"(?:provides|offers) (?:fully|dedicated|affordable|professional)\b",
        (r"helps (?:\w+ ){0,3}(?:providers|companies|businesses|brands|retailers|hotels|merchants|teams|stores"
        r"|shops|marketplaces|platforms|owners)\b"), r"i(?:'m| am) \w+, an? ",
        (r"i(?:'m| am) an? (?:partner|founder|co-founder|consultant|photographer|creator|freelance \w+|designer"
        r"|developer|journalist|recruiter) (?:at|with|based|from)\b"),
        r"our (?:all-in-one|platform|software|solution)\b", r"(?:are|is) (?:switching|moving) to our\b",
        r"(?:dear|hello|hi) (?:business|website|shop|store) owner\b", r"did you know\b", r"wist u dat\b",
        r"sab[ií]as? que\b", r"gentile imprenditore\b", r"beste ondernemer\b", r"estimado empresario\b",
        r"cher entrepreneur\b", r"somos (?:a |o |la |el )?\w+",
        r"je me permets de vous (?:contacter|écrire|solliciter)\b",
        r"ich bin \w+ (?:von|vom)\b", r"me llamo \w+ y\b", r"mi chiamo \w+ e\b", r"sono \w+ di\b", r"lavoro con\b",
    ),
    "offer": (
        (r"(?:free|no-obligation|complimentary|gratuit[ao]?|kostenlose?) (?:audit|consultation|trial|demo|quote"
        r"|sample|report|review|analysis|strategy|assessment)\b"), r"partnerships?\b", r"partner with\b",
        r"collaborat\w*", r"sponsor\w*", r"affiliate\b", r"guest posts?\b", r"backlinks?\b", r"seo\b",
        r"search rankings?\b", r"(?:page (?:one|1)|first page) (?:of|on) google\b", r"rank(?:ing)? higher\b",
        r"lead gen\w*", r"conversion rates?\b",
        (r"(?:increase|boost|grow|lift|double|triple) (?:your )?(?:sales|revenue|conversions|traffic|bookings|roi"
        r"|business|brand|audience|reviews|ratings?|repeat)\b"),
        r"(?:cut|reduce|lower) (?:your )?(?:costs?|losses|packaging|response times|churn)\b",
        r"(?:cut|reduce|lower|halve|improve)d? (?:their |your )?(?:first[- ])?(?:response|reply|resolution) times?\b",
        r"save (?:you )?(?:\d+ ?%|time and money|\d+ hours|hours)", r"(?:up to|by) \d+ ?%", r"case stud(?:y|ies)\b",
        r"white[- ]label\b", r"outsourc\w*", r"\d+(?:\.\d+)?(?:/| per )(?:agent )?hour\b", r"per agent hour\b",
        r"proposal\b", r"pilot (?:team|program|project)\b", r"reseller\b", r"distributor\b", r"influencer\b",
        r"ugc\b", r"content creator\b", r"lookbook\b", r"web ?design\b", r"redesign\b", r"app development\b",
        r"marketing (?:agency|services|campaign|strategy)\b", r"social media (?:management|marketing)\b",
        r"opportunity\b", r"partenariat\b", r"kooperation\w*", r"zusammenarbeit\b", r"partnerschaft\b",
        r"colaboraci[oó]n\b", r"propuesta\b", r"posicionamiento\b", r"gratis\b", r"collaborazione\b", r"proposta\b",
        r"parceria\b", r"samenwerking\b", r"r[ée]f[ée]rencement\b", r"demo gratuit[ae]\b", r"fewer \w+",
        r"\d+(?:-\d+)? ?% (?:fewer|less|lower|more|cheaper)\b", r"bespaar\w*", r"risparmi\w*", r"ahorr\w*",
        r"(?:é|e)conomis\w*", r"tot \d+ ?%", r"fino al \d+ ?%", r"hasta (?:un )?\d+ ?%", r"followers\b", r"cennik\b",
        r"offerta\b", r"preventivo\b", r"bandi\b", r"finanziament\w*", r"fondo perduto\b", r"ag[êe]ncia\b",
        r"agenzia\b", r"agence\b",
    ),
    "ask": (
        (r"(?:book|schedule|grab|hop on|jump on|set up|arrange|have) (?:a |an )?(?:quick |short |brief |free )?"
        r"(?:\d+[- ]?min(?:ute)?s? )?(?:call|chat|demo|meeting|intro)\b"),
        r"\d+[- ]?min(?:ute)?s? (?:call|chat|demo|meeting)\b", r"quick (?:call|chat)\b",
        r"open to (?:a|an|exploring|chatting|discussing|hearing|it)\b",
        r"would you be (?:open|interested|the right)\b", r"are you (?:open|interested) (?:to|in)\b",
        r"worth (?:a|exploring|a quick)\b", r"(?:interested|keen) in (?:a|learning|exploring|hearing)\b",
        r"let me know if (?:you'd|you would|you're|you are|this)\b", r"right person\b", r"decision[- ]maker\b",
        r"who (?:handles|is responsible for|looks after)\b", r"happy to send (?:over|you)\b",
        r"send (?:over|you) (?:a|some|our) (?:deck|proposal|samples|portfolio|case stud)",
        r"(?:can|may|shall) i send you\b", r"calendly\b", r"unsubscribe\b", r"opt[- ]out\b",
        r"reply (?:stop|no\b|'stop'|\"stop\"|\"no thanks\")", r"not interested\b", r"rather not hear\b",
        r"if (?:this|it)(?:'s| is) not (?:a priority|relevant|for you)\b", r"(?:might|may|could) be of interest\b",
        r"welcome a (?:confidential |quick |short )?(?:conversation|chat|call)\b",
        r"(?:appel|llamada|chiamata|gespräch|call) (?:de |di |von )?\d+ ?min", r"si (?:le|les|te) interesa\b",
        r"richtige ansprechp\w+", r"ansprechpartner\b", r"w za[łl][ąa]czeniu przesy[łl]amy\b",
        r"(?:attached|enclosed) (?:is|you'll find|please find) our\b",
        r"our (?:price list|brochure|catalogue|catalog)\b", r"nuestro cat[áa]logo\b", r"il nostro listino\b",
        r"onze brochure\b", r"unser angebot\b",
    ),
    "customer": (
        (r"(?:my|our) (?:order|account|subscription|booking|reservation|refund|card|invoice|bill|plan|membership"
        r"|parcel|delivery|policy|ticket|tickets|contract|payment|statement)\b"),
        r"i (?:ordered|bought|paid|purchased|subscribed|booked|was charged|have been charged|got charged)\b",
        r"(?:refund me|cancel my|charged me)\b",
        r"(?:we(?:'re| are)|i(?:'m| am)) (?:evaluating|comparing|reviewing|considering|looking (?:at|for))\b",
        r"(?:request|form) (?:i|we) (?:submitted|sent|filled)\b", r"(?:i|we)(?:'ll)? need (?:a )?(?:pricing|quote)\b",
        r"how (?:do|can|would) (?:i|we)\b", r"where (?:do|can) (?:i|we)\b",
        r"do you (?:ship|offer|have a|sell|accept|deliver|support|take)\b", r"is it possible (?:to|for me)\b",
        r"can i (?:use|buy|order|get|apply|join|pay|change|add|return)\b",
    ),
    "survey": (
        r"how did we do\b", r"rate (?:your|our) (?:experience|service|support|visit|stay|recent)\b",
        (r"(?:take|complete|fill (?:in|out)|answer) (?:a|our|this|the|my) (?:short |quick |brief |\d+[- ]minute "
        r"|two[- ]minute |\d+[- ]min )?(?:survey|questionnaire|poll)\b"), r"how likely are you to recommend\b",
        r"on a scale (?:of|from)\b", r"(?:short|quick|brief|annual|\d+[- ]minute|\d+[- ]min) survey\b",
        r"we(?:'d| would) love (?:your|to hear) (?:feedback|your thoughts|what you think)\b",
        r"tell us (?:how we did|what you think)\b",
        r"we(?:'re| are) (?:running|conducting|doing) (?:a|an|our) (?:\w+ )?(?:survey|study|research)\b",
        r"survey link\b",
    ),
    "not_a_survey": (
        r"refund\b", r"cancel\w*", r"charged\b", r"still\b", r"broken\b", r"wrong\b", r"complain\w*",
        r"stop sending\b", r"why\b",
        r"(?:your|the) (?:survey|questionnaire) (?:link )?(?:doesn't|does not|won't|isn't)\b",
    ),
    "newsletter": (
        r"view (?:this email |it )?in (?:your |a )?browser\b", r"unsubscribe\b",
        r"manage (?:your )?(?:email )?(?:preferences|subscription)\b", r"you(?:'re| are) receiving this\b",
        r"you (?:signed up|subscribed) (?:for|to)\b", r"this week's\b", r"in this issue\b", r"newsletter\b",
        r"read more\b", r"forward (?:this )?to a friend\b", r"no longer wish to receive\b",
        r"update your preferences\b", r"follow us on\b",
    ),
    "not_a_newsletter": (
        r"i (?:have |already |keep )?(?:clicked|pressed|hit|tried)\b", r"unsubscribed\b",
        r"stop (?:sending|emailing)\b",
        r"remove me\b", r"still (?:get|getting|receiving)\b", r"take me off\b", r"please\b", r"why\b", r"i want\b",
    ),
}
"""The words of mail that asks nothing, and of mail that does, by kind."""

_NO_REPLY_SIGNS = ("no_reply", "opener", "offer", "ask", "survey", "newsletter")
"""The kinds that can make a message need no reply; the others only ever veto them, so
they are looked for only when one of these is found (most mail has none)."""


def _kinds_matcher(kinds: Iterable[str]) -> tuple[LazyPattern, dict[str, LazyPattern]]:
    kinds = tuple(kinds)
    trigger = _word_start_alternation(p for kind in kinds for p in _NO_REPLY_WORDS[kind])
    return trigger, {kind: _phrases(_NO_REPLY_WORDS[kind]) for kind in kinds}


_SIGNS = _kinds_matcher(_NO_REPLY_SIGNS)
_VETOES = _kinds_matcher(kind for kind in _NO_REPLY_WORDS if kind not in _NO_REPLY_SIGNS)


def _kinds_found(text: str, matcher: tuple[LazyPattern, dict[str, LazyPattern]]) -> dict[str, set[str]]:
    """Kind -> the distinct words of that kind in the text, in one pass."""
    trigger, kinds = matcher
    low, scan = _prepare(text)
    found: dict[str, set[str]] = {}
    for hit in trigger.finditer(scan):
        start = hit.start()
        for kind, pattern in kinds.items():
            match = pattern.match(low, start)
            if match is not None:
                found.setdefault(kind, set()).add(match.group(0))
    return found


def needs_no_reply(body: str, subject: str = "") -> str | None:
    """Why a message asks nothing of the support team, or None.

    Sales pitches and cold outreach (any two of: an opener such as "I came across your
    store", an offer such as "SEO" or "partnership", a call to action such as "open to a
    15-minute call?"), surveys written to the inbox ("how did we do?"), newsletters, and
    notes that say "no need to reply" or "just FYI" while asking for nothing. A customer
    who mentions a partner, an offer or a newsletter while asking about their order is not
    one. ``body`` is the sender's newest words; ``subject`` may name a pitch's offer
    ("Partnership opportunity").
    """
    found = _kinds_found(body, _SIGNS)
    if not found:
        return None
    found.update(_kinds_found(body, _VETOES))
    if "no_reply" in found and "request" not in found and "?" not in body:
        return NO_REPLY_NEEDED
    if "customer" in found:
        return None
    offer = "offer" in found or (subject and "offer" in _kinds_found(subject, _SIGNS))
    if ("opener" in found) + ("ask" in found) + bool(offer) >= 2:
        return SALES_PITCH
    if "survey" in found and "not_a_survey" not in found:
        return SURVEY
    if len(found.get("newsletter", ())) >= 2 and "not_a_newsletter" not in found:
        return NEWSLETTER
    return None


# ---------------------------------------------------------------------------- negated

_NEGATED_WORDS: dict[str, tuple[str, ...]] = {
    "cancellation": (
        (r"(?:don't|do not|dont|doesn't|does not) (?:really |actually |necessarily )?(?:want|wish|need|mean|intend"
        r"|plan) to (?:fully |completely |actually |totally )?(?:cancel|terminate|quit|close (?:my|the|our|it|this)"
        r"|end (?:my|the|our) (?:subscription|membership|contract|plan|account))\b"),
        (r"(?:i'm|i am|im|we're|we are) not (?:\w+ )?(?:looking|trying|asking|wanting|planning|going|hoping"
        r"|intending) to (?:fully |completely )?(?:cancel|terminate|quit|close)\b"),
        r"(?:i'm|i am|im|we're|we are) not (?:cancel(?:l?ing)|quitting|leaving)\b",
        r"not (?:asking|looking) (?:you )?(?:to|for) (?:a |the )?cancel(?:lation)?\b",
        r"(?:please )?(?:don't|do not|dont) cancel\b", r"no need to cancel\b",
        r"(?:rather than|instead of|without) cancel(?:l?ing)?\b",
        r"not (?:to )?(?:cancel(?:l?ing|lation)?|quit|leave|leaving)\b",
        r"no (?:quiero|deseo) (?:cancelar|dar(?:me|nos)? de baja)\b", r"sin cancelar\b",
        r"ich (?:möchte|will) nicht kündigen\b",
        r"nicht kündigen\b", r"ohne zu kündigen\b", r"je ne (?:veux|souhaite) pas (?:annuler|r[ée]silier)\b",
        r"sans (?:annuler|r[ée]silier)\b", r"ne pas (?:annuler|r[ée]silier)\b", r"não quero cancelar\b",
        r"sem cancelar\b", r"non (?:voglio|desidero) (?:cancellare|disdire|annullare)\b",
        r"senza (?:cancellare|disdire)\b", r"ik wil niet opzeggen\b", r"niet opzeggen\b", r"zonder op te zeggen\b",
    ),
    "refund": (
        (r"(?:don't|do not|dont) (?:really )?(?:want|need|expect|require|ask for) (?:a |any |the )?(?:refund|money back"
        r"|my money back)\b"),
        (r"not (?:asking|looking|after|requesting|seeking|wanting|expecting|interested in|bothered about|fussed about"
        r"|chasing) (?:for )?(?:a |any |the |my )?(?:refund|money back|my money back)\b"),
        r"not (?:writing|here|emailing) (?:for|about) (?:a )?(?:refund|money)\b",
        r"no need (?:to|for a|for any) refund\b", r"no refund (?:is )?(?:needed|necessary|required)\b",
        r"(?:please )?(?:don't|do not|dont) refund\b", r"not a refund\b",
        r"no (?:quiero|necesito|pido) (?:un |el |ning[uú]n )?reembolso\b",
        r"no hace falta (?:el |un |ning[uú]n )?reembolso\b",
        r"ich (?:möchte|will|brauche) kein(?:e|en)? (?:erstattung|rückerstattung|geld zurück)\b",
        r"je ne (?:veux|demande|souhaite) pas (?:de |d'|le )?rembours\w*", r"pas besoin de rembours\w*",
        r"não (?:quero|preciso|peço) (?:o |um |de )?reembolso\b", r"non (?:voglio|chiedo) (?:un |il )?rimborso\b",
        r"ik wil (?:mijn geld )?niet terug\b",
    ),
    "fee_dispute": (
        r"(?:i'm|i am|im|we're|we are) not (?:disputing|contesting|questioning)\b",
        r"not (?:a )?(?:dispute|disputing) (?:the|this|a) (?:charge|fee|payment)\b",
    ),
}
"""What a message says it is not asking for, by category."""

_NEGATED_TRIGGER = _word_start_alternation(p for patterns in _NEGATED_WORDS.values() for p in patterns)
_NEGATED_KINDS = {kind: _phrases(patterns) for kind, patterns in _NEGATED_WORDS.items()}
_BARE_NOT = re.compile(r"not\s+(?:to\s+)?(?:cancel|quit|leav)")
_NOT_AFTER = re.compile(r"(?:[,;(\-\u2013\u2014]|\b(?:but|and|just|pause\w*|freeze|suspend\w*|hold))\s*$")
"""A bare "not cancelling" counts only after a comma or "but"/"just"/"pause" ("pause it, not
cancel"); "why can I not cancel?" is no negation."""

_ASKED = {
    "cancellation": re.compile(spaces(
        r"\b(?:please|pls|kindly|can you|could you|would you|want to|wish to|like to|need to|have to"
        r"|go ahead and|just|and|i want|i'd like|would like) (?:to )?(?:cancel|close|terminate)\b"
        r"|\bcancel (?:my|our|the|it|this|that|them|both|all|everything)\b|\bcancellation (?:request|of my|please)\b"
        r"|\bclose my (?:account|membership)\b"
    )),
    "refund": re.compile(spaces(
        r"\brefund (?:me|my|the|it|this|that|us|all|both|in full)\b|\b(?:want|need|like|request|requesting|expect"
        r"|asking for|ask for|get|issue|process) (?:a |my |the |full |partial |an? )?refund\b"
        r"|\b(?:want|need|like) (?:my|the|our) money back\b|\breimburse (?:me|us)\b"
    )),
    "fee_dispute": re.compile(spaces(
        r"\b(?:i dispute|i'm disputing|i am disputing|remove (?:the|this|that|it)|removed|reverse\w*|refund\w*"
        r"|didn't agree|did not agree|never agreed|not paying|won't pay|overcharg\w*|charged (?:me )?twice"
        r"|wrongly charged|shouldn't have been charged)\b"
    )),
}
"""The same categories asked for in other words: they outweigh the negation."""


def asked(text: str, categories: Iterable[str]) -> list[str]:
    """``categories`` (a classifier's decision, in order) without those the message says
    it is not asking for (:func:`negated`)."""
    categories = list(categories)
    refused = negated(text) if categories else set()
    return [c for c in categories if c not in refused]


def negated(text: str) -> set[str]:
    """The categories the message says it is *not* asking for: "I don't want to cancel
    altogether, just pause", "not asking for a refund, just an explanation", "please don't
    cancel it, change the date", "no need to refund". A category also asked for in other
    words is left out ("I don't want to cancel my whole account, just cancel the add-on"
    asks for a cancellation). Categories: ``refund``, ``cancellation``, ``fee_dispute``.
    """
    low, scan = _prepare(text)
    spans: dict[str, list[tuple[int, int]]] = {}
    for hit in _NEGATED_TRIGGER.finditer(scan):
        start = hit.start()
        if _quoted_line(low, start):
            continue
        for kind, pattern in _NEGATED_KINDS.items():
            match = pattern.match(low, start)
            if match is None:
                continue
            if _BARE_NOT.match(match.group(0)) and not _NOT_AFTER.search(low, max(0, start - 12), start):
                continue
            spans.setdefault(kind, []).append(match.span())
    if not spans:
        return set()
    masked = list(low)
    for ranges in spans.values():
        for start, end in ranges:
            masked[start:end] = " " * (end - start)
    rest = "".join(masked)
    return {kind for kind in spans if not _ASKED[kind].search(rest)}


# ---------------------------------------------------------------------------- chasing

_COUNT = r"(?:twice|three times|four times|five times|six times|several times|multiple times|many times|\d+ times)"
_ORDINAL = r"(?:second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|umpteenth|nth)"
_CONTACT = r"(?:email|e-mail|mail|message|letter|request|reminder|chaser|follow[- ]up|note|complaint|query|enquiry)"
_CONTACT_ONCE_MORE = r"(?:email|e-mail|mail|message|request|chaser|follow[- ]up|complaint|query|enquiry)"
_REPLY = r"(?:reply|replies|response|responses|answer|answers|word|call ?back|acknowledge?ment)"

_CHASING_WORDS: tuple[str, ...] = (
    # "any update?", "any news on my refund?"
    r"any (?:update|updates|news|progress|word|answer|feedback)(?: yet| on (?:this|that|it)(?: one)?)? ?[?!]",
    (r"any (?:update|updates|news|progress|answer)(?: yet)? (?:on|about|regarding|with) (?:ticket|case|my|this|our"
    r"|the (?:refund|request|ticket|case|complaint|claim|cancellation|below|email below|message below))\b"),
    # "I wrote last week", "I emailed on the 3rd", "I sent you an email ten days ago"
    (r"i (?:have |had |'ve )?(?:already |now |just )?(?:wrote|written|emailed|e-mailed|messaged|contacted you"
    r"|sent (?:you )?(?:an? )?(?:email|message|e-mail|letter|the (?:email|message) below)|send (?:an? )?(?:email"
    r"|message)|reached out|submitted (?:a|my|the) (?:request|ticket|form|complaint)|opened (?:a )?ticket)"
    r"(?: (?:to you|you|in|about this|about it|this|it|here|to this address|through your \w+(?: form)?))?"
    r" (?:last (?:week|month|\w+day)|yesterday|on (?:the )?\d|on (?:\w+day|the \d+\w*)|\d+ (?:days|weeks) ago"
    r"|(?:a|one|two|three|four|ten|a few|a couple of) (?:days?|weeks?|months?) ago|already|before|earlier"
    r"|previously|again|about (?:a|two|three|ten) (?:days?|weeks?) ago)"),
    r"(?:emailed|wrote to|written to|messaged) you (?:\d+|a|one|two|three|a few|a couple of) (?:days?|weeks?) ago\b",
    # "I've called twice already", "I've asked three times", "emailed twice now"
    r"(?:asked (?:you|for (?:this|it))|called|rang|phoned|emailed|e-mailed|written|wrote|messaged|contacted"
    r"|been in touch|chased|followed up|replied|explained this|told you|reported (?:this|it)|raised (?:this|it)"
    r"|complained|appel[ée]|gebeld|llam[ée]|liguei|chiamato)(?: (?:you|u|to you|with you"
    r"|your (?:\w+ )?(?:team|office|helpline|hotline|support|line|number|desk|branch|showroom|store|shop)"
    r"|(?:about|for) (?:this|it)|this|it|in (?:the )?(?:app|chat)|(?:through|via|on|in|by) (?:your |the )?(?:app"
    r"|chat|website|site|form|phone|email|live chat)|here|already|now|so far))* " + _COUNT + r"\b",
    r"how many (?:more )?times (?:do|must|will|have|should) i (?:have to )?(?:ask|write|email|call|tell|chase)\b",
    # "still no answer", "still haven't heard back", "still waiting to hear back"
    r"still (?:no|not had|not received|not heard|haven't had|have not had|haven't received|have not received"
    r"|haven't heard|have not heard|haven't got|have not got|don't have|do not have|nothing|without) (?:a |an |any "
    r"|one |your )?(?:single )?(?:" + _REPLY + r"|back|anything|from you|news)\b",
    (r"still (?:waiting|awaiting) (?:to hear|for (?:a|an|any|your) (?:reply|response|answer|call ?back|update)"
    r"|on (?:a|an|any|your) (?:reply|response|answer))\b"),
    (r"(?:haven't|have not|i've not|we've not|hasn't|has not|never|didn't|did not) (?:yet )?"
    r"(?:heard|had|got|gotten|received) (?:anything |any )?(?:back|a reply|a response|an answer|any (?:reply|response|answer|word|update|news"
    r"|acknowledge?ment)|a single (?:reply|word|response)|a word|from (?:you|anyone|anybody)|an acknowledge?ment"
    r"|acknowledge?ment|anything (?:back|from you|since))\b"),
    r"(?:haven't|have not|i've not|we've not|not|never) (?:yet )?heard (?:a thing|a word|anything|back)\b",
    r"(?:haven't|have not|i've not|we've not|hasn't|has not|never) (?:yet )?seen (?:a|any) (?:reply|response|answer)\b",
    (r"(?:didn't|did not|don't|do not|haven't|have not) (?:yet )?(?:receive|get|take|got|have) (?:any |a )?(?:reply"
    r"|response|answer)\b"),
    r"(?:had|have had|received|got|get) no (?:reply|response|answer|acknowledge?ment)\b(?! for)",
    (r"no (?:reply|response|answer|word|acknowledge?ment)s? (?:yet|so far|to (?:my|either|any|both)|since|at all"
    r"|in \d+|for (?:\d+|a|two|three|over|more)|after|from you)\b"),
    r"(?:zero|not one|not a single) (?:human )?(?:replies|reply|responses|response|answers|answer)\b",
    (r"(?:days|weeks|months)(?: of silence|,? (?:and )?(?:still )?(?:no (?:reply|response|answer|word)|nothing))"
    r"(?= ?[.!]| *$|  )"),
    r"nothing since\b", r"(?:nobody|no one|no-one) has ?[.!]",
    (r"(?:nobody|no one|no-one|noone) (?:has )?(?:replied|responded|answered|got back|gotten back|come back"
    r"|called back|rang back|bothered) (?:to|yet|since|at all|for|me)\b"),
    # "this is my third email", "second email", "4th time contacting you"
    r"(?:this|it) is (?:now )?(?:my|the) " + _ORDINAL + r" (?:" + _CONTACT + r"|time (?:i'm |i am |i've |i have "
    r"|that i )?(?:writing|write|written|emailing|emailed|asking|asked|contacting|contacted|reaching out|chasing"
    r"|requesting|reporting|reported|raising|sending))\b",
    r"(?:that's|it's|its) (?:my|the) " + _ORDINAL + r" " + _CONTACT + r"\b",
    _ORDINAL + r" (?:" + _CONTACT_ONCE_MORE + r"|time (?:of asking|asking|writing|i write|i've written|i have written"
    r"|contacting you|i'm writing|i am writing|i've asked|i have asked|i've emailed|i have emailed)"
    r"|attempt to (?:contact|reach|get hold of))\b",
    r"for the (?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time[:,]",
    # "following up on my message of 3 May", "just checking you got my email below"
    (r"follow(?:ing)?[- ]up (?:on|about|regarding|re|to) (?:my|our|the|this|an?) (?:previous |last |earlier "
    r"|original |recent |unanswered )?(?:email|e-mail|message|request|ticket|query|complaint|letter|call|chat"
    r"|enquiry|inquiry|mail|case|note|form|application|conversation|question)\b"),
    (r"following up (?:on|about) (?:this|the below|my (?:\w+ )?(?:email|message|request|query|ticket|refund|claim"
    r"|complaint|question|letter|enquiry|inquiry|application|chat|call))\b"),
    (r"(?:just )?checking (?:in )?(?:on |whether |if |that )?(?:you (?:got|received|saw|had a chance)"
    r"|my (?:\w+ )?(?:email|message|request|query|ticket))\b"),
    r"checking (?:this|it) (?:went|got) through\b",
    r"(?:checking|circling) back (?:in )?(?:on|about|regarding)\b",
    r"did (?:anyone|anybody|you|someone) (?:get|have|manage) (?:a )?(?:chance )?to (?:look|check|read|reply)\b",
    r"(?:gentle|friendly|polite|quick|another|second|2nd|third|final|last) (?:reminder|nudge|chase|bump)\b",
    r"reminder (?:about|regarding|of|on) my\b",
    (r"(?:sorry|apologies) (?:to|for) (?:keep |keeping )?(?:chase|chasing|pester|pestering|nag|nagging"
    r"|bother you again|write again|writing again)\b"),
    r"(?:just )?resurfacing this\b",
    r"chasing (?:this|my|up|again|you)\b",
    r"is (?:anyone|anybody|someone|any1) (?:there|reading|home|out there|looking|actually|alive)\b",
    r"(?:anyone|anybody|any1) there ?[?!]",
    r"does (?:anyone|anybody) (?:read|check|answer|monitor)\b",
    r"(?:ignored|ignoring) (?:my|me|our)\b",
    (r"(?:writing|emailing|asking|contacting you|write) (?:again|once again|yet again|one more time|once more"
    r"|for the (?:second|third|fourth|fifth|\d+\w*) time)\b"),
    (r"(?:forwarding|resending|re-sending|sending) (?:this|it|my (?:own )?(?:\w+ )?(?:email|message|request"
    r"|question|claim|query|complaint|report)|the (?:email|message|report|request) below|our request)"
    r"(?: again| from (?:a|\d+|last|three|two|ten)| in case)\b"),
    r"resending (?:this|my|the)\b",
    r"(?:nudging|bumping) (?:this|my)\b",
    (r"(?:it's|it has|its) been (?:over |more than |nearly |almost )?(?:\w+ )?(?:days|weeks|months|a week"
    r"|a month) since i (?:wrote|emailed|contacted|sent|asked|called|first|reported|raised|submitted|messaged)\b"),
    # Spanish
    r"sigo (?:esperando (?:una |su |vuestra )?respuesta|sin (?:respuesta|noticias))",
    r"todav[ií]a no (?:he recibido|tengo) (?:ninguna )?respuesta", r"(?:sigue|siguen|contin[uú]a) sin respuesta",
    r"sin respuesta (?:desde|hasta ahora|todav[ií]a|a[uú]n)", r"ya (?:os|les|le|te) (?:escrib[ií]|llam[ée])",
    r"(?:os|les|le|te) escrib[ií] (?:el|hace|la semana)",
    r"(?:segunda|tercera|cuarta) vez que (?:os |les |le |te )?(?:escribo|pido|reclamo|contacto|llamo)",
    r"(?:segundo|tercer|cuarto) (?:correo|email|mensaje|aviso)", (r"(?:segunda|tercera) (?:consulta|solicitud"
    r"|reclamaci[oó]n)"), r"alguna novedad", r"(?:les|os) escribo de nuevo", r"(?:les|os|le|te) vuelvo a escribir",
    r"no he recibido (?:ninguna )?respuesta", r"nadie me (?:contest[oóa]|respond[eiió]+)",
    r"(?:os|les|le) lleg[oó] mi (?:correo|mensaje|email)", (r"llevo (?:\w+ )?(?:d[ií]as|semanas) (?:esperando"
    r"|sin respuesta)"),
    # French
    r"toujours (?:pas de|aucune|sans) (?:r[ée]ponse|nouvelles)", r"je vous ai (?:d[ée]j[àa] )?(?:[ée]crit|relanc[ée])",
    r"(?:deuxi[eè]me|troisi[eè]me|2e|3e|quatri[eè]me) (?:mail|e-mail|message|relance|demande)",
    r"(?:deuxi[eè]me|troisi[eè]me|quatri[eè]me) fois que je (?:vous )?(?:[ée]cris|demande|relance)", r"relance\b",
    r"(?:toujours|rest[ée]e?s?) sans r[ée]ponse", r"sans r[ée]ponse (?:depuis|[àa] ce jour)", r"aucune r[ée]ponse",
    r"revenir vers vous (?:concernant|au sujet de|[àa] propos de) (?:ma|mon|mes)",
    r"n'ai (?:pas|toujours pas|jamais) (?:eu|re[çc]u) (?:de |d'|aucune? )?(?:retour|r[ée]ponse)",
    # German
    r"immer noch (?:keine|nicht) (?:antwort|rückmeldung|reaktion)",
    r"(?:noch|bisher|bis heute) (?:immer )?keine (?:antwort|rückmeldung|reaktion)",
    r"ich habe (?:ihnen |euch )?(?:bereits|schon) (?:am \S+ (?:\S+ )?)?(?:geschrieben|gemailt|angerufen)",
    r"(?:zweite|dritte|vierte) (?:mail|e-mail|nachricht|anfrage|erinnerung)",
    r"(?:schreibe|frage|melde) ich (?:mich )?(?:ihnen |euch )?(?:jetzt )?zum (?:zweiten|dritten|vierten) mal",
    r"erneute anfrage", r"nochmals:", r"erinnerung:", r"nachfrage:", (r"(?:bisher|noch|leider) ohne (?:antwort"
    r"|rückmeldung)"), r"keine antwort auf", r"zum wiederholten mal", r"freundlich nachzufragen",
    # Portuguese
    r"ainda (?:não|sem) (?:recebi |tive |obtive )?(?:resposta|retorno)", r"j[áa] (?:vos |lhe |te )?(?:escrevi|enviei)",
    r"(?:segunda|terceira|quarta) vez que (?:escrevo|peço|entro em contato)", r"(?:segunda|terceira) mensagem",
    r"alguma novidade", r"(?:continuo|continua|sigo) (?:a )?(?:esperar|esperando|aguardar|aguardando|sem resposta)",
    r"sem resposta (?:até agora|desde|ainda)", r"(?:segundo|terceiro|quarto) (?:protocolo|e-?mail|pedido)",
    r"venho (?:mais uma vez|novamente)", r"ningu[ée]m (?:me )?(?:responde|respondeu)", r"relembrar",
    # Italian
    r"ancora (?:nessuna|non ho ricevuto) (?:risposta|notizia)", r"vi ho (?:gi[àa] )?(?:scritto|contattato|chiamato)",
    r"(?:seconda|terza|quarta) volta che (?:vi )?(?:scrivo|chiedo|contatto)", r"sollecito", r"nessuna risposta",
    r"sto ancora aspettando", r"non ho (?:più |ancora )?(?:avuto|ricevuto) (?:notizie|risposta|riscontro)",
    # Dutch
    r"nog (?:steeds )?geen (?:antwoord|reactie)", (r"ik heb (?:u|jullie) (?:al )?(?:eerder |vorige week )?(?:gemaild"
    r"|geschreven|gebeld)"), r"(?:tweede|derde|vierde) (?:mail|e-mail|bericht)", r"(?:tweede|derde) keer dat ik",
    r"herinnering:", r"(?:nog )?(?:steeds )?(?:niets|niks) gehoord", r"reactie op mijn (?:mail|e-mail|bericht) van",
    r"(?:twee keer|drie keer|vier keer) gebeld", r"\d+x gebeld",
    # Polish
    r"(?:drugi|trzeci|czwarty|pi[ąa]ty) (?:raz|mail|e-mail)", r"po raz (?:drugi|trzeci|czwarty)", r"przypominam",
)
"""A customer chasing their own earlier contact, in the words people use for it."""

_CHASING = _word_start_alternation(_CHASING_WORDS)
_CHASING_WITHDRAWN = re.compile(
    r"\b(?:ignore|disregard) my (?:last|previous|earlier|first) (?:email|message|mail)|\bplease ignore\b"
)


def _chasing_withdrawn(low: str) -> bool:
    """Whether the customer takes their chasing back ("please ignore my last email").
    The pattern is looked for only in a text holding its words: \\b-led, it is tried at
    every position (~140 µs on 4,000 characters), and most chasing mail withdraws nothing."""
    return ("ignore" in low or "disregard" in low) and _CHASING_WITHDRAWN.search(low) is not None


_REPLY_SUBJECT = re.compile(r"(?:(?:re|aw|sv|vs|antw|r|rif|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*:\s*)+")
_SOMEONE_ELSE = re.compile(
    r"\b(?:the seller|seller|him|her|he|she|the (?:hotel|restaurant|airline|courier|driver|merchant|shop|landlord"
    r"|host|agent|bank|organi[sz]er|venue)|forum|community)\b"
)
"""Whose silence "no reply yet" may be about, when it is not the team's."""
_SUBJECT_FOLLOWING_UP = re.compile(r"[^\n]*[-\u2013\u2014:(]\s*following\s+up\)?[ \t]*(?:\n|$)")
"""A subject that ends "… - following up"."""


def chasing(text: str) -> str | None:
    """The words of a customer chasing their own earlier contact ("any update?", "I wrote
    last week", "still no answer", "this is my third email", "following up on my message",
    "I called twice already"), or None. ``text`` is "subject\\nnewest words"
    (:attr:`Message.classifier_text`).

    Ordinary replies are not chasing: a "Re:" subject (nor the chasing words it inherited
    from the thread: "Re: Still no reply" over "thanks, all sorted"), quoted history,
    "Thanks for the update", "I haven't had another problem with it", "see my earlier
    email for the photos". Built for precision: the classifier has its own ``follow_up``.
    """
    low, scan = _prepare(text)
    first_line_end = low.find("\n")
    inherited_subject_end = first_line_end if first_line_end > 0 and _REPLY_SUBJECT.match(low) else 0
    for hit in _CHASING.finditer(scan):
        start, words = hit.start(), hit.group(0)[1:]
        if start < inherited_subject_end or _quoted_line(low, start) or low[max(0, start - 4):start] == "not ":
            continue
        if words.startswith("chasing") and low[max(0, start - 4):start] == "for ":
            continue  # "thanks for chasing it up"
        if words.startswith(("no ", "nobody", "no one", "no-one")) and _SOMEONE_ELSE.search(_before(low, start, 80)):
            continue
        if _chasing_withdrawn(low):
            return None
        return _words(words)
    if not inherited_subject_end and _SUBJECT_FOLLOWING_UP.match(low) and not _chasing_withdrawn(low):
        return "following up"
    return None


# ---------------------------------------------------------------------------- all at once


@dataclass(frozen=True)
class Reading:
    """What the rules find in one message's words. Read once, where the message is parsed
    and scored (the analysis workers), so the process that keeps the history and talks to
    the server spends no time on words."""

    threat: str | None = None
    """:func:`threat`."""
    no_reply: str | None = None
    """:func:`needs_no_reply` (not read when there is a threat: a threat always needs one)."""
    thanks: bool = False
    """:func:`acknowledgement` (not read when there is a threat or a no-reply sign)."""
    negated: frozenset[str] = frozenset()
    """:func:`negated`."""
    chasing: str | None = None
    """:func:`chasing`."""


def read(classifier_text: str, newest_text: str, subject: str) -> Reading:
    """Every rule over one message: ``classifier_text`` is "subject\nnewest words"
    (:attr:`Message.classifier_text`), ``newest_text`` the newest words alone."""
    threat_words = threat(classifier_text)
    no_reply = None if threat_words else needs_no_reply(newest_text, subject)
    thanks = not threat_words and not no_reply and acknowledgement(newest_text)
    return Reading(threat_words, no_reply, thanks, frozenset(negated(classifier_text)), chasing(classifier_text))


RULES: dict[str, Callable[..., object]] = {
    "threat": threat,
    "acknowledgement": acknowledgement,
    "needs_no_reply": needs_no_reply,
    "negated": negated,
    "chasing": chasing,
}
"""Every rule by name (for benchmarks)."""
