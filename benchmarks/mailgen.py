"""Synthetic support mail that looks like real mail, seeded and fast.

The benchmarks need mail like the mail a shared support mailbox really receives, not the
corpus's 1 KB hand-written messages: whole messages of 2-20 KB (log-uniform, median about
7 KB) with the header blocks real mail arrives with (Received chains, DKIM-Signature, ARC,
Authentication-Results, spam-filter and provider X-headers — a message sent from Microsoft
365 carries 4-7 KB of them), about 30 % multipart/alternative with HTML (Gmail, Outlook and
Apple Mail markup), about 12 % with an attachment (PDF, PNG, CSV, log: multipart/mixed,
base64), RFC 2047 encoded non-ASCII names and subjects, 7bit/8bit/quoted-printable/base64
bodies in UTF-8 and windows-1252, threads (Re:, In-Reply-To, References and quoted history
in several clients' styles), auto-replies, bounces, newsletters with List-* headers,
notifications and spam, and customers writing in several voices and languages.

Every text fragment below was written for this file. One seed gives the same messages
(for the same ``end`` time): ``MailGen(seed=7, end=...)``. It makes about 3,000-5,000
messages a second on one core.

As a library (the benchmarks)::

    from mailgen import MailGen
    gen = MailGen(seed=1, end=datetime.now(timezone.utc), days=21)
    for mail in gen.take(10_000):        # Mail(raw=bytes with LF line ends, date, kind, message_id)
        ...
    gen.next(date=datetime.now(timezone.utc), kinds=("customer", "reply"))   # one more, arriving now

From the command line::

    .venv/bin/python benchmarks/mailgen.py --count 2000 --stats          # what it makes, and how fast
    .venv/bin/python benchmarks/mailgen.py --count 500 --out /tmp/eml    # .eml files
    .venv/bin/python benchmarks/mailgen.py --count 500 --out /tmp/md --maildir
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html
import os
import random
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SHOP = "Brightwater"
SHOP_DOMAIN = "brightwater.example"
SUPPORT = f"support@{SHOP_DOMAIN}"
SUPPORT_NAME = "Brightwater Customer Care"
MIN_SIZE, MAX_SIZE = 2048, 20480
TARGET_LOW, TARGET_HIGH = 2400, 20000
"""Each message aims at a size drawn log-uniformly from this range (small ones come out a
little larger: the headers alone are 1.5-2 KB), which gives a median of about 7 KB."""

# -- who writes ---------------------------------------------------------------------------

# (first names, last names, mail domains, currency, language) per locale.
LOCALES = {
    "en-GB": ("Sarah James Priya Tom Olivia Callum Aisha Gareth Niamh Declan Fiona Rhys Beth Marcus Leanne Ivor "
              "Hannah Owen Kerry-Ann Siobhan".split(),
              "Cartwright Hughes Patel O'Neill Davies Okafor McAllister Thompson Whitfield Evans Barker Singh "
              "Fletcher Doyle Rahman Oyelaran".split(),
              ["gmail.com", "hotmail.co.uk", "outlook.com", "btinternet.com", "yahoo.co.uk", "icloud.com",
               "sky.com", "live.co.uk"], "£", "en"),
    "en-US": ("Mike Jennifer Darnell Ashley Kevin Maria Tyler Brittany Luis Dee Carol Jamal Heather Trent Keisha "
              "Bob".split(),
              "Johnson Ramirez Fontaine Walker Nguyen Kowalczyk Brooks Washington Miller Castillo Hendricks "
              "Peterson Lee".split(),
              ["gmail.com", "yahoo.com", "aol.com", "comcast.net", "icloud.com", "outlook.com", "att.net"], "$", "en"),
    "de": ("Jürgen Katrin Björn Sabine Günter Lena Maximilian Anja Jörg Ute Süleyman Frauke".split(),
           "Müller Schröder Weiß Hoffmann Krüger Bäcker Schmitz Öztürk Lehmann Groß Vogel Schäfer".split(),
           ["gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de", "freenet.de"], "€", "de"),
    "es": ("José María Álvaro Lucía Begoña Íñigo Nuria Sebastián Ramón Pilar".split(),
           "Núñez García Fernández Muñoz Peña Ibáñez López Martínez Gómez Cañizares".split(),
           ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "outlook.es"], "€", "es"),
    "fr": ("Hélène François Zoé Jérôme Amélie Benoît Céline Loïc Mathéo Élodie".split(),
           "Lefèvre Dubois Moreau Girard Bérubé Rousseau Chevalier Lemaître Fontaine Gauthier".split(),
           ["orange.fr", "free.fr", "laposte.net", "gmail.com", "sfr.fr", "wanadoo.fr"], "€", "fr"),
    "pl": ("Łukasz Małgorzata Paweł Agnieszka Grzegorz Katarzyna".split(),
           "Wiśniewski Kowalczyk Wójcik Zieliński Dąbrowska Lewandowski".split(),
           ["wp.pl", "onet.pl", "gmail.com", "interia.pl"], "€", "en"),
    "nordic": ("Søren Åsa Björk Mikael Ingrid Jørgen Ólafur".split(),
               "Østergaard Lindqvist Håkansson Sørensen Ålund Jóhannsson".split(),
               ["gmail.com", "outlook.com", "telia.com", "live.se"], "€", "en"),
    "ja": ("美咲 健太 Yuki Haruto Sakura".split(), "田中 佐藤 Tanaka Suzuki Watanabe".split(),
           ["gmail.com", "yahoo.co.jp", "icloud.com", "docomo.ne.jp"], "$", "en"),
}
LOCALE_WEIGHTS = {"en-GB": 38, "en-US": 24, "de": 10, "es": 7, "fr": 7, "pl": 5, "nordic": 5, "ja": 4}

COMPANIES = [("Harcourt & Finch Ltd", "harcourtfinch.example"), ("Meridian Dental Group", "meridiandental.example"),
             ("Oakridge Property Management", "oakridge-pm.example"), ("Kestrel Logistics GmbH", "kestrel-log.example"),
             ("Bluebell Nursery Schools", "bluebellnurseries.example"), ("Norland Hotels", "norlandhotels.example"),
             ("Vantage Architects LLP", "vantage-arch.example"), ("Praxis Dr. Weiß", "praxis-weiss.example")]

PRODUCTS = ["oak bedside table", "linen duvet cover", "cast-iron casserole dish", "Fjell wool rug", "bamboo bath mat",
            "stand mixer", "ceramic table lamp", "garden bench", "set of six wine glasses", "memory foam pillow",
            "cordless vacuum", "coffee grinder", "blackout curtains", "bathroom cabinet", "kettle", "toaster",
            "outdoor string lights", "copper saucepan set", "desk chair", "velvet cushion covers", "air fryer",
            "mirror (80 cm)", "shoe rack", "kids' bunk bed", "electric blanket"]
PLANS = ["Brightwater Plus", "Delivery Pass", "annual Delivery Pass", "Home Club membership", "Plus (monthly)"]
CARRIERS = ["DPD", "Evri", "Royal Mail", "UPS", "DHL", "Yodel", "FedEx", "Parcelforce", "GLS", "DHL Express"]
CITIES = ["Leeds", "Daventry", "Coventry", "Hinckley", "Bristol", "Glasgow", "Frankfurt", "Madrid", "Lyon", "Newark"]
AGENTS = ["Ellie", "Marcus", "Priyanka", "Dan", "Ros", "Tomasz", "Aoife", "Chidi", "Maja", "Hamza"]
MONTHS = "January February March April May June July August September October November December".split()
MON = [m[:3] for m in MONTHS]
WEEKDAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
WEEKDAYS_LONG = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()

# -- what customers write (English) -------------------------------------------------------

# topic: (weight, subjects, facts, asks)
TOPICS = {
    "refund": (16, [
        "Refund for order {order}", "Where is my refund?", "Refund still not received", "Return and refund - {product}",
        "Requesting a refund", "refund", "Money back for the {product}", "Refund request - order {order}",
        "Returned item, no refund yet", "Please refund my order", "Refund??", "Partial refund promised",
    ], [
        "I sent the {product} back on {date} using your prepaid label, and the tracking shows you received it on {date2}.",
        "The {product} arrived with a crack right across the top, so I'd like my money back rather than a replacement.",
        "Your returns page says refunds are processed within 5 working days, but it has now been {days} days.",
        "I paid {amount} with my card ending {last4} and nothing has come back to that card yet.",
        "The refund confirmation email said {amount}, but only {amount2} has shown up on my statement.",
        "I cancelled the order an hour after placing it, before it was dispatched, and was told I'd be refunded.",
        "The parcel went back to you as undeliverable (tracking {track}), so I should get a full refund.",
        "The {product} stopped working after two weeks and I don't want another one of the same.",
        "One of your colleagues promised me a partial refund of {amount2} on the phone because the delivery was late.",
        "Half of the set was missing from the box, so please refund the part I never got.",
        "I returned it in the original packaging with the returns form filled in, reference {ticket}.",
        "My bank says no refund has been initiated from your side at all.",
    ], [
        "Please refund the full amount to my original payment method.", "Can you tell me when the refund will actually be issued?",
        "I'd like the refund confirmed by email, with the amount and the date.", "Please process the refund this week.",
        "Could you check what has happened to my refund?", "I just want my money back.",
    ]),
    "cancellation": (12, [
        "Cancel my subscription", "Please cancel order {order}", "Cancellation request", "Cancel {plan}",
        "How do I cancel?", "Stop my auto-renewal", "cancel order", "Cancel before it ships", "Close my account",
        "Cancel {plan} - do not renew",
    ], [
        "I signed up for {plan} in {month} and I no longer need it.",
        "I placed order {order} this morning by mistake - I meant to order the {product2}.",
        "The renewal is due on {date} and I do not want it to renew.",
        "I can't find a cancel button anywhere in my account settings.",
        "We are moving abroad and won't be using the delivery service any more.",
        "I ordered the {product} twice by accident; please cancel one of the two orders.",
        "I tried to cancel online but the page just says 'something went wrong, please try again later'.",
        "Your website says I can cancel at any time, with no minimum term.",
        "I found the same {product} cheaper elsewhere, so please cancel my order while it is still processing.",
    ], [
        "Please cancel it with immediate effect and confirm in writing.", "Please cancel the order before it is dispatched.",
        "Can you confirm that I won't be charged again?", "Please close my account and delete my card details.",
        "What do I need to do to cancel?", "Please stop any further payments.",
    ]),
    "fee_dispute": (12, [
        "Charged twice", "Unexpected fee on my statement", "Why was I charged {amount}?", "Double charge for order {order}",
        "Wrong amount charged", "Disputing a charge", "Charge I didn't authorise", "Late fee?", "Overcharged",
        "Charged after cancelling", "Delivery charge query", "Incorrect invoice {ticket}",
    ], [
        "My bank statement shows two payments of {amount} on {date} for the same order.",
        "I was charged a {fee} 'service fee' that was never mentioned at checkout.",
        "The price on your website was {amount2} but my card was charged {amount}.",
        "I cancelled my membership on {date} and you still took {amount} this month.",
        "There is a payment of {amount} to {shop} on my card ending {last4} that I don't recognise.",
        "Delivery was supposed to be free over {threshold} but I was charged {fee} anyway.",
        "Your invoice {ticket} adds a late payment fee although we paid on time.",
        "The discount code was accepted at checkout but the full price was still taken.",
        "{plan} renewed at {amount} without the reminder email your terms promise.",
    ], [
        "Please refund the extra charge.", "Please reverse the duplicate payment.", "Can you explain what this fee is for?",
        "I'd like the overcharge credited back to my card.", "Please correct this and send me an updated invoice.",
        "Please look into this and put it right.",
    ]),
    "shipping": (14, [
        "Where is my order?", "Order {order} not arrived", "Delivery status", "Parcel says delivered but isn't here",
        "Still waiting for my delivery", "Tracking not updating", "Delivery problem", "Wrong address on order {order}",
        "Order {order}", "Missed delivery - rebook?",
    ], [
        "I ordered the {product} on {date} and the tracking ({track}) hasn't moved for {days} days.",
        "The {carrier} tracking says the parcel was delivered at 14:12 but nothing was left here and the neighbours have nothing either.",
        "Your confirmation email promised delivery within 3-5 working days.",
        "The parcel has been sitting at the {city} depot for a week according to {carrier}.",
        "I chose next-day delivery and paid extra for it.",
        "I need it before my daughter's birthday on Saturday.",
        "I typed the wrong house number at checkout: it should be 14, not 41.",
        "{carrier} left a card saying they tried to deliver, but I was in all day.",
    ], [
        "Can you find out where it is?", "Please send a replacement or refund me.",
        "Could you contact {carrier} and get back to me?", "When can I expect it?", "Can you change the address before it goes out?",
    ]),
    "damaged": (10, [
        "Damaged item", "{product} arrived broken", "Faulty {product}", "Problem with my {product}", "Wrong item received",
        "Missing parts", "Broken on arrival", "{product} - not as described",
    ], [
        "The {product} arrived today and the box was crushed on one corner; the glass inside is shattered.",
        "When I plugged the {product} in it made a burning smell and then cut out.",
        "I received a {product2} instead of the {product} I ordered.",
        "Two of the four legs are missing from the package, so I can't assemble it.",
        "The colour is completely different from the photos on your website.",
        "There is a deep scratch across the front and a chip on the corner.",
        "It worked for three days and now it won't switch on at all.",
    ], [
        "Can you send a replacement?", "What do I need to do to return it?", "I have attached photos of the damage.",
        "Please let me know how you want to sort this out.", "Can you collect it?",
    ]),
    "account": (7, [
        "Can't log in", "Password reset not working", "Account locked", "Change my email address", "Update my address",
        "Login problem", "Two accounts - merge?",
    ], [
        "The password reset email never arrives, and I have checked the spam folder.",
        "I keep getting 'invalid email or password' although I know the password is right.",
        "I've moved house and need to update the delivery address on my account.",
        "I want to change the email on my account from my old work address.",
        "It seems I have two accounts, one with each of my email addresses, and my orders are split between them.",
    ], [
        "Can you reset it for me?", "Please update it.", "How do I get back into my account?", "Could you merge them?",
    ]),
    "question": (9, [
        "Question about the {product}", "Is the {product} in stock?", "Size question", "Do you ship to Ireland?",
        "Warranty question", "Gift wrapping?", "Quick question", "Product enquiry", "Trade account?",
    ], [
        "I'm thinking of buying the {product} but I can't tell from the listing whether it is dishwasher safe.",
        "Will the {product} be back in stock before Christmas?",
        "What is the warranty on the {product}, and does it cover the motor?",
        "Do you deliver to the Channel Islands, and how long does it take?",
        "Could you tell me the exact dimensions of the {product}, including the handles?",
        "We furnish holiday lets and would order about forty of these a year.",
    ], [
        "Thanks in advance for any help.", "Could you let me know?", "Any info appreciated.", "Thanks!",
    ]),
    "complaint": (8, [
        "Complaint", "Very disappointed", "Terrible service", "Formal complaint about order {order}", "Unacceptable",
        "Your customer service", "Complaint - rude courier",
    ], [
        "I have been a customer for {years} years and this is the worst experience I've had.",
        "Your chat assistant closed the conversation twice without answering.",
        "Nobody answers the phone line; I was on hold for 40 minutes yesterday.",
        "The courier was rude and left the parcel out in the rain.",
        "I have explained this three times now to three different people.",
    ], [
        "I expect a proper answer this time.", "Please escalate this to a manager.", "I would like a written response.",
    ]),
    "thanks": (4, [
        "Thank you!", "Great service", "Thanks for the quick help", "Replacement arrived", "All sorted",
    ], [
        "Just wanted to say the replacement arrived today and it's perfect.",
        "Thank you for sorting out the refund so quickly.", "The {product} is lovely, thank you.",
    ], [
        "No need to reply.", "Have a lovely weekend.", "Thanks again!",
    ]),
}
TOPIC_NAMES = list(TOPICS)
TOPIC_WEIGHTS = [TOPICS[t][0] for t in TOPIC_NAMES]

# voice: (greetings, openers, colour, closings, signoffs)
VOICES = {
    "polite": (["Dear Sir or Madam,", "Dear {shop} team,", "Hello,", "Good morning,", "Dear Customer Services,", "Hi there,"],
               ["I hope you are well.", "I am writing about my order {order}.", "I wonder if you could help me with the following.",
                "I'm contacting you about a recent order.", ""],
               ["I realise these things happen, but I'd be grateful if it could be sorted out.",
                "I have always been very happy with your service until now.", "I have kept all the packaging."],
               ["Thank you in advance for your help.", "I look forward to hearing from you.", "Many thanks for your time."],
               ["Kind regards,", "Best regards,", "Yours faithfully,", "Many thanks,", "With thanks,", "Best wishes,"]),
    "terse": (["", "Hi", "hi,", "Hello"], [""], [], [""], ["", "Thanks", "thx", "Cheers"]),
    "angry": (["", "Hello,", "To whom it may concern,", "Hi,"],
              ["I am extremely unhappy.", "Once again I have to write to you.", ""],
              ["This is ridiculous.", "I am absolutely fed up with this.", "Frankly this is unacceptable.",
               "If I don't hear back by Friday I will raise a chargeback with my bank.",
               "I will be leaving a review on Trustpilot about this.", "I have now wasted hours of my time chasing you.",
               "I'm considering reporting you to Trading Standards.", "DO NOT send me another automated reply.",
               "I will be speaking to my solicitor if this is not resolved.", "WHERE IS MY MONEY?"],
              ["I expect a reply today.", "Sort it out.", "I want this resolved now.", ""],
              ["", "Regards,", "Not impressed,", "Still waiting,"]),
    "business": (["Dear {shop} Support,", "Hello team,", "Good afternoon,", "Dear Sir/Madam,"],
                 ["I am contacting you on behalf of {company}.", "Our accounts payable team has flagged the following.",
                  "Please see below regarding our purchase order PO-{po}."],
                 ["We have a quarterly budget review next week and need this closed before then.",
                  "Please quote our customer reference {ticket} in any correspondence."],
                 ["Please reply to this email with the corrected documents.",
                  "Should you need any further information, please do not hesitate to contact me."],
                 ["Kind regards,", "Best regards,", "Regards,"]),
    "nonnative": (["Hello sir,", "Dear team,", "Hello,", "Good day,"],
                  ["I am write to you because of my order {order}.", "Please I need your help for one problem.", ""],
                  ["Until now I have not receive any answer.", "I am waiting since {days} days.",
                   "Please can you do the needful.", "I am very disappoint about this situation."],
                  ["Thanks you very much.", "Waiting your answer.", "I hope you can help me."],
                  ["Best regard,", "Regards,", "Thank you,"]),
    "rambler": (["Hi,", "Hello there,", "Hi {shop} people,"],
                ["So I have a bit of a story for you.", "I'll try to keep this short but it has been a saga.", ""],
                ["I only ordered from you because my sister recommended you and she's been a customer for years.",
                 "I had taken the day off work to wait for the delivery, which I can't really afford to do.",
                 "To be honest I almost didn't bother writing, but my husband said I should.",
                 "Anyway, I'm getting off the point.",
                 "The dog went mad every time a van went past, which didn't help.",
                 "I rang the number on the website twice and got cut off both times."],
                ["Sorry for the long email!", "Thanks for reading all this."],
                ["Best,", "Thanks,", "All the best,", "Cheers,"]),
    "mobile": (["Hi", "", "Hello"], [""], [], [""], ["", "Thanks", "Ta"]),
}
VOICE_NAMES = list(VOICES)
VOICE_WEIGHTS = [22, 16, 14, 10, 10, 8, 20]

CHASERS = {
    "polite": ["I'm just following up on my email below, as I haven't heard back yet.",
               "Sorry to chase, but could you give me an update on this?",
               "I wrote to you on {date} about this and haven't had a reply."],
    "terse": ["any update?", "Still waiting.", "hello??", "Chasing this again.", "Any news on this"],
    "angry": ["This is the THIRD time I've written about this.", "Still no reply. This is beyond a joke.",
              "Two weeks and not a single human response.", "Are you actually reading these emails?"],
    "business": ["Could you please provide an update on the below at your earliest convenience?",
                 "Kindly note that this remains unresolved.", "Following up on the below - please advise."],
    "nonnative": ["Please I am still waiting your answer about this.", "Until now nothing happen.",
                  "Please reply me, it is very urgent."],
    "rambler": ["Me again, sorry!", "Just wondering if you got my last email - I know you must be busy."],
    "mobile": ["Any update on this pls", "Still nothing", "hello? anyone?"],
}
ANSWERS = ["Thanks for your reply, but that doesn't answer my question.", "I already sent you the photos last week.",
           "The order number is {order}, as I said in my first email.", "OK, I've attached the photos you asked for.",
           "I've checked with my bank and they say nothing has arrived.", "That's not what I was told on the phone.",
           "Yes, the address is correct.", "I'd rather have the refund than a voucher, thanks."]
THANKS = ["Thanks, that's all sorted now!", "Got it, thank you.", "Perfect, thanks for your help.",
          "Brilliant, the refund has come through. Thanks!", "Thank you, much appreciated."]
SIGNATURES_MOBILE = ["Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android", "Sent from Yahoo Mail for iPhone",
                     "Sent from my iPad", "Sent from Mail for Windows"]
DISCLAIMERS = [
    "CONFIDENTIALITY NOTICE: This email and any attachments are confidential and may be legally privileged. If you are "
    "not the intended recipient, please notify the sender immediately and delete it from your system. Any unauthorised "
    "use, disclosure, copying or distribution is prohibited. {company} accepts no liability for any damage caused by "
    "viruses transmitted by this email.",
    "This message has been scanned for viruses and dangerous content and is believed to be clean. Please consider the "
    "environment before printing this email.",
    "{company} is registered in England and Wales, company number {po}. Registered office: Unit 4, Riverside Business "
    "Park, Leeds LS10 1AB. VAT registration number GB {vat}.",
    "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen. Wenn Sie nicht der richtige "
    "Adressat sind, informieren Sie bitte sofort den Absender und vernichten Sie diese Mail. Geschäftsführer: "
    "Dr. Jörg Weiß, Amtsgericht München HRB {po}.",
]

# Pasted material: what makes a long first message long besides the words.
ORDER_LINES = ["{product}  x1  {amount}", "{product2}  x2  {amount2}", "Delivery (standard)  {fee}",
               "Discount (WELCOME10)  -{fee}", "Gift wrap  {fee}"]

# -- other languages ----------------------------------------------------------------------

LANG = {
    "de": dict(
        subjects=["Rückerstattung für Bestellung {order}", "Kündigung meines Abos", "Doppelte Abbuchung",
                  "Wo bleibt meine Lieferung?", "Beschädigte Ware erhalten", "Falscher Betrag abgebucht",
                  "Erstattung noch nicht erhalten", "Stornierung Bestellung {order}"],
        body=["ich habe am {date} die Bestellung {order} aufgegeben und bis heute nichts erhalten.",
              "Die Rücksendung ist laut Sendungsverfolgung ({track}) seit {days} Tagen bei Ihnen, aber das Geld ist noch nicht zurück.",
              "Mir wurden {amount} zweimal von meiner Karte abgebucht.",
              "Bitte kündigen Sie mein Abonnement {plan} zum nächstmöglichen Zeitpunkt.",
              "Die Ware kam beschädigt an, der Karton war völlig zerdrückt.",
              "Ich möchte den vollen Betrag zurückerstattet bekommen.",
              "Bitte bestätigen Sie mir die Stornierung schriftlich.",
              "Die Servicegebühr von {fee} wurde beim Bezahlen nirgends erwähnt."],
        greetings=["Sehr geehrte Damen und Herren,", "Hallo,", "Guten Tag,", "Hallo {shop}-Team,"],
        chasers=["Ich warte immer noch auf eine Antwort.", "Das ist jetzt meine dritte E-Mail zu diesem Thema!",
                 "Gibt es hierzu schon Neuigkeiten?"],
        signoffs=["Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße", "MfG"],
        mobile="Von meinem iPhone gesendet", re="AW: ",
        attribution="Am {d.day:02d}.{d.month:02d}.{d.year} um {d:%H:%M} schrieb {who}:"),
    "es": dict(
        subjects=["Reembolso del pedido {order}", "Cancelar mi suscripción", "Cobro duplicado", "¿Dónde está mi pedido?",
                  "Producto dañado", "Cargo incorrecto en mi tarjeta", "Devolución sin reembolso"],
        body=["hice el pedido {order} el {date} y todavía no ha llegado.",
              "Devolví el artículo hace {days} días y aún no he recibido el reembolso.",
              "Me han cobrado {amount} dos veces en la tarjeta que termina en {last4}.",
              "Quiero cancelar mi suscripción {plan} lo antes posible.",
              "El paquete llegó roto y la caja estaba aplastada.",
              "Por favor, devuélvanme el importe completo.",
              "Les agradecería una respuesta rápida, ya que es la segunda vez que escribo."],
        greetings=["Hola,", "Buenos días,", "Estimados señores:", "Buenas tardes,"],
        chasers=["Sigo esperando una respuesta.", "¡Es la tercera vez que les escribo!", "¿Hay alguna novedad?"],
        signoffs=["Un saludo,", "Saludos cordiales,", "Atentamente,", "Gracias,"],
        mobile="Enviado desde mi iPhone", re="RE: ",
        attribution="El {wd} {d.day} {mon} {d.year} a las {d:%H:%M}, {who} escribió:"),
    "fr": dict(
        subjects=["Remboursement commande {order}", "Résiliation de mon abonnement", "Double prélèvement",
                  "Où est ma commande ?", "Article endommagé", "Frais non prévus", "Toujours pas remboursé"],
        body=["j'ai passé la commande {order} le {date} et je n'ai toujours rien reçu.",
              "J'ai renvoyé l'article il y a {days} jours et je n'ai pas été remboursé.",
              "Vous m'avez prélevé {amount} deux fois sur ma carte.",
              "Je souhaite résilier mon abonnement {plan} dès que possible.",
              "Le colis est arrivé abîmé, le carton était écrasé.",
              "Merci de me rembourser l'intégralité de la somme.",
              "Des frais de {fee} ont été ajoutés sans que cela soit indiqué lors de la commande."],
        greetings=["Bonjour,", "Madame, Monsieur,", "Bonsoir,"],
        chasers=["J'attends toujours une réponse.", "C'est mon troisième e-mail à ce sujet !", "Avez-vous du nouveau ?"],
        signoffs=["Cordialement,", "Bien à vous,", "Merci d'avance,", "Bonne journée,"],
        mobile="Envoyé de mon iPhone", re="RE : ",
        attribution="Le {wd}. {d.day} {mon}. {d.year} à {d:%H:%M}, {who} a écrit :"),
}

# -- what the team wrote (quoted in replies) ----------------------------------------------

AGENT_LINES = [
    "Thank you for contacting {shop} Customer Care.", "I'm sorry to hear that your {product} arrived damaged.",
    "I have checked order {order} and can see that the return was received at our warehouse on {date2}.",
    "Refunds can take up to 5-7 working days to show on your statement, depending on your bank.",
    "Could you please send us a photo of the damage and of the outer packaging?",
    "I have raised this with {carrier}, who have opened an investigation (reference {ticket}).",
    "I've cancelled the renewal, so you will not be charged again.",
    "I have passed your message to our billing team, who will be in touch within 48 hours.",
    "As a gesture of goodwill I have added a {fee} voucher to your account.",
    "Please reply to this email if there is anything else we can help with.",
]

# -- automated mail -----------------------------------------------------------------------

AUTOREPLIES = [
    ("Automatic reply: {subject}", "Thank you for your email. I am out of the office until {date} with limited access to "
     "email. For urgent matters please contact {colleague} at {colleague_addr}.\n\nKind regards,\n{name}"),
    ("Out of Office: {subject}", "I'm currently on annual leave and will respond to your message when I return on {date}."),
    ("Abwesenheitsnotiz: {subject}", "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich {date} nicht im Büro "
     "und habe keinen Zugriff auf meine E-Mails. In dringenden Fällen wenden Sie sich bitte an {colleague_addr}."),
    ("Respuesta automática: {subject}", "Gracias por su mensaje. Estaré fuera de la oficina hasta el {date}."),
    ("Réponse automatique : {subject}", "Je suis absent(e) jusqu'au {date}. Votre message ne sera pas transféré."),
    ("Auto: {subject}", "We have received your message and will get back to you within two working days. "
     "Your reference is {ticket}. Please do not reply to this automated message."),
]

NEWSLETTERS = [  # (sender name, local part, domain, list name)
    ("Parcelwise", "news", "mail.parcelwise.example", "Parcelwise shipping updates"),
    ("Homeware Trade Weekly", "editor", "hwtweekly.example", "Homeware Trade Weekly"),
    ("Helpdeskly", "product", "updates.helpdeskly.example", "Helpdeskly product news"),
    ("Kestrel Logistics", "noreply", "kestrel-log.example", "Kestrel customer bulletin"),
    ("PayNorth", "no-reply", "e.paynorth.example", "PayNorth merchant news"),
    ("Trade Show Europe", "info", "tse-events.example", "TSE exhibitors"),
]
ARTICLE_TITLES = ["Peak season cut-off dates for {month}", "New: returns labels printed at 4,000 lockers",
                  "Five ways to cut 'where is my order' tickets", "Price changes to international surcharges",
                  "Webinar: getting ready for the holiday rush", "Customer story: how Nordhaus halved response times",
                  "Your monthly shipping report is ready", "Product update: smarter macros and SLA timers",
                  "Fuel surcharge update", "Early-bird tickets now on sale"]
ARTICLE_TEXT = ["From {date}, collections booked after 6 pm will be picked up the next working day. Please plan your "
                "dispatch cut-offs accordingly and let your customers know.",
                "We've added 1,200 new drop-off points this quarter, so most of your customers are now within a "
                "ten-minute walk of one.",
                "Our latest benchmark of 2,000 online retailers shows that proactive delivery notifications reduce "
                "inbound contacts by up to 30 %.",
                "Surcharges for deliveries to remote areas will change on the first of next month. The full table is "
                "available in your account.",
                "Join our product team for a 30-minute walkthrough of everything new, followed by a live Q&A.",
                "Read how a 40-person homeware brand rebuilt its support workflow in six weeks.",
                "As always, you can manage which emails you receive from us in your preferences."]
NOTIFICATIONS = [
    ("PayNorth Disputes", "disputes", "paynorth.example", "A payment was disputed: {amount} (case {ticket})",
     "A customer's bank has disputed a payment of {amount} made on {date}. Reason: product not received. Respond "
     "with evidence before {date2} to avoid losing the dispute. Card ending {last4}, order reference {order}."),
    ("PayNorth", "payouts", "paynorth.example", "Your payout of {amount} is on its way",
     "We've sent {amount} to your bank account ending {last4}. It should arrive within 2 business days."),
    ("Trustly Reviews", "noreply", "reviews.trustly.example", "New 1-star review for {shop}",
     "{name} left a review: \"Ordered a {product}, arrived broken, nobody answers emails. Avoid.\""),
    ("Marketplace Messages", "no-reply", "market.example", "A buyer sent you a message about order {order}",
     "Message from buyer: Hello, I still have not received the {product} and the tracking {track} has not "
     "changed for a week. Please refund me. -- To reply, go to your seller inbox. Do not reply to this email."),
    ("{carrier} Notifications", "notify", "carrier-updates.example", "Delivery exception for {track}",
     "We were unable to deliver parcel {track}: address incomplete. It will be returned to the sender in 5 days."),
]
SPAM = [("Boost your Google ranking in 30 days", "We help e-commerce businesses like {shop} reach page one. Reply YES "
         "for a free audit of your website."),
        ("Your mailbox is almost full", "Your mailbox storage is 98% full. Verify your account within 24 hours to avoid "
         "losing incoming messages: http://mail-verify.example/login"),
        ("Invoice #{ticket} overdue - immediate action required", "Please find attached your overdue invoice. Kindly "
         "settle the amount of {amount} today to avoid additional fees."),
        ("Partnership opportunity", "Dear Sir/Madam, we are a leading manufacturer of homeware products from "
         "Ningbo and would like to offer you our best prices and free samples."),
        ("Congratulations! You've been selected", "You have been selected to receive a {amount} gift card. Claim "
         "now before it expires."),
        ("Re: Payment", "Kindly confirm receipt of the payment advice attached and update your records."),
        ("💰 Last chance: 80% off SEO packages", "Only three slots left this month! Book a call today."),
        ("Angebot: Lagerflächen zu Sonderpreisen", "Sehr geehrte Damen und Herren, wir bieten Ihnen Lagerflächen "
         "ab 3,90 € pro m² an."),
        ("Crypto investment - guaranteed 12% monthly", "Join thousands of smart investors earning passive income.")]
BOUNCE_REASONS = ["550 5.1.1 <{addr}>: Recipient address rejected: User unknown in virtual mailbox table",
                  "552 5.2.2 <{addr}>: Mailbox full", "554 5.7.1 <{addr}>: Relay access denied",
                  "550 5.7.26 This mail has been blocked because the sender is unauthenticated."]

# -- message structure --------------------------------------------------------------------

KINDS = ("customer", "reply", "autoreply", "bounce", "newsletter", "notification", "spam")
KIND_WEIGHTS = (52, 20, 5, 2, 9, 4, 8)
ROUTES = ("gmail", "outlook", "m365", "apple", "yahoo", "gmx", "own")


@dataclass(frozen=True)
class Mail:
    """One generated message: ``raw`` with LF line ends (as Maildir keeps them)."""

    raw: bytes
    date: datetime
    kind: str
    message_id: str

    def crlf(self) -> bytes:
        """The message with CRLF line ends, as IMAP APPEND wants it."""
        return self.raw.replace(b"\n", b"\r\n")


@dataclass
class Thread:
    subject: str
    ids: list[str]
    person: tuple
    route: str
    lang: str
    voice: str
    history: str          # the text so far, as the next reply would quote it
    date: datetime
    answered: bool


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _wrap(text: str, width: int = 76) -> str:
    """Word-wrap one paragraph (cheaply: mail clients do it, format=fixed)."""
    if len(text) <= width:
        return text
    lines, line = [], []
    used = 0
    for word in text.split(" "):
        if used + len(word) > width and line:
            lines.append(" ".join(line))
            line, used = [], 0
        line.append(word)
        used += len(word) + 1
    lines.append(" ".join(line))
    return "\n".join(lines)


def _fold(name: str, value: str, sep: str = "; ") -> str:
    """``Name: value`` folded at ``sep`` boundaries to lines of about 78 characters."""
    parts = value.split(sep)
    lines, line = [], f"{name}: {parts[0]}"
    for part in parts[1:]:
        if len(line) + len(part) + 2 > 78:
            lines.append(line + sep.rstrip())
            line = "\t" + part
        else:
            line += sep + part
    lines.append(line)
    return "\n".join(lines)


def _blob_lines(blob: str, first: int = 60, width: int = 72, indent: str = "\t") -> str:
    """A long base64 value folded the way signers fold it."""
    out = [blob[:first]]
    out.extend(indent + blob[i:i + width] for i in range(first, len(blob), width))
    return "\n".join(out)


def encode_word(text: str, r: random.Random) -> str:
    """RFC 2047: ``text`` as it goes into a header (untouched when it is ASCII)."""
    if text.isascii():
        return text
    charset = "utf-8"
    if r.random() < 0.25:
        try:
            data = text.encode("iso-8859-1")
            charset = "iso-8859-1"
        except UnicodeEncodeError:
            data = text.encode("utf-8")
    else:
        data = text.encode("utf-8")
    if r.random() < 0.5:  # B encoding, in words of at most 45 bytes (75 characters encoded)
        chunks, words = [], []
        step = 45
        if charset == "utf-8":  # never split a character
            current = b""
            for ch in text:
                b = ch.encode("utf-8")
                if len(current) + len(b) > step:
                    chunks.append(current)
                    current = b""
                current += b
            chunks.append(current)
        else:
            chunks = [data[i:i + step] for i in range(0, len(data), step)]
        for chunk in chunks:
            words.append(f"=?{charset.upper() if r.random() < 0.5 else charset}?B?{base64.b64encode(chunk).decode()}?=")
        return "\n ".join(words)
    words, word = [], []
    used = 0
    for ch in text:  # Q encoding, strict enough for a display name (RFC 2047 section 5 (3))
        if ch.isascii() and (ch.isalnum() or ch in "!*+-/"):
            piece = ch
        elif ch == " ":
            piece = "_"
        else:
            piece = "".join(f"={b:02X}" for b in ch.encode(charset))
        if used + len(piece) > 60 and word:
            words.append("".join(word))
            word, used = [], 0
        word.append(piece)
        used += len(piece)
    words.append("".join(word))
    return "\n ".join(f"=?{charset}?Q?{w}?=" for w in words)


def address(name: str, addr: str, r: random.Random) -> str:
    if not name:
        return addr
    if name.isascii():
        if any(c in name for c in ",.'&()"):
            return f'"{name}" <{addr}>'
        return f"{name} <{addr}>"
    return f"{encode_word(name, r)} <{addr}>"


def fmt_date(d: datetime) -> str:
    offset = d.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return (f"{WEEKDAYS[d.weekday()]}, {d.day} {MON[d.month - 1]} {d.year} {d.hour:02d}:{d.minute:02d}:{d.second:02d} "
            f"{sign}{minutes // 60:02d}{minutes % 60:02d}")


TZ = {"en-GB": timezone.utc, "en-US": timezone(timedelta(hours=-5)), "de": timezone(timedelta(hours=1)),
      "es": timezone(timedelta(hours=1)), "fr": timezone(timedelta(hours=1)), "pl": timezone(timedelta(hours=1)),
      "nordic": timezone(timedelta(hours=1)), "ja": timezone(timedelta(hours=9))}


class MailGen:
    """A seeded stream of support mail arriving over ``days`` days up to ``end``."""

    def __init__(self, seed: int = 1, *, end: datetime | None = None, days: float = 21.0, count_hint: int = 10_000):
        self.r = random.Random(seed)
        self.seed = seed
        self.end = end or datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
        self.days = days
        self.count_hint = max(count_hint, 1)
        self.index = 0
        self.threads: list[Thread] = []
        self.people = self._people(max(200, min(20_000, count_hint // 3)))
        self.person_weights = [1.0 / (i + 1) ** 0.5 for i in range(len(self.people))]
        self._cum = list(_accumulate(self.person_weights))

    # -- people -----------------------------------------------------------------------

    def _people(self, count: int) -> list[tuple]:
        r = self.r
        locales = list(LOCALE_WEIGHTS)
        weights = list(LOCALE_WEIGHTS.values())
        people = []
        for i in range(count):
            loc = r.choices(locales, weights)[0]
            firsts, lasts, domains, currency, lang = LOCALES[loc]
            first, last = r.choice(firsts), r.choice(lasts)
            company = None
            if r.random() < 0.12:
                company = r.choice(COMPANIES)
                domain = company[1]
            else:
                domain = r.choice(domains)
            ascii_first = _ascii(first) or f"user{i}"
            ascii_last = _ascii(last).replace("'", "") or "x"
            local = r.choice([f"{ascii_first}.{ascii_last}", f"{ascii_first[0]}{ascii_last}",
                              f"{ascii_first}{r.randint(1, 99)}", f"{ascii_last}.{ascii_first}",
                              f"{ascii_first}_{ascii_last}{r.randint(60, 99)}"])
            name = f"{first} {last}" if r.random() < 0.93 else (f"{last}, {first}" if loc == "en-US" else first)
            if r.random() < 0.05:
                name = name.lower()
            route = self._route_for(domain, company)
            voice = "business" if company and r.random() < 0.7 else r.choices(VOICE_NAMES, VOICE_WEIGHTS)[0]
            if lang != "en" and r.random() < 0.35:
                lang = "en"  # writes to an English shop in English
            people.append((name, f"{local}@{domain}", loc, lang, currency, route, voice, company))
        return people

    @staticmethod
    def _route_for(domain: str, company) -> str:
        if company:
            return "m365" if sum(domain.encode()) % 3 else "own"
        if domain == "gmail.com":
            return "gmail"
        if domain.startswith(("hotmail", "outlook", "live")):
            return "outlook"
        if domain == "icloud.com":
            return "apple"
        if domain.startswith("yahoo") or domain in ("aol.com", "att.net", "sky.com", "btinternet.com"):
            return "yahoo"
        if domain in ("gmx.de", "web.de", "t-online.de", "freenet.de", "posteo.de"):
            return "gmx"
        return "own"

    def _person(self) -> tuple:
        x = self.r.random() * self._cum[-1]
        lo, hi = 0, len(self._cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return self.people[lo]

    # -- the stream -------------------------------------------------------------------

    def take(self, count: int) -> Iterator[Mail]:
        """``count`` messages, dates rising evenly (with jitter) over the window."""
        self.count_hint = max(count, 1)
        span = self.days * 86400.0
        start = self.end - timedelta(days=self.days)
        for i in range(count):
            offset = span * (i + self.r.random()) / count
            yield self.next(date=start + timedelta(seconds=offset))

    def next(self, *, date: datetime | None = None, kinds: Sequence[str] | None = None) -> Mail:
        """One more message, sent at ``date`` (default: ``end``)."""
        r = self.r
        self.index += 1
        date = date or self.end
        if kinds:
            kind = r.choices(kinds, [KIND_WEIGHTS[KINDS.index(k)] for k in kinds])[0]
        else:
            kind = r.choices(KINDS, KIND_WEIGHTS)[0]
        if kind == "reply" and not self.threads:
            kind = "customer"
        target = int(TARGET_LOW * (TARGET_HIGH / TARGET_LOW) ** r.random())
        build = getattr(self, "_" + kind)
        raw, message_id = build(date, target)
        if len(raw) > MAX_SIZE:
            raw = _trim(raw, MAX_SIZE)
        return Mail(raw.encode("utf-8"), date, kind, message_id)

    # -- context for the fragments ---------------------------------------------------

    def _ctx(self, person: tuple, date: datetime) -> dict:
        r = self.r
        currency = person[4]
        amount = r.randint(8, 480) + r.randint(0, 99) / 100
        amount2 = round(amount * r.choice([0.5, 0.8, 1.1, 2.0]), 2)

        def money(v: float) -> str:
            return f"{currency}{v:.2f}" if currency != "€" else f"{v:.2f} €".replace(".", ",")

        d1 = date - timedelta(days=r.randint(3, 40))
        d2 = d1 + timedelta(days=r.randint(1, 9))
        return {
            "order": f"BW-{r.randint(1_000_000, 9_999_999)}", "product": r.choice(PRODUCTS), "product2": r.choice(PRODUCTS),
            "amount": money(amount), "amount2": money(amount2), "fee": money(r.choice([1.99, 2.50, 4.99, 7.95, 12.00])),
            "threshold": money(50.0), "date": f"{d1.day} {MONTHS[d1.month - 1]}", "date2": f"{d2.day} {MONTHS[d2.month - 1]}",
            "days": r.randint(6, 45), "years": r.randint(2, 12), "track": f"{r.choice(['JD', 'H0', '1Z', 'LX'])}{r.randint(10**9, 10**11)}GB",
            "last4": f"{r.randint(0, 9999):04d}", "plan": r.choice(PLANS), "ticket": f"#{r.randint(100000, 999999)}",
            "carrier": r.choice(CARRIERS), "city": r.choice(CITIES), "shop": SHOP, "month": MONTHS[(d1.month - 2) % 12],
            "company": person[7][0] if person[7] else "our company", "po": r.randint(10000, 999999), "vat": r.randint(10**8, 10**9),
            "first": person[0].split()[0], "agent": r.choice(AGENTS), "name": person[0],
        }

    # -- customers --------------------------------------------------------------------

    def _customer_text(self, person: tuple, ctx: dict, target_chars: int) -> tuple[str, list[str]]:
        """(subject, paragraphs) of a first message."""
        r = self.r
        voice, lang = person[6], person[3]
        if lang != "en":
            table = LANG[lang]
            subject = r.choice(table["subjects"]).format_map(ctx)
            paras = [r.choice(table["greetings"]).format_map(ctx)]
            body = r.sample(table["body"], min(len(table["body"]), r.randint(2, 4)))
            paras.append(_wrap(" ".join(s.format_map(ctx) for s in body)))
            paras.append(f"{r.choice(table['signoffs'])}\n{person[0]}")
            if person[6] == "mobile":
                paras.append(table["mobile"])
            return subject, self._pad(paras, ctx, target_chars, "refund", table["body"])
        topic = r.choices(TOPIC_NAMES, TOPIC_WEIGHTS)[0]
        _, subjects, facts, asks = TOPICS[topic]
        greetings, openers, colour, closings, signoffs = VOICES[voice]
        subject = r.choice(subjects).format_map(ctx)
        if voice in ("terse", "mobile") and r.random() < 0.4:
            subject = subject.lower()
        if voice == "angry" and r.random() < 0.3:
            subject = subject.upper() + "!!!"
        chosen = r.sample(facts, min(len(facts), 1 if voice in ("terse", "mobile") else r.randint(2, 4)))
        sentences = [r.choice(openers)] + chosen
        if colour and (voice in ("angry", "rambler") or r.random() < 0.3):
            sentences += r.sample(colour, min(len(colour), 1 if voice != "rambler" else 3))
        sentences.append(r.choice(asks))
        text = " ".join(s.format_map(ctx) for s in sentences if s)
        if voice in ("terse", "mobile"):
            text = _typos(text.lower(), r) if r.random() < 0.6 else text
        paras = []
        greeting = r.choice(greetings).format_map(ctx)
        if greeting:
            paras.append(greeting)
        # paragraphs of 2-3 sentences
        split = text.split(". ")
        step = r.randint(2, 3)
        for i in range(0, len(split), step):
            chunk = ". ".join(split[i:i + step])
            paras.append(_wrap(chunk if chunk.endswith((".", "?", "!", ")")) else chunk + "."))
        closing = r.choice(closings)
        if closing:
            paras.append(closing)
        signoff = r.choice(signoffs)
        sig = f"{signoff}\n{person[0]}" if signoff else person[0].split()[0]
        if voice == "business" or (person[7] and r.random() < 0.5):
            company = person[7][0] if person[7] else "Harcourt & Finch Ltd"
            sig += (f"\n{r.choice(['Office Manager', 'Accounts Payable', 'Facilities Coordinator', 'Finance Assistant'])}"
                    f"\n{company}\nT: +44 113 {r.randint(100, 999)} {r.randint(1000, 9999)} | M: +44 7{r.randint(100, 999)} "
                    f"{r.randint(100000, 999999)}\nwww.{person[1].split('@')[1]}")
        elif r.random() < 0.3:
            sig += f"\n{r.choice(['07', '+44 7', '(555) '])}{r.randint(100, 999)} {r.randint(100000, 999999)}"
        paras.append(sig)
        if voice == "mobile" or r.random() < 0.08:
            paras.append(r.choice(SIGNATURES_MOBILE))
        if voice == "business" and r.random() < 0.7:
            paras.append("_" * r.randint(20, 40) + "\n" + _wrap(r.choice(DISCLAIMERS).format_map(ctx)))
        paras = self._pad(paras, ctx, target_chars, topic)
        return subject, paras

    def _pad(self, paras: list[str], ctx: dict, target_chars: int, topic: str,
             own_words: list[str] | None = None) -> list[str]:
        """Make a first message about ``target_chars`` long the way real ones get long:
        pasted order confirmations, tracking histories, statements, more story (in the
        customer's language: ``own_words``, else English)."""
        r = self.r
        size = sum(map(len, paras))
        if size >= target_chars:
            return paras
        extra = []
        while size < target_chars:
            roll = r.random()
            if roll < 0.35:
                d = ctx["date"]
                block = (f"---------- Forwarded message ---------\nFrom: {SHOP} <orders@{SHOP_DOMAIN}>\nDate: {d}\n"
                         f"Subject: Your {SHOP} order {ctx['order']} is confirmed\nTo: <{ctx['first'].lower()}@...>\n\n"
                         f"Hi {ctx['first']},\n\nThanks for your order! Here's what you bought:\n\n"
                         + "\n".join(line.format_map(ctx) for line in r.sample(ORDER_LINES, r.randint(2, 4)))
                         + f"\n\nOrder total: {ctx['amount']}\nPaid with: Visa ending {ctx['last4']}\n"
                         f"Delivery address:\n{ctx['name']}\n{r.randint(1, 120)} {r.choice(['Mill Lane', 'Station Road', 'Church Street', 'Elm Grove'])}\n"
                         f"{r.choice(CITIES)}\n\nWe'll email you again when your order is on its way.\n\n"
                         f"{SHOP} | Terms | Privacy | Returns\n")
            elif roll < 0.55:
                block = "Tracking history:\n" + "\n".join(
                    f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d} {r.randint(6, 21):02d}:{r.randint(0, 59):02d}  "
                    f"{r.choice(['Parcel received at depot', 'In transit', 'Out for delivery', 'Delivery attempted', 'Held at depot', 'Arrived at hub'])}"
                    f"  {r.choice(CITIES).upper()}" for _ in range(r.randint(4, 12)))
            elif roll < 0.7 and topic in ("fee_dispute", "refund"):
                block = "From my statement:\n" + "\n".join(
                    f"{r.randint(1, 28):02d} {r.choice(MON)}  CARD PAYMENT TO {r.choice(['BRIGHTWATER', 'BRIGHTWATER*ONLINE', 'BW HOME'])}"
                    f"  {r.randint(5, 300)}.{r.randint(0, 99):02d}" for _ in range(r.randint(3, 8)))
            else:
                words = own_words or _ALL_FACTS
                block = _wrap(" ".join(s.format_map(ctx) for s in r.sample(words, min(3, len(words)))))
            extra.append(block)
            size += len(block) + 2
        cut = max(1, len(paras) - 1)
        return paras[:cut] + extra + paras[cut:]

    def _customer(self, date: datetime, target: int) -> tuple[str, str]:
        r = self.r
        person = self._person()
        ctx = self._ctx(person, date)
        headers = _route_headers(r, person[5], person[1], date, target)
        budget = target - len(headers)
        html_style = _html_style(person[5], r)
        alternative = html_style is not None
        attach = _pick_attachment(r, 0.17)
        if attach:
            att_raw = r.randint(600, max(700, int(budget * r.uniform(0.3, 0.6) / 1.37)))
        else:
            att_raw = 0
        text_chars = max(250, int((budget - att_raw * 1.37 - 400) / (_html_factor(html_style) + 1 if alternative else 1)))
        message_id = _message_id(r, person[5], person[1], date, self.index)
        for attempt in range(4):  # the encoding's overhead is known only once the text is: shrink until it fits
            subject, paras = self._customer_text(person, ctx, text_chars)
            body = "\n\n".join(paras) + "\n"
            raw = self._assemble(r, headers, person, subject, date, message_id, body, paras, html_style, attach, att_raw,
                                 None, None)
            size = len(raw) + (len(raw.encode("utf-8")) - len(raw) if not raw.isascii() else 0)
            if size <= min(MAX_SIZE, target * 1.2 + 600):
                break
            shrink = min(MAX_SIZE, target) / size
            text_chars = max(200, int(text_chars * shrink * 0.9))
            att_raw = max(500, int(att_raw * shrink * 0.9)) if attach else 0
        self._remember(Thread(subject, [message_id], person, person[5], person[3], person[6], body, date, False))
        return raw, message_id

    def _reply(self, date: datetime, target: int) -> tuple[str, str]:
        """A customer writing again in a thread: after the team's answer, or chasing."""
        r = self.r
        recent = self.threads[-400:]
        thread = recent[int(len(recent) * (1 - r.random() ** 2)) - 1] if len(recent) > 1 else recent[0]
        person = thread.person
        ctx = self._ctx(person, date)
        lang = thread.lang
        headers = _route_headers(r, person[5], person[1], date, target)
        answered = r.random() < 0.55
        quoted_who, quoted_date = (f"{SUPPORT_NAME} <{SUPPORT}>", thread.date + timedelta(hours=r.randint(2, 40))) \
            if answered else (address(person[0], person[1], r).replace("\n ", " "), thread.date)
        if answered:
            agent_text = "\n\n".join([f"Hi {ctx['first']},", _wrap(" ".join(
                s.format_map(ctx) for s in r.sample(AGENT_LINES, r.randint(2, 4)))),
                f"Kind regards,\n{ctx['agent']}\n{SUPPORT_NAME}\n{SHOP_DOMAIN}/help"])
            history = agent_text + "\n\n" + _attribution(lang, thread.date, address(person[0], person[1], r)
                                                         .replace("\n ", " "), r) + "\n" + _quote(thread.history)
            reply_ref = f"<{r.getrandbits(64):016x}.{self.index}@{SHOP_DOMAIN}>"
        else:
            history = thread.history
            reply_ref = thread.ids[-1]
        voice = thread.voice
        if lang != "en":
            words = [r.choice(LANG[lang]["chasers"]), f"{r.choice(LANG[lang]['signoffs'])}\n{person[0]}"]
        elif answered and r.random() < 0.3:
            words = [r.choice(THANKS), person[0].split()[0]]
        else:
            words = []
            greeting = r.choice(VOICES[voice][0]).format_map(ctx)
            if greeting:
                words.append(greeting)
            line = r.choice(ANSWERS if answered and r.random() < 0.6 else CHASERS[voice]).format_map(ctx)
            if voice == "angry" and r.random() < 0.5:
                line += " " + r.choice(VOICES["angry"][2])
            words.append(_wrap(line))
            signoff = r.choice(VOICES[voice][4])
            words.append(f"{signoff}\n{person[0]}" if signoff else person[0].split()[0])
            if voice == "mobile":
                words.append(r.choice(SIGNATURES_MOBILE))
        subject = thread.subject
        if not subject.lower().startswith(("re:", "aw:", "re :")):
            subject = (LANG[lang]["re"] if lang != "en" else r.choice(["Re: ", "RE: ", "Re: "])) + subject
        message_id = _message_id(r, person[5], person[1], date, self.index)
        budget = target - len(headers) - 300
        html_style = _html_style(person[5], r)
        factor = _html_factor(html_style) + 1 if html_style else 1
        attach = _pick_attachment(r, 0.10)
        att_raw = r.randint(600, max(700, int(budget * 0.4 / 1.37))) if attach else 0
        room = max(300, int((budget - att_raw * 1.37) / factor) - sum(map(len, words)))
        quote_style = _quote_style(person[5], lang, r)
        references = (thread.ids + ([reply_ref] if answered else []))[-12:]
        full = history
        for attempt in range(4):
            if len(full) > room:
                history = full[:room].rsplit("\n", 1)[0] + "\n"
            if quote_style == "outlook":
                quoted = (f"\n________________________________\nFrom: {quoted_who}\nSent: {WEEKDAYS_LONG[quoted_date.weekday()]}, "
                          f"{quoted_date.day} {MONTHS[quoted_date.month - 1]} {quoted_date.year} {quoted_date:%H:%M}\n"
                          f"To: {person[0]} <{person[1]}>\nSubject: {subject}\n\n{history}")
            else:
                quoted = _attribution(lang, quoted_date, quoted_who, r) + "\n" + _quote(history)
            paras = words + [quoted]
            body = "\n\n".join(paras) + "\n"
            raw = self._assemble(r, headers, person, subject, date, message_id, body, paras, html_style, attach, att_raw,
                                 reply_ref, references)
            size = len(raw.encode("utf-8"))
            if size <= min(MAX_SIZE, target * 1.2 + 600) or room <= 300:
                break
            shrink = min(MAX_SIZE, target) / size
            room = max(300, int(min(room, len(history)) * shrink * 0.85))
            att_raw = max(500, int(att_raw * shrink * 0.9)) if attach else 0
        thread.ids = thread.ids + ([reply_ref] if answered else []) + [message_id]
        thread.subject = subject
        thread.history = "\n\n".join(words) + "\n\n" + _attribution(lang, quoted_date, quoted_who, r) + "\n" + \
            _quote(history[:6000])
        thread.date = date
        self.threads.remove(thread)
        self._remember(thread)
        return raw, message_id

    def _remember(self, thread: Thread) -> None:
        self.threads.append(thread)
        if len(self.threads) > 600:
            del self.threads[:200]

    # -- automated mail ---------------------------------------------------------------

    def _autoreply(self, date: datetime, target: int) -> tuple[str, str]:
        r = self.r
        person = self._person()
        ctx = self._ctx(person, date)
        headers = _route_headers(r, person[5], person[1], date, target)
        subject_tpl, text = r.choice(AUTOREPLIES)
        original = f"Re: {r.choice(TOPICS['refund'][1]).format_map(ctx)} [{ctx['ticket']}]"
        colleague = r.choice(LOCALES["en-GB"][0])
        ctx.update(subject=original, colleague=colleague, colleague_addr=f"{colleague.lower()}@{person[1].split('@')[1]}")
        subject = subject_tpl.format_map(ctx)
        paras = [_wrap(text.format_map(ctx))]
        if person[7]:
            paras.append(f"{person[0]}\n{person[7][0]}\nT: +44 20 {r.randint(1000, 9999)} {r.randint(1000, 9999)}")
            if r.random() < 0.6:
                paras.append(_wrap(r.choice(DISCLAIMERS).format_map(ctx)))
        html_style = "outlook" if person[5] in ("m365", "outlook") and r.random() < 0.6 else None
        room = (target - len(headers) - 900 - (1800 if html_style else 0)) / (_html_factor(html_style) + 1 if html_style
                                                                               else 1) - sum(map(len, paras))
        if room > 400 and r.random() < 0.7:  # Exchange and many others quote what they answer
            original = "\n\n".join([f"Hi {ctx['first']},", _wrap(" ".join(s.format_map(ctx) for s in r.sample(AGENT_LINES, 4))),
                                      f"Kind regards,\n{ctx['agent']}\n{SUPPORT_NAME}"])
            while len(original) < room * 0.8:
                original += "\n\n" + _quote(_wrap(" ".join(s.format_map(ctx) for s in r.sample(_ALL_FACTS, 4))))
            paras.append(f"-----Original Message-----\nFrom: {SUPPORT_NAME} <{SUPPORT}>\nSent: {fmt_date(date)}\n"
                         f"To: {person[1]}\nSubject: {ctx['subject']}\n\n{original[:max(400, int(room * 0.8))]}"
                         )
        body = "\n\n".join(paras) + "\n"
        message_id = _message_id(r, person[5], person[1], date, self.index)
        extra = ["Auto-Submitted: auto-replied", f"In-Reply-To: <{r.getrandbits(64):016x}@{SHOP_DOMAIN}>"]
        if person[5] in ("m365", "outlook"):
            extra += ["X-MS-Exchange-Inbox-Rules-Loop: " + person[1], "X-Auto-Response-Suppress: All"]
        else:
            extra += ["X-Autoreply: yes", "Precedence: auto_reply"]
        return self._assemble(r, headers + "\n".join(extra) + "\n", person, subject, date, message_id, body,
                              paras, html_style, None, 0, None, None), message_id

    def _bounce(self, date: datetime, target: int) -> tuple[str, str]:
        r = self.r
        person = self._person()
        ctx = self._ctx(person, date)
        message_id = f"<{date:%Y%m%d%H%M%S}.{r.getrandbits(40):010X}.{self.index}@mx1.{SHOP_DOMAIN}>"
        qid = f"{r.getrandbits(40):010X}"
        reason = r.choice(BOUNCE_REASONS).format(addr=person[1])
        boundary = f"{qid}.{int(date.timestamp())}/mx1.{SHOP_DOMAIN}"
        orig_headers = _route_headers(r, "own", SUPPORT, date - timedelta(minutes=1), 4000)
        head = (f"Return-Path: <>\nDelivered-To: {SUPPORT}\n"
                f"Received: by mx1.{SHOP_DOMAIN} (Postfix)\n\tid {qid}; {fmt_date(date)}\n"
                f"Date: {fmt_date(date)}\nFrom: MAILER-DAEMON@mx1.{SHOP_DOMAIN} (Mail Delivery System)\n"
                f"Subject: Undelivered Mail Returned to Sender\nTo: {SUPPORT}\nAuto-Submitted: auto-replied\n"
                f"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"{boundary}\"\n"
                f"Content-Transfer-Encoding: 8bit\nMessage-Id: {message_id}\n\n"
                "This is a MIME-encapsulated message.\n\n")
        text = (f"This is the mail system at host mx1.{SHOP_DOMAIN}.\n\nI'm sorry to have to inform you that your message "
                "could not\nbe delivered to one or more recipients. It's attached below.\n\nFor further assistance, "
                "please send mail to postmaster.\n\nIf you do so, please include this problem report. You can\n"
                "delete your own text from the attached returned message.\n\n                   The mail system\n\n"
                f"<{person[1]}>: host {person[1].split('@')[1]}[{_ip(r)}] said: {reason} (in reply to RCPT TO command)\n")
        status = (f"Reporting-MTA: dns; mx1.{SHOP_DOMAIN}\nX-Postfix-Queue-ID: {qid}\nArrival-Date: {fmt_date(date)}\n\n"
                  f"Final-Recipient: rfc822; {person[1]}\nOriginal-Recipient: rfc822;{person[1]}\nAction: failed\n"
                  f"Status: 5.1.1\nRemote-MTA: dns; {person[1].split('@')[1]}\nDiagnostic-Code: smtp; {reason}\n")
        original = (orig_headers + f"From: {SUPPORT_NAME} <{SUPPORT}>\nTo: {address(person[0], person[1], r)}\n"
                    f"Subject: Re: {r.choice(TOPICS['shipping'][1]).format_map(ctx)}\nDate: {fmt_date(date)}\n"
                    f"Message-ID: <{r.getrandbits(64):016x}@{SHOP_DOMAIN}>\nContent-Type: text/plain; charset=utf-8\n\n"
                    + _wrap(" ".join(s.format_map(ctx) for s in r.sample(AGENT_LINES, 3))) + "\n")
        room = target - len(orig_headers) - 2600
        while len(original) < room and room > 0:
            original += "\n" + _quote(_wrap(" ".join(s.format_map(ctx) for s in r.sample(_ALL_FACTS, 4)))) + "\n"
        raw = (head + f"--{boundary}\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
               f"{text}\n--{boundary}\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
               f"{status}\n--{boundary}\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n"
               f"Content-Transfer-Encoding: 8bit\n\n{original}\n--{boundary}--\n")
        return raw, message_id

    def _newsletter(self, date: datetime, target: int) -> tuple[str, str]:
        r = self.r
        name, local, domain, list_name = r.choice(NEWSLETTERS)
        person = (name, f"{local}@{domain}", "en-GB", "en", "£", "bulk", "polite", None)
        ctx = self._ctx(person, date)
        headers = _route_headers(r, "bulk", person[1], date, target)
        campaign = f"{r.getrandbits(32):08x}"
        list_id = f"{list_name} <{campaign[:6]}.list-id.{domain}>"
        extra = [f"List-Id: {list_id}",
                 f"List-Unsubscribe: <https://{domain}/unsubscribe?u={r.getrandbits(64):016x}&id={campaign}>,\n "
                 f"<mailto:unsubscribe-{r.getrandbits(48):012x}@{domain}?subject=unsubscribe>",
                 "List-Unsubscribe-Post: List-Unsubscribe=One-Click", "Precedence: bulk",
                 f"Feedback-ID: {campaign}:{r.randint(1000, 9999)}:newsletter:{domain}",
                 f"X-Campaign-ID: {campaign}", f"X-Report-Abuse: Please report abuse to abuse@{domain}"]
        subject = r.choice(ARTICLE_TITLES).format_map(ctx)
        if r.random() < 0.2:
            subject = "🚚 " + subject
        budget = target - len(headers) - 600
        articles = []
        size = 0
        while size < budget - 2200 or not articles:
            title = r.choice(ARTICLE_TITLES).format_map(ctx)
            text = " ".join(s.format_map(ctx) for s in r.sample(ARTICLE_TEXT, r.randint(1, 3)))
            articles.append((title, text))
            size += 2 * (len(title) + len(text)) + 700
        plain = f"{list_name}\n\nView this email in your browser: https://{domain}/view/{campaign}\n\n" + "\n\n".join(
            f"{t.upper()}\n{_wrap(x)}\nRead more: https://{domain}/r/{r.getrandbits(40):010x}" for t, x in articles) + \
            f"\n\nYou are receiving this because {SUPPORT} subscribed to {list_name}.\nUnsubscribe: https://{domain}/unsubscribe\n"
        html_body = _newsletter_html(r, list_name, domain, campaign, articles)
        message_id = f"<{campaign}.{r.getrandbits(64):016x}.{self.index}@{domain}>"
        from_ = address(name, person[1], r)
        head = headers + "\n".join(extra) + "\n" + (
            f"From: {from_}\nTo: {SUPPORT}\nSubject: {encode_word(subject, r)}\nDate: {fmt_date(date)}\n"
            f"Message-ID: {message_id}\nMIME-Version: 1.0\n")
        if r.random() < 0.85:
            boundary = f"_----------=_{r.getrandbits(64):016X}"
            raw = (head + f"Content-Type: multipart/alternative; boundary=\"{boundary}\"\n\n"
                   f"--{boundary}\n" + _part(r, plain, "plain", "quoted-printable") +
                   f"\n--{boundary}\n" + _part(r, html_body, "html", "quoted-printable") + f"\n--{boundary}--\n")
        else:
            raw = head + _part(r, html_body, "html", r.choice(["quoted-printable", "base64"]))
        return raw, message_id

    def _notification(self, date: datetime, target: int) -> tuple[str, str]:
        r = self.r
        name, local, domain, subject, text = r.choice(NOTIFICATIONS)
        person = (name, f"{local}@{domain}", "en-GB", "en", "£", "bulk", "polite", None)
        ctx = self._ctx(self._person(), date)
        name = name.format_map(ctx)
        headers = _route_headers(r, "bulk", person[1], date, target)
        body = _wrap(text.format_map(ctx)) + "\n\n" + _wrap(
            f"This is an automated message from {name}. You are receiving it because {SUPPORT} is the contact for "
            f"{SHOP}'s account. Manage notifications at https://{domain}/settings/notifications") + "\n"
        message_id = f"<{r.getrandbits(96):024x}.{self.index}@{domain}>"
        extra = "Auto-Submitted: auto-generated\n" if r.random() < 0.5 else ""
        style = "notice" if r.random() < 0.65 else None
        attach = ("pdf", "application/pdf", f"dispute-evidence-{ctx['ticket'][1:]}.pdf") if "dispute" in subject.lower() \
            and r.random() < 0.5 else None
        budget = target - len(headers) - 900
        att_raw = max(700, int(budget * 0.6 / 1.37)) if attach else 0
        paras = body.split("\n\n")
        room = (target - len(headers) - 1500 - att_raw * 1.37) / 2.2
        details = []
        while sum(map(len, details)) + len(body) < room:
            details.append(r.choice(["Order", "Customer", "Amount", "Card", "Date", "Reason", "Status", "Reference"])
                           + ": " + r.choice([ctx["order"], ctx["name"], ctx["amount"], ctx["last4"], ctx["date"],
                                              "product not received", "needs response", ctx["ticket"], ctx["track"]]))
            if len(details) % 8 == 0:
                details.append(_wrap(r.choice(ARTICLE_TEXT).format_map(ctx)))
        if details:
            paras = paras[:-1] + ["\n".join(details)] + paras[-1:]
            body = "\n\n".join(paras) + "\n"
        return self._assemble(r, headers + extra, (name, person[1], "en-GB", "en", "£", "bulk", "polite", None),
                              subject.format_map(ctx), date, message_id, body, paras, style, attach, att_raw, None, None), \
            message_id

    def _spam(self, date: datetime, target: int) -> tuple[str, str]:
        r = self.r
        subject, text = r.choice(SPAM)
        domain = f"{r.choice(['promo', 'mailer', 'secure-notice', 'deals', 'b2b-leads'])}{r.randint(1, 999)}.example"
        person = (r.choice(["Sales Team", "Account Services", "Mary Johnson", "Ningbo Homeware Co.", "Lisa",
                            "IT Helpdesk"]), f"{r.choice(['info', 'sales', 'noreply', 'admin'])}@{domain}",
                  "en-US", "en", "$", "spam", "polite", None)
        ctx = self._ctx(person, date)
        headers = _route_headers(r, "spam", person[1], date, target)
        body = _wrap(text.format_map(ctx)) + "\n\n" + _wrap(
            "If you no longer wish to receive these emails, reply with UNSUBSCRIBE in the subject line.") + "\n"
        message_id = f"<{r.getrandbits(80):020x}.{self.index}@{domain}>"
        style = "spam" if r.random() < 0.6 else None
        attach = ("pdf", "application/pdf", f"INV-{r.randint(1000, 9999)}.pdf") if "nvoice" in subject or "ayment" in \
            subject else None
        if attach and r.random() < 0.5:
            attach = None
        budget = target - len(headers) - 900
        att_raw = max(700, int(budget * 0.6 / 1.37)) if attach else 0
        paras = body.split("\n\n")
        room = (target - len(headers) - 1200 - att_raw * 1.37) / (2.6 if style else 1.0)
        while sum(map(len, paras)) < room:
            if r.random() < 0.5:
                paras.insert(-1, _wrap(" ".join(r.sample(_WORDS, 40))))  # text to fool Bayes filters
            else:
                paras.insert(-1, f"{r.choice(PRODUCTS).title()} - now only {ctx['amount']} (was {ctx['amount2']})")
        if style == "spam" and r.random() < 0.5:  # HTML only
            style = "spam-only"
        return self._assemble(r, headers, person, subject.format_map(ctx), date, message_id, body, paras, style, attach,
                              att_raw, None, None), message_id

    # -- assembly ---------------------------------------------------------------------

    def _assemble(self, r: random.Random, headers: str, person: tuple, subject: str, date: datetime, message_id: str,
                  body: str, paras: list[str], html_style: str | None, attach, att_raw: int,
                  in_reply_to: str | None, references: list[str] | None) -> str:
        local_date = date.astimezone(TZ.get(person[2], timezone.utc))
        head = [headers.rstrip("\n")]
        if references:
            head.append(f"In-Reply-To: {in_reply_to}")
            head.append("References: " + "\n ".join(references))
        head.append(f"From: {address(person[0], person[1], r)}")
        head.append(f"To: {r.choice([SUPPORT, f'{SHOP} Support <{SUPPORT}>', f'{SUPPORT_NAME} <{SUPPORT}>'])}")
        if r.random() < 0.04:
            other = self._person()
            head.append(f"Cc: {address(other[0], other[1], r)}")
        head.append(f"Subject: {encode_word(subject, r)}")
        head.append(f"Date: {fmt_date(local_date)}")
        head.append(f"Message-ID: {message_id}")
        head.append("MIME-Version: 1.0")
        if person[5] in ("m365", "outlook"):
            head.append(f"Thread-Topic: {encode_word(subject.removeprefix('RE: ').removeprefix('Re: '), r)}")
            head.append(f"Thread-Index: {base64.b64encode(r.randbytes(22 + 5 * len(references or ()))).decode()}")
            head.append("Accept-Language: en-GB, en-US\nContent-Language: en-GB")
            head.append(f"X-MS-Has-Attach: {'yes' if attach else ''}\nX-MS-TNEF-Correlator:")
        mailer = _MAILERS.get(person[5])
        if mailer:
            head.append(f"X-Mailer: {r.choice(mailer)}")
        charset, cte = _body_encoding(body, person[5], r)
        if html_style and html_style.endswith("-only"):
            inner = _part(r, _html_body(html_style, paras, r), "html", cte, charset)
        elif html_style:
            boundary = _boundary(r, person[5], "alt")
            inner = (f"Content-Type: multipart/alternative;\n\tboundary=\"{boundary}\"\n\n--{boundary}\n"
                     + _part(r, body, "plain", cte, charset)
                     + f"\n--{boundary}\n" + _part(r, _html_body(html_style, paras, r), "html", cte, charset)
                     + f"\n--{boundary}--\n")
            if html_style == "outlook" and r.random() < 0.25:  # a logo in the signature
                related = _boundary(r, person[5], "rel")
                logo = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + r.randbytes(r.randint(1500, 4000))).decode()
                inner = (f"Content-Type: multipart/related;\n\tboundary=\"{related}\";\n\ttype=\"multipart/alternative\"\n\n"
                         f"--{related}\n{inner}\n--{related}\nContent-Type: image/png; name=\"image001.png\"\n"
                         f"Content-Description: image001.png\nContent-Disposition: inline; filename=\"image001.png\"\n"
                         f"Content-ID: <image001.png@01DA{r.getrandbits(32):08X}.{r.getrandbits(32):08X}>\n"
                         f"Content-Transfer-Encoding: base64\n\n{logo}\n--{related}--\n")
        else:
            inner = _part(r, body, "plain", cte, charset, flowed=person[5] in ("apple", "gmx") and r.random() < 0.5)
        if attach:
            boundary = _boundary(r, person[5], "mix")
            inner = (f"Content-Type: multipart/mixed;\n\tboundary=\"{boundary}\"\n\n"
                     + ("This is a multi-part message in MIME format.\n" if r.random() < 0.5 else "")
                     + f"--{boundary}\n{inner}\n--{boundary}\n{_attachment(r, attach, att_raw)}\n--{boundary}--\n")
        return "\n".join(head) + "\n" + inner


