"""The word rules beside the classifier: each case is phrasing a real customer (or a real
misfire from issues 9 and 10) would produce, and what the rule must say about it."""

from __future__ import annotations

import re

import pytest

from triage import rules
from triage.alternation import spaces
from triage.rules import (
    NEWSLETTER,
    NO_REPLY_NEEDED,
    SALES_PITCH,
    SURVEY,
    acknowledgement,
    chasing,
    needs_no_reply,
    negated,
    threat,
)

# --------------------------------------------------------------------------------- threat

THREATS = [
    # (text, the words the rule names)
    ("Refund me by Friday or I will sue you.", "sue"),
    ("I'm going to sue.", "sue"),
    ("We are considering suing your company over this.", "suing"),
    ("If this isn't sorted I'll take you to court.", "court"),
    ("My lawyer will be in touch.", "lawyer"),
    ("I have contacted an attorney about this.", "attorney"),
    ("I've spoken to a solicitor and I'm keeping every email.", "solicitor"),
    ("If the money isn't back by Monday I'm filing a chargeback.", "chargeback"),
    ("Final notice before chargeback - invoice 10442", "chargeback"),
    ("Put it back on my card or I'll dispute it with my bank.", "dispute"),
    ("If this isn't fixed I will call my card company.", "my card company"),
    ("I'm reporting you to the FTC.", "reporting you to the ftc"),
    ("If I don't hear back within 7 days I'm raising it with the ombudsman.", "ombudsman"),
    ("Sort it or I'm going to trading standards.", "trading standards"),
    ("Otherwise I'll file in small claims.", "small claims"),
    ("You will be hearing from our solicitors.", "solicitors"),
    ("I am keeping every message for my lawyer.", "lawyer"),
    ("If the deposit has not been returned by 15 September we will take legal action.", "legal action"),
    ("If you take another payment I'll be raising a section 75 claim.", "section 75"),
    ("I'm not going to let this go, and if it's not sorted I'll do a chargeback for the whole lot.", "chargeback"),
    ("If you won't do that I'll be going to the ombudsman.", "ombudsman"),
    ("I'd rather not involve our lawyer over a software licence, but I will.", "lawyer"),
    ("I'll take it\nto the small claims court if I have to.", "small claims"),  # wrapped mid-phrase
    ("Si no me lo devolvéis, pongo una reclamación en consumo.", "en consumo"),
    ("Se até sexta não tiver resposta vou registrar reclamação no Procon.", "procon"),
    ("Sans réponse sous huit jours, je ferai opposition auprès de ma banque.", "opposition auprès de ma banque"),
    ("Andernfalls wende ich mich an die Verbraucherzentrale.", "verbraucherzentrale"),
    ("Se non risolvete, faccio reclamo all'AGCOM.", "all'agcom"),
    ("Als ik niets hoor, dien ik een klacht in bij de Geschillencommissie.", "geschillencommissie"),
    ("Ik zal er zonder aarzelen een advocaat voor inschakelen.", "een advocaat"),
    ("I’ll file a chargeback tomorrow.", "chargeback"),  # a typographic apostrophe
]

NOT_THREATS = [
    # issue 9's misfires
    "My brother's friend Sue recommended your shop, so I ordered the blue lamp.",
    "Shareholders sue PayPal over hidden fees - read our analysis",
    "What stores can I sue my card?",
    "Our speaker is a former clerk for Supreme Court Justice Alito.",
    "Refinance today! Our attorney-reviewed mortgage rates start at 5.1% APR.",
    "My lawyer asked me to request copies of my invoices.",
    "A court appearance made me miss the class, can I rebook?",
    # more of the same kinds
    "Sue from your team was brilliant on the phone.",
    "Hi, I'm Sue and I have a question about delivery.",
    "I spoke to Sue yesterday and she said the refund is on its way.",
    "Is the tennis court free on Saturday morning?",
    "New address: Flat 12, Calder Court, Leeds LS1 4DE",
    "What is a chargeback, and do I need one if the item never came?",
    "A chargeback is when your bank reverses a payment.",
    "We help marketplaces cut chargeback rates by 40%.",
    "Kind regards, Amelia Grant, Grant & Whitcombe Solicitors",
    "Achterberg Lyle LLP is authorised and regulated by the Solicitors Regulation Authority.",
    "I have power of attorney for my mother and need to close her account.",
    "I'm preparing a small claims case against my former landlord and need my bills.",
    "The clinic was fined by the regulator in 2024, according to your article.",
    "I'm not going to take legal action, I just want an apology.",
    "I called my bank and they said the payment is still pending.",
    "Can you refund the duplicate charge? I can send the bank statement if you need it.",
    "Please send the condition report you will use at collection.",
    "Je serais ravie d'en discuter lors d'un court appel.",
]