# -- parts --------------------------------------------------------------------------------

_MAILERS = {"own": ["Microsoft Outlook 16.0", "Mozilla Thunderbird 128.5.1", "Roundcube Webmail/1.6.9", "Evolution 3.52"],
            "yahoo": ["WebService/1.1.23187 YMailNorrin"], "gmx": ["GMX Mailer 2.0"],
            "apple": ["iPhone Mail (22B91)", "Apple Mail (2.3826.300.87.4.3)"]}


def _ascii(name: str) -> str:
    """A name as it appears in a mail address: accents dropped, lower case."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def _typos(text: str, r: random.Random) -> str:
    chars = list(text)
    for _ in range(max(1, len(chars) // 120)):
        i = r.randrange(1, max(2, len(chars) - 1))
        if chars[i].isalpha() and chars[i - 1].isalpha():
            chars[i], chars[i - 1] = chars[i - 1], chars[i]
    return "".join(chars).replace("don't", "dont").replace("i'm", "im")


_ALL_FACTS = [f for t in TOPICS.values() for f in t[2]]
_WORDS = sorted({w.strip(".,'?!()").lower() for t in ARTICLE_TEXT + [x[1] for x in SPAM] for w in t.split()} - {""})


def _quote(text: str) -> str:
    return "\n".join(("> " + line) if line and not line.startswith(">") else (">" + line) for line in text.split("\n"))


def _attribution(lang: str, d: datetime, who: str, r: random.Random) -> str:
    if lang in LANG:
        wd = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"][d.weekday()] if lang == "es" else \
            ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"][d.weekday()]
        mon = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"][d.month - 1] \
            if lang == "es" else ["janv", "févr", "mars", "avr", "mai", "juin", "juil", "août", "sept", "oct", "nov", "déc"][d.month - 1]
        return LANG[lang]["attribution"].format(d=d, who=who, wd=wd, mon=mon)
    if r.random() < 0.5:
        return f"On {WEEKDAYS[d.weekday()]}, {d.day} {MON[d.month - 1]} {d.year} at {d:%H:%M}, {who} wrote:"
    return f"On {d.day} {MON[d.month - 1]} {d.year}, at {d:%H:%M}, {who} wrote:"


def _quote_style(route: str, lang: str, r: random.Random) -> str:
    if route in ("m365", "outlook") and r.random() < 0.8:
        return "outlook"
    return "prefix"


def _html_style(route: str, r: random.Random) -> str | None:
    """Which HTML alternative a customer's client adds (None: plain text only)."""
    chance = {"gmail": 0.42, "outlook": 0.55, "m365": 0.7, "apple": 0.35, "yahoo": 0.4, "gmx": 0.15, "own": 0.15}[route]
    chance *= 0.62
    if r.random() >= chance:
        return None
    return {"gmail": "gmail", "outlook": "outlook", "m365": "outlook", "apple": "apple"}.get(route, "webmail")


def _html_factor(style: str | None) -> float:
    return {"outlook": 2.4, "gmail": 1.5, "apple": 1.6, "webmail": 1.4}.get(style or "", 1.5)


_OUTLOOK_CSS = """<!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}
@font-face
	{font-family:Aptos;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:11.0pt;
	font-family:"Aptos",sans-serif;
	mso-ligatures:standardcontextual;
	mso-fareast-language:EN-US;}
a:link, span.MsoHyperlink
	{mso-style-priority:99;
	color:#467886;
	text-decoration:underline;}
span.EmailStyle17
	{mso-style-type:personal-compose;
	font-family:"Aptos",sans-serif;
	color:windowtext;}
.MsoChpDefault
	{mso-style-type:export-only;
	font-size:11.0pt;
	mso-fareast-language:EN-US;}
@page WordSection1
	{size:612.0pt 792.0pt;
	margin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1
	{page:WordSection1;}
-->"""


def _html_body(style: str, paras: list[str], r: random.Random) -> str:
    if style == "outlook":
        out = ['<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
               'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
               'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n<meta http-equiv="Content-Type" content="text/html; '
               'charset=utf-8">\n<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n<style>',
               _OUTLOOK_CSS, '</style><!--[if gte mso 9]><xml>\n<o:shapedefaults v:ext="edit" spidmax="1026" />\n'
               '</xml><![endif]-->\n</head>\n<body lang="EN-GB" link="#467886" vlink="#96607D" style="word-wrap:break-word">\n'
               '<div class="WordSection1">\n']
        for p in paras:
            if p.startswith("\n____") or p.startswith("____"):
                out.append('<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n')
            for line in p.split("\n"):
                out.append(f'<p class="MsoNormal">{_html(line) or "<o:p>&nbsp;</o:p>"}<o:p></o:p></p>\n')
            out.append('<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n')
        out.append("</div>\n</body>\n</html>\n")
        return "".join(out)
    if style == "gmail":
        out = ['<div dir="ltr">']
        for p in paras:
            if p.startswith(("On ", "Am ", "El ", "Le ")) and "\n>" in p:
                attribution, _, rest = p.partition("\n")
                quoted = "<br>\n".join(_html(line.lstrip("> ")) for line in rest.split("\n"))
                out.append(f'</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">{_html(attribution)}<br>'
                           f'</div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
                           f'rgb(204,204,204);padding-left:1ex">{quoted}</blockquote></div>')
                return "".join(out) + "\n"
            out.append("".join(f"<div>{_html(line) or '<br>'}</div>" for line in p.split("\n")) + "<div><br></div>")
        out.append("</div>\n")
        return "".join(out)
    if style == "apple":
        out = ['<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head><body style="'
               'overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;"><div dir="ltr">']
        out.extend(f"<div>{'<br>'.join(_html(line) for line in p.split(chr(10)))}</div><div><br></div>" for p in paras)
        out.append("</div></body></html>\n")
        return "".join(out)
    if style in ("spam", "spam-only"):
        out = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head><body style="margin:0;padding:0;'
               'background:#f4f4f4"><table width="100%" cellpadding="0" cellspacing="0" border="0"><tr><td align="center">'
               '<table width="600" style="background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:15px">']
        out.extend(f'<tr><td style="padding:12px 24px">{_html(p)}</td></tr>' for p in paras)
        out.append(f'<tr><td style="padding:24px"><a href="http://click.example/{r.getrandbits(48):012x}" style="background:'
                   '#e63946;color:#fff;padding:14px 28px;text-decoration:none;border-radius:4px">CLAIM NOW</a></td></tr>'
                   f'<tr><td><img src="http://track.example/o.gif?id={r.getrandbits(48):012x}" width="1" height="1"></td>'
                   '</tr></table></td></tr></table></body></html>\n')
        return "".join(out)
    if style == "notice":
        out = ['<!doctype html><html><head><meta name="viewport" content="width=device-width"><style>body{font-family:'
               '-apple-system,Segoe UI,Roboto,sans-serif;color:#1a1a1a}.card{max-width:560px;margin:0 auto;padding:24px;'
               'border:1px solid #e5e5e5;border-radius:8px}.muted{color:#6b6b6b;font-size:12px}</style></head><body>'
               '<div class="card">']
        out.extend(f"<p>{_html(p)}</p>" for p in paras[:-1])
        out.append(f'<p class="muted">{_html(paras[-1])}</p></div></body></html>\n')
        return "".join(out)
    out = ['<html><body><div style="font-family: Verdana, Arial, sans-serif; font-size: 10pt">']  # webmail
    out.extend(f"<p>{'<br />'.join(_html(line) for line in p.split(chr(10)))}</p>" for p in paras)
    out.append("</div></body></html>\n")
    return "".join(out)