@pytest.mark.parametrize(("text", "words"), THREATS)
def test_a_threat_aimed_at_the_business_is_named(text, words):
    assert threat(text) == words


@pytest.mark.parametrize("text", NOT_THREATS)
def test_the_words_alone_are_no_threat(text):
    assert threat(text) is None


def test_a_threat_in_quoted_history_is_not_the_customers_newest_word():
    assert threat("Thanks, all sorted now.\n> I will file a chargeback if this is not fixed") is None


# ------------------------------------------------------------------------ acknowledgement

ACKNOWLEDGEMENTS = [
    "thanks, got it!",
    "Perfect, received, cheers",
    "got it thx",
    "Brilliant, it's shown up on my statement this evening. Thanks Priya!",
    "Received it this morning, thanks a lot for the quick service.",
    "Ok that makes sense now, I didn't realise the router rental was separate. Thanks for explaining.",
    "Thanks, yes that's fine - happy with the outcome. You can close the case.",
    "Thanks for chasing it up, the engineer came this morning.",
    "Danke, alles angekommen. Schönes Wochenende!",
    "Perfecto, muchas gracias por la ayuda.",
    "Thank you!",
    # thanks in the languages the list lacked (Norwegian, Swedish, Danish, Finnish, Turkish, Czech, ...)
    "Takk!",
    "Tack så mycket, pengarna har kommit!",
    "Tak for hjælpen, beløbet er modtaget.",
    "Kiitos!",
    "Teşekkürler, geldi.",
    "Děkuji!",
    # a thank-you for a refund names the refund and asks for none
    "Thank you, the refund has landed in my account this morning. Much appreciated!",
    "Thanks for the refund!",
    "Refund received, thank you.",
    "Got the refund, cheers",
    "Bien reçu, merci beaucoup pour le remboursement !",
    "Recebi o estorno, obrigada pela atenção!",
    "Thanks for checking in! All good now, the parcel turned up.",
]

NOT_ACKNOWLEDGEMENTS = [
    # issue 9's misfires
    "The amount of cash I received was incorrect",
    "Can you refund the second charge? Thanks!",
    "I received the wrong size, can I swap it? Thanks!",
    "Received.",
    # more requests that end in thanks
    "Thanks in advance",
    "Please cancel my subscription. Thanks!",
    "Thanks, but I still haven't been refunded.",
    # a short request with a thank-you and no "please"
    "no more boxes after this friday thank you, we're managing on our own now",
    "Olá, quero encerrar minha assinatura no fim deste mês. Não quero que renove. Obrigada",
    "stop the deliveries from next week, thanks",
    "dont renew it thanks",
    # the refund the thanks mentions is not all there
    "Thanks, the refund has not arrived",
    "Thanks for the refund but it is short by £10.",
    "Thanks for the refund, can you also refund the delivery fee?",
    "Following up on the below - thanks!",
    "Hi Sarah, checking back in on my note from last Thursday about pricing. Thanks!",
    "Great, thanks for confirming. One more small thing: my address changed.",
    "Do you have a phone number I can call. I prefer to talk to a person. Thank you.",
    "Yes, that was me at Whole Foods. You can unfreeze the card. Thanks for checking!",
    "Hola, quiero anular el pedido CV-10442. Gracias, Valentina",
    "Buongiorno, vorrei il rimborso, grazie.",
    "Bonjour, merci d'annuler le renouvellement automatique.",
    "Peço que verifiquem e estornem a cobrança duplicada. Obrigado",
    "3 bars and no data in central London. Paying £35 a month for a phone that works as a torch.",
    # round 12: a refusal or request closed with thanks in the languages the list lacked,
    # and a thank-you that carries a side question or a soft chase
    "Bonsoir, je résilie mon forfait mobile. Je ne veux pas d'offre de fidélité, merci.",
    "Hej, jag vill avsluta mitt abonnemang nu. Tack!",
    "Hei, jeg vil si opp medlemskapet mitt fra neste måned. Takk",
    "Hej, venligst opsig mit abonnement. Tak",
    "Merhaba, siparişimi iptal etmek istiyorum. Teşekkürler",
    "Hola, preferiría que me devolvierais el importe de la entrada. Gracias",
    "Hi, checking in on the quote from last week, would love to get it before Friday. Thanks!",
    "Thanks. " + "The parcel arrived and everything was in it, well packed and on time. " * 6,  # too long
]