def _newsletter_html(r: random.Random, list_name: str, domain: str, campaign: str, articles) -> str:
    out = ['<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/'
           'xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" '
           'content="text/html; charset=UTF-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">'
           f'<title>{_html(list_name)}</title><style type="text/css">body{{margin:0;padding:0}}table,td{{border-collapse:'
           'collapse;mso-table-lspace:0pt;mso-table-rspace:0pt}img{border:0;height:auto;line-height:100%;outline:none}'
           '@media only screen and (max-width:480px){.col{width:100%!important}}</style></head>\n<body style="margin:0;'
           'padding:0;background-color:#eef1f4"><center><table role="presentation" width="100%" border="0" '
           'cellpadding="0" cellspacing="0" bgcolor="#eef1f4"><tr><td align="center" style="padding:20px 0">\n'
           '<table role="presentation" width="600" class="col" border="0" cellpadding="0" cellspacing="0" '
           'style="background:#ffffff">\n'
           f'<tr><td style="padding:20px;font-family:Helvetica,Arial,sans-serif;font-size:22px;font-weight:bold;color:'
           f'#0b3954">{_html(list_name)}</td></tr>\n']
    for title, text in articles:
        link = f"https://{domain}/r/{campaign}/{r.getrandbits(40):010x}?utm_source=newsletter&amp;utm_medium=email"
        out.append(f'<tr><td style="padding:10px 20px;font-family:Helvetica,Arial,sans-serif"><h2 style="margin:0 0 8px;'
                   f'font-size:18px;color:#087e8b">{_html(title)}</h2><p style="margin:0 0 12px;font-size:14px;'
                   f'line-height:21px;color:#333333">{_html(text)}</p><a href="{link}" style="color:#ff5a5f;'
                   'font-weight:bold;text-decoration:none">Read more &rarr;</a></td></tr>\n')
    out.append(f'<tr><td style="padding:20px;font-family:Helvetica,Arial,sans-serif;font-size:11px;color:#999999">'
               f'You are receiving this email because {SUPPORT} subscribed.<br><a href="https://{domain}/unsubscribe?'
               f'id={campaign}" style="color:#999999">Unsubscribe</a> | <a href="https://{domain}/preferences" '
               'style="color:#999999">Preferences</a></td></tr>\n</table></td></tr></table></center>'
               f'<img src="https://{domain}/o/{campaign}/{r.getrandbits(48):012x}.gif" width="1" height="1" alt=""></body></html>\n')
    return "".join(out)


def _body_encoding(body: str, route: str, r: random.Random) -> tuple[str, str]:
    """(charset, Content-Transfer-Encoding) of a text part, as the sender's client picks them."""
    if body.isascii():
        if route in ("m365", "outlook"):
            return "us-ascii" if r.random() < 0.5 else "utf-8", "quoted-printable"
        return ("us-ascii" if r.random() < 0.3 else "utf-8"), r.choices(["7bit", "quoted-printable", "base64"], [70, 20, 10])[0]
    if route in ("m365", "outlook", "own") and r.random() < 0.4:
        try:
            body.encode("cp1252")
            return "windows-1252", "quoted-printable"
        except UnicodeEncodeError:
            pass
    if route == "gmx" and r.random() < 0.5:
        try:
            body.encode("iso-8859-1")
            return "iso-8859-1", "quoted-printable"
        except UnicodeEncodeError:
            pass
    return "utf-8", r.choices(["8bit", "quoted-printable", "base64"], [45, 40, 15])[0]


def _part(r: random.Random, text: str, subtype: str, cte: str, charset: str = "utf-8", flowed: bool = False) -> str:
    data = text.encode(charset, "replace")
    if cte in ("7bit", "8bit") and not data.isascii():
        cte = "8bit" if charset == "utf-8" else "quoted-printable"
    if cte == "7bit" and data.isascii() and max(map(len, text.split("\n"))) > 900:
        cte = "quoted-printable"
    if cte == "quoted-printable":
        payload = binascii.b2a_qp(data, istext=True).decode("ascii")
    elif cte == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    else:
        payload = text if charset == "utf-8" else data.decode(charset)
    quote = '"' if r.random() < 0.5 else ""
    fmt = "; format=flowed" if flowed else ""
    return f"Content-Type: text/{subtype}; charset={quote}{charset}{quote}{fmt}\nContent-Transfer-Encoding: {cte}\n\n{payload}"