@pytest.mark.parametrize("text", ACKNOWLEDGEMENTS)
def test_a_note_that_only_thanks_is_an_acknowledgement(text):
    assert acknowledgement(text) is True


@pytest.mark.parametrize("text", NOT_ACKNOWLEDGEMENTS)
def test_a_note_that_asks_for_anything_is_not_one(text):
    assert acknowledgement(text) is False


# ------------------------------------------------------------------------- needs no reply

SALES_PITCHES = [
    ("Partnership opportunity", ("Hi team,\n\nI lead partnerships at PayWave. We help accounting platforms get paid "
     "faster. Would you be open to a 15-minute call next week?\n\nBest, Dana")),
    ("Get to PAGE 1 of Google!!!", ("Hi there!! I was checking out yourgym.co.uk and noticed you're not ranking for "
     "'gym near me'. Our SEO team can fix that. Reply STOP to opt out.")),
    ("quick thought on your returns page", ("Hi there, I came across your store this morning. We help shops cut "
     "returns by 30%. Worth a quick chat?")),
    ("Guest post collaboration", ("Hello Sir/Madam, hope you are doing well. I am Sophia, content writer, and I'd "
     "love to offer a guest post with backlinks for your site.")),
    ("Kooperationsanfrage", ("Hallo liebes Team, ich bin Lena vom Partnermanagement bei Sparfuchs. Wer wäre bei euch "
     "die richtige Ansprechperson für Affiliate-Partnerschaften?")),
    ("24/7 support from $9/hour", ("Is your care team ready for the holiday spike? Bluepeak provides fully trained "
     "agents from USD 9.00 per agent hour. Can I send you a short proposal?")),
    ("Quick question about your support inbox", ("I was on your site earlier and noticed you handle support by "
     "email. We built Queuely to do exactly that: teams like Birch & Co cut first-response time from 19 hours to "
     "4. Worth a 15-minute look next week?")),
]

NO_REPLY = [
    ("", "No need to reply to my last message, the money arrived this morning. thanks", NO_REPLY_NEEDED),
    ("Outage map", "Just letting you know your outage map says no issues but our street has been down since 9.",
     NO_REPLY_NEEDED),
    ("Quick 2-minute survey", ("Hi there, we're researching how support teams work. Would someone spare 2 minutes "
     "for a short survey? Survey link: example.com/s"), SURVEY),
    ("Support Ops Weekly", ("This week's issue: the refund macro that halved handle time. Read more on our blog. "
     "You're receiving this because you signed up at our webinar. Unsubscribe."), NEWSLETTER),
]

CUSTOMERS = [
    ("Partner discount?", ("Hi, I'm a member through my employer's partnership with you. How do I get the "
     "partner discount on my order?")),
    ("Offer not applied", ("I ordered with the 20% offer code from your newsletter but was charged full price. "
     "Please refund the difference.")),
    ("Enterprise pricing - following up", ("Following up on the demo request I submitted on your site. We're "
     "evaluating scheduling tools and I'll need pricing for the enterprise tier. Happy to jump on a call.")),
    ("Ticketing partnership", ("We run three festivals and are reviewing ticketing providers. Could someone from "
     "your partnerships team tell me your fee structure?")),
    ("", "No need to reply, but please cancel my subscription from next month."),
    ("Re: How did we do?", "Stop sending me surveys and send my refund. $74.99, order 5531."),
    ("STOP the marketing emails", ("I have clicked unsubscribe three times and I still get your newsletter every "
     "day. Remove me.")),
]