_ATTACHMENTS = [("pdf", "application/pdf", "{name}.pdf", 30), ("png", "image/png", "{name}.png", 25),
                ("jpg", "image/jpeg", "IMG_{n}.jpg", 15), ("csv", "text/csv", "{name}.csv", 15),
                ("log", "text/plain", "{name}.log", 15)]
_ATT_NAMES = {"pdf": ["invoice", "receipt", "bank_statement", "returns_form", "Order confirmation"],
              "png": ["screenshot", "Screenshot 2026-11-0{d} at 10.4{d}.12", "photo"],
              "csv": ["transactions", "orders_export", "statement"], "log": ["app", "error", "console"]}


def _pick_attachment(r: random.Random, chance: float):
    if r.random() >= chance:
        return None
    kind, ctype, pattern, _ = r.choices(_ATTACHMENTS, [a[3] for a in _ATTACHMENTS])[0]
    name = pattern.format(name=r.choice(_ATT_NAMES.get(kind, ["file"])).format(d=r.randint(1, 9)), n=r.randint(1000, 9999))
    return kind, ctype, name


def _attachment(r: random.Random, attach, size: int) -> str:
    kind, ctype, name = attach
    if kind == "pdf":
        data = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n4 0 obj\n<</Filter/FlateDecode"
                b"/Length " + str(size).encode() + b">>\nstream\n" + r.randbytes(max(200, size - 160)) + b"\nendstream\nendobj\n%%EOF\n")
    elif kind in ("png", "jpg"):
        data = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" if kind == "png" else b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") + r.randbytes(size)
    elif kind == "csv":
        rows = ["Date,Description,Amount,Balance"]
        total = 0
        while total < size:
            row = (f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/2026,{r.choice(['CARD PAYMENT BRIGHTWATER', 'DIRECT DEBIT', 'REFUND BRIGHTWATER', 'TFL TRAVEL', 'TESCO STORES'])},"
                   f"{r.randint(-300, 300)}.{r.randint(0, 99):02d},{r.randint(0, 5000)}.{r.randint(0, 99):02d}")
            rows.append(row)
            total += len(row) + 1
        data = "\n".join(rows).encode()
    else:
        lines = []
        total = 0
        while total < size:
            line = (f"2026-11-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z "
                    f"{r.choice(['INFO', 'WARN', 'ERROR', 'DEBUG'])} [{r.choice(['checkout', 'auth', 'sync', 'http'])}] "
                    f"{r.choice(['request failed: 502 Bad Gateway', 'token refresh ok', 'retrying in 30s', 'session expired', 'payment declined: do_not_honor'])} "
                    f"id={r.getrandbits(32):08x}")
            lines.append(line)
            total += len(line) + 1
        data = "\n".join(lines).encode()
    payload = base64.encodebytes(data).decode("ascii")
    encoded_name = name if name.isascii() else encode_word(name, r)
    return (f"Content-Type: {ctype}; name=\"{encoded_name}\"\nContent-Description: {encoded_name}\n"
            f"Content-Disposition: attachment; filename=\"{encoded_name}\"; size={len(data)}\n"
            f"Content-Transfer-Encoding: base64\n\n{payload}")


def _boundary(r: random.Random, route: str, what: str) -> str:
    bits = r.getrandbits(64)
    if route == "gmail":
        return f"000000000000{bits:012x}"[:28]
    if route in ("m365", "outlook"):
        return f"_00{r.randint(0, 9)}_{bits:016X}_"
    if route == "apple":
        return f"Apple-Mail={bits:08X}-{r.getrandbits(16):04X}-{r.getrandbits(16):04X}"
    return f"----=_Part_{r.randint(10000, 999999)}_{bits}.{what}"


def _message_id(r: random.Random, route: str, addr: str, date: datetime, index: int) -> str:
    if route == "gmail":
        return f"<CA{base64.b64encode(r.randbytes(30)).decode().replace('/', '_')}{index:x}@mail.gmail.com>"
    if route in ("m365", "outlook"):
        host = f"{r.choice(['AM', 'DB', 'PA', 'LO', 'DU', 'GV'])}{r.randint(0, 9)}PR{r.randint(10, 99)}MB{r.randint(1000, 9999)}"
        return f"<{host}{r.getrandbits(96):024X}{index:X}@{host}.eurprd0{r.randint(1, 9)}.prod.outlook.com>"
    if route == "apple":
        u = r.getrandbits(128)
        return f"<{u >> 96:08X}-{(u >> 80) & 0xFFFF:04X}-{(u >> 64) & 0xFFFF:04X}-{(u >> 48) & 0xFFFF:04X}-{u & 0xFFFFFFFFFFFF:012X}-{index}@icloud.com>"
    if route == "yahoo":
        return f"<{r.randint(10**8, 10**9)}.{r.randint(10**6, 10**7)}.{int(date.timestamp() * 1000)}.{index}@mail.yahoo.com>"
    domain = addr.split("@")[1]
    return f"<{r.getrandbits(64):016x}.{index}@{domain}>"


def _ip(r: random.Random) -> str:
    return f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"


def _b64(r: random.Random, n: int) -> str:
    return base64.b64encode(r.randbytes(n)).decode("ascii")


def _dkim(r: random.Random, domain: str, selector: str, heads: str, date: datetime, key_bytes: int = 256,
          name: str = "DKIM-Signature") -> str:
    ts = int(date.timestamp())
    return (f"{name}: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain};\n\ts={selector}; t={ts}; x={ts + 604800}; "
            f"darn={SHOP_DOMAIN};\n\th={heads};\n\tbh={_b64(r, 32)};\n\tb=" + _blob_lines(_b64(r, key_bytes), 60, 72))


def _our_side(r: random.Random, envelope: str, date: datetime, sender_host: str, ip: str, dkim_domain: str | None,
              spam: bool) -> list[str]:
    """What our own MX and delivery add on top (newest first)."""
    arrive = date + timedelta(seconds=r.randint(1, 40))
    qid = f"{r.getrandbits(44):011X}"
    score = r.uniform(6.5, 14) if spam else r.uniform(-4, 2.5)
    dk = (f"dkim=pass (2048-bit key; unprotected) header.d={dkim_domain} header.i=@{dkim_domain} header.a=rsa-sha256 "
          f"header.s={r.choice(['20230601', 'selector1', 's1', 'k1', 'sig1'])} header.b={_b64(r, 6)[:8]}") if dkim_domain \
        else "dkim=none (message not signed)"
    spf = "spf=pass" if not spam else r.choice(["spf=softfail", "spf=fail", "spf=neutral"])
    symbols = ["ARC_NA(0.00)[]", "MIME_GOOD(-0.10)[multipart/alternative,text/plain]", "RCVD_TLS_LAST(0.00)[]",
               "FROM_HAS_DN(0.00)[]", "TO_DN_SOME(0.00)[]", "RCPT_COUNT_ONE(0.00)[1]", "MID_RHS_MATCH_FROM(0.00)[]",
               "DKIM_TRACE(0.00)[+]", "R_SPF_ALLOW(-0.20)[+ip4]", "DMARC_POLICY_ALLOW(-0.50)[]", "ASN(0.00)[asn:15169, ipnet:209.85.128.0/17, country:US]",
               "NEURAL_HAM(-0.00)[-0.998]", "BAYES_HAM(-2.99)[99.99%]", "FREEMAIL_FROM(0.00)[gmail.com]",
               "RCVD_COUNT_TWO(0.00)[2]", "TO_MATCH_ENVRCPT_ALL(0.00)[]", "FROM_EQ_ENVFROM(0.00)[]"]
    if spam:
        symbols += ["BAYES_SPAM(5.10)[100.00%]", "R_DKIM_NA(0.00)[]", "HFILTER_HOSTNAME_UNKNOWN(2.50)[]", "PHISHING(3.00)[]"]
    chosen = r.sample(symbols, r.randint(8, len(symbols)))
    lines = [
        f"Return-Path: <{envelope}>",
        f"Delivered-To: {SUPPORT}",
        f"Received: from mx1.{SHOP_DOMAIN} ([10.20.0.11])\n\tby imap1.{SHOP_DOMAIN} with LMTP\n\tid {_b64(r, 12)}\n\t"
        f"(envelope-from <{envelope}>)\n\tfor <{SUPPORT}>; {fmt_date(arrive)}",
        f"Received: from {sender_host} ({sender_host} [{ip}])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
        f"(256/256 bits)\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n\t"
        f"(No client certificate requested)\n\tby mx1.{SHOP_DOMAIN} (Postfix) with ESMTPS id {qid}\n\tfor <{SUPPORT}>; "
        f"{fmt_date(arrive)}",
        f"Authentication-Results: mx1.{SHOP_DOMAIN};\n\t{dk};\n\t{spf} (mx1.{SHOP_DOMAIN}: domain of {envelope} "
        f"designates {ip} as permitted sender) smtp.mailfrom={envelope};\n\tdmarc={'fail' if spam else 'pass'} "
        f"(p={r.choice(['NONE', 'QUARANTINE', 'REJECT'])} sp=NONE dis=NONE) header.from={envelope.split('@')[-1]}",
        _fold("X-Spamd-Result", f"default: {'True' if spam else 'False'} [{score:.2f} / 15.00]; " + "; ".join(chosen)),
        f"X-Rspamd-Queue-Id: {qid}",
        f"X-Rspamd-Server: mx1.{SHOP_DOMAIN}",
        f"X-Spam-Status: {'Yes' if spam else 'No'}, score={score:.2f}",
    ]
    if spam:
        lines += ["X-Spam-Flag: YES", f"X-Spam-Level: {'*' * int(score)}"]
    return lines