@pytest.mark.parametrize(("subject", "body"), SALES_PITCHES)
def test_cold_outreach_needs_no_reply(subject, body):
    assert needs_no_reply(body, subject) == SALES_PITCH


@pytest.mark.parametrize(("subject", "body", "reason"), NO_REPLY)
def test_surveys_newsletters_and_no_reply_notes_say_why(subject, body, reason):
    assert needs_no_reply(body, subject) == reason


@pytest.mark.parametrize(("subject", "body"), CUSTOMERS)
def test_a_customer_who_mentions_a_partner_or_an_offer_still_needs_a_reply(subject, body):
    assert needs_no_reply(body, subject) is None


# -------------------------------------------------------------------------------- negated

NEGATIONS = [
    ("I don't want to cancel altogether, just pause it for the summer.", {"cancellation"}),
    ("Not asking for a refund, just an explanation of the fee.", {"refund"}),
    ("Please don't cancel it, change the date to the 14th instead.", {"cancellation"}),
    ("No need to refund, just stop it renewing.", {"refund"}),
    ("Moving to a smaller plan (NOT cancelling)", {"cancellation"}),
    ("I'd like to keep my spot and come back once I'm cleared, not leave.", {"cancellation"}),
    ("I'm not disputing the charge, I just need a breakdown for my landlord.", {"fee_dispute"}),
    ("I don't want a refund, please cancel my order.", {"refund"}),
    ("No quiero darme de baja, solo pausar la revista en agosto.", {"cancellation"}),
    ("Je ne demande pas de remboursement, mais je souhaite résilier.", {"refund"}),
    ("Ich möchte kein Geld zurück, nur eine funktionierende Mühle.", {"refund"}),
]

NOT_NEGATED = [
    "Please cancel my subscription and refund the last payment.",
    "I don't want to cancel my whole account, just cancel the add-on.",
    "Why can I not cancel online?",
    "I couldn't cancel in the app, it just errors.",
    "If you cannot refund I will report you.",
    "I'm not disputing the room rate, but I didn't agree to the fee and want it removed.",
    "Nog steeds geen terugbetaling voor mijn retour.",
    "> I don't want to cancel\nActually, please cancel it.",
]


@pytest.mark.parametrize(("text", "categories"), NEGATIONS)
def test_what_a_customer_says_they_are_not_asking_for(text, categories):
    assert negated(text) == categories


@pytest.mark.parametrize("text", NOT_NEGATED)
def test_no_negation_when_the_category_is_asked_for_or_not_denied(text):
    assert negated(text) == set()


# -------------------------------------------------------------------------------- chasing

CHASING = [
    ("Re: order 4471\nany update?", "any update?"),
    ("Refund\nI wrote last week about my refund and heard nothing.", "i wrote last week"),
    ("Refund\nstill no answer, it's been ten days", "still no answer"),
    ("THIRD EMAIL - double charge\nI've had no reply to either.", "third email"),
    ("Double charge\nThis is my third email about this.", "this is my third email"),
    ("Refund\nFollowing up on my message of 3 May about the refund.", "following up on my message"),
    ("Cancel\nI called twice already and nobody sorted it.", "called twice"),
    ("Cancel my plan - following up\nHello, could you confirm the plan is cancelled?", "following up"),
    ("Ticket 88213\nAny update on ticket 88213? Still can't log in.", "any update on ticket"),
    ("Re: cancel premium\nJust checking you got my email below?", "just checking you got"),
    ("Refund\nI haven't heard back since the 3rd.", "haven't heard back"),
    ("Re: lease pricing\nHi Sarah, checking back in on my note from last Thursday.", "checking back in on"),
    ("Sigo esperando respuesta\nLes escribo de nuevo por el reembolso.", "sigo esperando respuesta"),
    ("Relance - remboursement\nToujours pas de réponse à ma demande du 2 juin.", "relance"),
    ("Kündigung\nIch habe Ihnen bereits am 3. März geschrieben, bisher keine Antwort.",
     "ich habe ihnen bereits am 3. märz geschrieben"),
    ("Reembolso\nAinda não recebi resposta ao meu pedido.", "ainda não recebi resposta"),
    ("Rimborso\nVi ho già scritto due settimane fa.", "vi ho già scritto"),
    ("Terugbetaling\nIk heb nog steeds geen antwoord gehad.", "nog steeds geen antwoord"),
]