def _route_headers(r: random.Random, route: str, addr: str, date: datetime, target: int) -> str:
    """The trace and authentication headers of mail sent along ``route``, newest first,
    as our MX delivers it. Big sender-side blocks are left out of small messages."""
    domain = addr.split("@")[-1]
    ip = _ip(r)
    roomy = target > 5000
    if route == "gmail":
        host = f"mail-{r.choice(['ej1', 'wm1', 'lf1', 'ed1', 'wr1'])}-f{r.randint(40, 200)}.google.com"
        lines = _our_side(r, addr, date, host, ip, domain, False)
        lines.append(_dkim(r, "gmail.com", "20230601", "to:subject:message-id:date:from:in-reply-to:references\n\t "
                                                        ":mime-version:from:to:cc:subject:date:message-id:reply-to", date))
        if roomy:
            lines.append(_dkim(r, "1e100.net", "20230601", "x-gm-message-state:to:subject:message-id:date:from\n\t "
                                                             ":mime-version:x-gm-gg:x-google-dkim-signature", date,
                               name="X-Google-DKIM-Signature"))
            lines.append("X-Gm-Message-State: " + _blob_lines(_b64(r, r.randint(60, 90)), 50, 72))
            lines.append("X-Gm-Gg: " + _blob_lines(_b64(r, r.randint(200, 500)), 50, 72))
        lines.append("X-Google-Smtp-Source: " + _b64(r, 54))
        lines.append(f"X-Received: by 2002:a05:{r.getrandbits(16):x}:{r.getrandbits(16):x}:b0:{r.getrandbits(12):x} with SMTP id "
                     f"{r.getrandbits(32):x}-{r.getrandbits(24):x}.{r.randint(1, 9)}.{int(date.timestamp())}{r.randint(100, 999)};\n"
                     f"        {fmt_date(date)}")
    elif route in ("m365", "outlook"):
        tenant = "outlook.com" if route == "outlook" else domain
        host = f"{r.choice(['EUR05', 'EUR02', 'EUR03', 'NAM10', 'GBR01'])}-{r.choice(['VI1', 'DB8', 'AM0', 'CWL'])}-obe.outbound.protection.outlook.com"
        lines = _our_side(r, addr, date, host, ip, tenant, False)
        arc_b = _b64(r, 256)
        lines.append("ARC-Seal: i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none;\n b=" + _blob_lines(arc_b, 60, 72, " "))
        lines.append("ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;\n s=arcselector10001;\n"
                     " h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-AntiSpam-MessageData-ChunkCount:"
                     "X-MS-Exchange-AntiSpam-MessageData-0:X-MS-Exchange-AntiSpam-MessageData-1;\n bh=" + _b64(r, 32) +
                     ";\n b=" + _blob_lines(_b64(r, 256), 60, 72, " "))
        lines.append(f"ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass\n smtp.mailfrom={tenant}; dmarc=pass "
                     f"action=none header.from={tenant};\n dkim=pass header.d={tenant}; arc=none")
        lines.append(_dkim(r, tenant, "selector1", "From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck",
                           date))
        for hop in range(r.randint(2, 4) if roomy else 1):
            lines.append(f"Received: from {r.choice(['AM9PR', 'DB9PR', 'PAXPR', 'GV1PR', 'LO2P'])}{r.randint(10, 99)}MB{r.randint(1000, 9999)}"
                         f".eurprd0{r.randint(1, 9)}.prod.outlook.com\n (2603:10a6:{r.getrandbits(16):x}:{r.getrandbits(8):x}::{r.getrandbits(8):x}) "
                         f"by {r.choice(['AS8PR', 'VI1PR', 'DU0PR'])}{r.randint(10, 99)}MB{r.randint(1000, 9999)}.eurprd0{r.randint(1, 9)}.prod.outlook.com\n"
                         f" (2603:10a6:{r.getrandbits(16):x}::{r.getrandbits(8):x}) with Microsoft SMTP Server (version=TLS1_2,\n"
                         f" cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.{r.randint(8000, 8999)}.{r.randint(10, 40)}; "
                         f"{fmt_date(date)}")
        lines.append("Authentication-Results: dkim=none (message not signed)\n header.d=none;dmarc=none action=none header.from="
                     f"{tenant};")
        if roomy:
            lines.append(f"x-ms-publictraffictype: Email\nx-ms-traffictypediagnostic: {r.choice(['AM9PR', 'DB9PR'])}{r.randint(10, 99)}MB"
                         f"{r.randint(1000, 9999)}:EE_|{r.choice(['AS8PR', 'VI1PR'])}{r.randint(10, 99)}MB{r.randint(1000, 9999)}:EE_")
            lines.append(f"x-ms-office365-filtering-correlation-id: {r.getrandbits(32):08x}-{r.getrandbits(16):04x}-"
                         f"{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(48):012x}")
            lines.append("x-microsoft-antispam: BCL:0;ARA:13230040|1800799024|366016|376014|38070700018;")
            lines.append("x-microsoft-antispam-message-info:\n " + _blob_lines(_b64(r, r.randint(700, 1800)), 60, 72, " "))
            lines.append(_fold("x-forefront-antispam-report", "CIP:255.255.255.255;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;"
                               f"H:{r.choice(['AM9PR', 'DB9PR'])}{r.randint(10, 99)}MB{r.randint(1000, 9999)}.eurprd0{r.randint(1, 9)}.prod.outlook.com;"
                               "PTR:;CAT:NONE;SFS:(13230040)(1800799024)(366016)(376014)(38070700018);DIR:OUT;SFP:1102;", ";"))
            lines.append("x-ms-exchange-antispam-messagedata-chunkcount: 1")
            lines.append("x-ms-exchange-antispam-messagedata-0:\n " + _blob_lines(_b64(r, r.randint(900, 2200)), 60, 72, " "))
        lines.append(f"X-OriginatorOrg: {tenant}")
        for name in ("AuthAs: Internal", "AuthSource: " + f"AM9PR{r.randint(10, 99)}MB{r.randint(1000, 9999)}.eurprd0{r.randint(1, 9)}.prod.outlook.com",
                     f"Network-Message-Id: {r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(48):012x}",
                     f"originalarrivaltime: {fmt_date(date)}", "fromentityheader: Hosted",
                     f"id: {r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(48):012x}",
                     "mailboxtype: HOSTED", f"userprincipalname: {_b64(r, 45)}"):
            lines.append("X-MS-Exchange-CrossTenant-" + name)
        lines.append(f"X-MS-Exchange-Transport-CrossTenantHeadersStamped: {r.choice(['AS8PR', 'VI1PR'])}{r.randint(10, 99)}MB{r.randint(1000, 9999)}")
    elif route == "apple":
        host = f"st43p00im-{r.choice(['zteg', 'ztdg', 'ztfb'])}{r.getrandbits(32):08x}.me.com"
        lines = _our_side(r, addr, date, host, ip, "icloud.com", False)
        lines.append(_dkim(r, "icloud.com", "1a1hai", "Content-Type:Mime-Version:Subject:Message-Id:Date:To:From", date))
        lines.append(f"Received: from smtpclient.apple (st43p00im-{r.getrandbits(24):06x}.me.com [17.58.{r.randint(1, 99)}.{r.randint(1, 250)}])\n"
                     f"\tby {host} (Postfix) with ESMTPSA id {r.getrandbits(40):010X}\n\tfor <{SUPPORT}>; {fmt_date(date)}")
        lines.append(f"X-Proofpoint-ORIG-GUID: {_b64(r, 24)}\nX-Proofpoint-GUID: {_b64(r, 24)}")
        lines.append("X-Proofpoint-Virus-Version: vendor=baseguard\n engine=ICAP:2.0.293,Aquarius:18.0.1039,Hydra:6.0.680,"
                     "FMLib:17.12.62.30\n definitions=2026-11-06_08,2026-11-06_01,2025-06-06_01 signatures=0")
        lines.append("X-Proofpoint-Spam-Details: rule=notspam policy=default score=0 phishscore=0 mlxscore=0 bulkscore=0\n"
                     " spamscore=0 malwarescore=0 clxscore=1030 suspectscore=0 mlxlogscore=999 adultscore=0\n"
                     " classifier=spam adjust=0 reason=mlx scancount=1 engine=8.19.0-2308100000 definitions=main-2611060089")
    elif route == "yahoo":
        host = f"sonic{r.randint(300, 330)}-{r.randint(1, 60)}.consmr.mail.{r.choice(['ir2', 'bf2', 'ne1'])}.yahoo.com"
        lines = _our_side(r, addr, date, host, ip, domain if domain.startswith("yahoo") else "aol.com", False)
        lines.append(_dkim(r, domain, "s2048", "Date:From:To:Subject:References:From:Subject:Reply-To", date))
        if roomy:
            lines.append("X-YMail-OSG: " + _blob_lines(_b64(r, r.randint(500, 1200)), 50, 72, " "))
        lines.append(f"X-Sonic-MF: <{addr}>\nX-Sonic-ID: {r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}")
        lines.append(f"Received: from sonic.gate.mail.ne1.yahoo.com by sonic{r.randint(300, 330)}.consmr.mail.ir2.yahoo.com with HTTP; "
                     f"{fmt_date(date)}")
    elif route == "gmx":
        host = f"mout.{domain.split('.')[0]}.net"
        lines = _our_side(r, addr, date, host, ip, domain, False)
        lines.append(_dkim(r, domain, "s1-ionos" if domain == "gmx.de" else "dbaedf251592",
                           "x-ui-sender-class:mime-version:message-id:from:to:subject:date:content-type", date))
        lines.append(f"X-UI-Sender-Class: {r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-{r.getrandbits(48):012x}")
        lines.append(f"Received: from [{_ip(r)}] ([{_ip(r)}]) by {host} (mrgmx{r.randint(100, 110)})\n with ESMTPSA "
                     f"(Nemesis) id 1M{_b64(r, 12)}; {fmt_date(date)}")
        lines.append("X-Provags-ID: V03:K1:" + _blob_lines(_b64(r, 120), 50, 72, " "))
        if roomy:
            lines.append("UI-OutboundReport: notjunk:1;M01:P0:" + _blob_lines(_b64(r, r.randint(400, 900)), 40, 72, " "))
    elif route == "bulk":
        host = f"{r.choice(['mail', 'o1', 'out'])}{r.randint(1, 999)}.{r.choice(['sendgrid.net', 'mcsv.net', 'amazonses.com', 'mailgun.net'])}"
        lines = _our_side(r, f"bounce-{r.getrandbits(40):x}@{domain}", date, host, ip, domain, False)
        lines.append(_dkim(r, domain, "s1", "from:mime-version:subject:list-unsubscribe:list-unsubscribe-post:list-id:"
                                             "feedback-id:to:date:content-type", date))
        lines.append(_dkim(r, host.split(".", 1)[1], "s1", "from:to:subject:date:feedback-id", date))
        lines.append(f"Received: by filter{r.randint(1000, 9999)}p1las1.sendgrid.net with SMTP id {_b64(r, 16)}\n"
                     f"        {fmt_date(date)}")
        lines.append(f"X-SG-EID: {_blob_lines(_b64(r, r.randint(120, 400)), 50, 72, ' ')}")
    elif route == "spam":
        host = f"{r.choice(['unknown', 'mail', 'smtp'])}.{r.choice(['vps', 'cloud', 'host'])}{r.randint(1, 999)}.example"
        lines = _our_side(r, addr, date, host, ip, None, True)
        for _ in range(r.randint(1, 3)):
            lines.append(f"Received: from {r.choice(['User', 'WIN-' + _b64(r, 6).upper()])} ([{_ip(r)}]) by {host} with ESMTPA; "
                         f"{fmt_date(date)}")
        lines.append(f"X-Originating-IP: [{_ip(r)}]")
        lines.append(f"X-Priority: {r.choice(['1 (Highest)', '3'])}")
    else:  # own: a small company's server, or a smaller ISP
        host = f"mail.{domain}"
        lines = _our_side(r, addr, date, host, ip, domain if r.random() < 0.7 else None, False)
        if r.random() < 0.7:
            lines.append(_dkim(r, domain, r.choice(["default", "mail", "dkim"]), "From:To:Subject:Date:Message-ID", date,
                               key_bytes=r.choice([128, 256])))
        lines.append(f"Received: from [192.168.{r.randint(0, 9)}.{r.randint(2, 250)}] (unknown [{_ip(r)}])\n\t"
                     f"(Authenticated sender: {addr})\n\tby {host} (Postfix) with ESMTPSA id {r.getrandbits(40):010X}\n\t"
                     f"for <{SUPPORT}>; {fmt_date(date)}")
        if roomy and r.random() < 0.5:
            lines.append(f"X-Virus-Scanned: Debian amavisd-new at {domain}")
            lines.append(f"X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-26) on {host}")
    return "\n".join(lines) + "\n"


def _trim(raw: str, limit: int) -> str:
    """A message over ``limit``: cut its longest base64 run (attachments) or text (rare)."""
    excess = len(raw.encode("utf-8")) - limit
    if excess <= 0:
        return raw
    marker = "Content-Transfer-Encoding: base64\n\n"
    at = raw.rfind(marker)
    if at != -1:
        start = at + len(marker)
        end = raw.find("\n--", start)
        if end != -1 and end - start > excess + 200:
            keep = (end - start - excess - 80) // 77 * 77
            return raw[:start + keep] + raw[end:]
    return raw  # a little over the limit: left as it is


# -- the command line ---------------------------------------------------------------------


def describe(mails: list[Mail]) -> dict:
    """Size and structure statistics of ``mails`` (what the docstring promises)."""
    import email
    from email import policy

    sizes = sorted(len(m.raw) for m in mails)
    n = len(mails)
    kinds = Counter(m.kind for m in mails)
    alternative = attachments = related = encoded_headers = html_only = 0
    ctes: Counter = Counter()
    header_bytes = []
    for m in mails:
        raw = m.raw
        head = raw.split(b"\n\n", 1)[0]
        header_bytes.append(len(head))
        if b"=?" in head:
            encoded_headers += 1
        msg = email.message_from_bytes(raw, policy=policy.compat32)
        types = set()
        for part in msg.walk():
            types.add(part.get_content_type())
            if part.get_content_maintype() == "text":
                ctes[str(part.get("Content-Transfer-Encoding", "7bit")).lower()] += 1
            if str(part.get("Content-Disposition", "")).startswith("attachment"):
                types.add("attachment")
        alternative += "multipart/alternative" in types
        related += "multipart/related" in types
        attachments += "attachment" in types
        html_only += msg.get_content_type() == "text/html"
    header_bytes.sort()
    return {
        "messages": n, "size_min": sizes[0], "size_median": sizes[n // 2], "size_p90": sizes[int(n * 0.9)],
        "size_max": sizes[-1], "size_mean": round(sum(sizes) / n), "under_2k": sum(s < MIN_SIZE for s in sizes),
        "over_20k": sum(s > MAX_SIZE for s in sizes), "header_median": header_bytes[n // 2],
        "header_p90": header_bytes[int(n * 0.9)], "multipart_alternative": round(alternative / n, 3),
        "html_only": round(html_only / n, 3), "with_attachment": round(attachments / n, 3),
        "multipart_related": round(related / n, 3), "rfc2047_headers": round(encoded_headers / n, 3),
        "kinds": {k: round(v / n, 3) for k, v in kinds.most_common()},
        "text_part_encodings": dict(ctes.most_common()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=float, default=21.0, help="the mail arrives over this many days (default 21)")
    parser.add_argument("--end", help="ISO-8601 time of the last message (default 2026-11-24T12:00:00+00:00)")
    parser.add_argument("--out", type=Path, help="write .eml files (or a Maildir with --maildir) here")
    parser.add_argument("--maildir", action="store_true", help="write --out as a Maildir (cur/, unseen)")
    parser.add_argument("--stats", action="store_true", help="print size and structure statistics and the speed")
    args = parser.parse_args(argv)
    end = datetime.fromisoformat(args.end) if args.end else None
    gen = MailGen(args.seed, end=end, days=args.days, count_hint=args.count)
    started = time.perf_counter()
    mails = list(gen.take(args.count))
    seconds = time.perf_counter() - started
    if args.out:
        target = args.out
        if args.maildir:
            for sub in ("cur", "new", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
        for i, mail in enumerate(mails):
            path = target / "cur" / f"{int(mail.date.timestamp())}.M{i}.mailgen:2," if args.maildir else \
                target / f"{i:06d}-{mail.kind}.eml"
            path.write_bytes(mail.raw)
            stamp = mail.date.timestamp()
            os.utime(path, (stamp, stamp))
        print(f"wrote {len(mails)} messages to {target}", file=sys.stderr)
    if args.stats or not args.out:
        stats = describe(mails)
        stats["generated_per_second"] = round(args.count / seconds)
        width = max(map(len, stats))
        for key, value in stats.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