NOT_CHASING = [
    # issue 9's misfires
    "Re: Test\nThanks",
    "Re: Test\n",
    "Re: Printer\nAwesome! I haven't had another problem with it.",
    "Here is another email\nSent from my iPhone",
    "Re: [list] build fails\nOn Tue, Ann wrote:\n> any update on this?\n> still no answer\nWorks for me with gcc 13.",
    "Thanks for the update\nGreat, see you Thursday.",
    "Photos\nSee my earlier email for the photos of the damage.",
    "Re: Re: Still no reply about order CW-55012\nThanks Neha, the tracking link works. All sorted.",
    "Payment\nthere is a transaction on my account that i didnt make",
    "Payment\nCan you explain why there is a payment showing twice?",
    "Card\nHelp me. There is a Direct Debit that I didn't make",
    # repeated problems and other people's silence are not chasing this inbox
    "App\nThis is the third release in a row where export crashes.",
    "Delivery\nI messaged the seller 5 days ago but no reply yet, can you help?",
    "Cancel\nI'm not asking again through chat, please cancel by email.",
    "Sorry\nPlease ignore my last email, I emailed yesterday by mistake.",
    "Helpful\nThanks for chasing it up, all sorted now.",
    # a chase taken back, the words anywhere in the text, in any case
    "Order 1182\nI wrote last week.\nPLEASE IGNORE MY PREVIOUS MESSAGE, found it.",
    "Order 1182 - following up\nKindly disregard my earlier mail.",
]


@pytest.mark.parametrize(("text", "words"), CHASING)
def test_a_customer_chasing_their_own_earlier_contact(text, words):
    assert chasing(text) == words


@pytest.mark.parametrize("text", NOT_CHASING)
def test_ordinary_replies_are_not_chasing(text):
    assert chasing(text) is None


def test_ignore_alone_takes_no_chase_back():
    assert chasing("Order 1182\nI wrote last week. Don't ignore me, I need it by Friday.") == "i wrote last week"


# -------------------------------------------------------------------------------- helpers

def test_a_phrase_wrapped_onto_the_next_line_still_matches():
    assert chasing("Refund\nthis is my\nthird email") == "this is my third email"
    assert threat("if it isn't sorted i'll go to trading\nstandards") == "trading standards"


PHRASES = [r"any (?:update|news)s?\b", r"still (?:no|not had) (?:reply|answer)\b", r"i (?:have |'ve )?wrote\b",
           r"third (?:email|time)\b", r"(?:sorry|apologies) to chase\b", r"\d+ times\b", r"zebra\b"]
SAMPLES = ["hi, any update? still no reply", "i've wrote three times, 4 times now", "sorry to chase: third email",
           "nothing here", "zebras and a zebra", "anyupdate", "third\nemail"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_grouped_alternation_finds_what_the_plain_one_finds(sample):
    """The speed trick (branches grouped by first letter, a leading space) must not change
    what is found: compare with the same phrases joined plainly and tried at word starts."""
    low, scan = rules._prepare(sample)
    grouped = [(m.start(), m.group(0)[1:]) for m in rules._word_start_alternation(PHRASES).finditer(scan)]
    plain = re.compile(r"(?<!\w)(?:" + "|".join(spaces(p) for p in PHRASES) + ")")
    assert grouped == [(m.start(), m.group(0)) for m in plain.finditer(low.replace("\n", " "))]


def test_a_phrase_that_cannot_start_at_a_word_is_refused_when_compiled():
    with pytest.raises(ValueError):
        rules._word_start_alternation([r"[ab]c"])


def test_every_rule_is_listed_for_benchmarks():
    assert set(rules.RULES) == {"threat", "acknowledgement", "needs_no_reply", "negated", "chasing"}
