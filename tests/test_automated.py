"""Mail no customer wrote (triage.automated), rule by rule, on header blocks shaped like
the real thing; and mail people wrote that carries some of the same signals and must
stay a customer's.

Each message goes through the parser as triage reads it (``parse_message``); the rule
that fired is asked of :func:`automated_rule` with the same evidence, so a test proves
both the reason triage reports and which rule gave it.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import compat32

import pytest

from triage.automated import RULES, SenderCounts, automated_rule, bulk_sender
from triage.headers import decode_value
from triage.message import RawMail
from triage.parsing import parse_message


def decide(text: str) -> tuple[str | None, str | None]:
    """(rule, reason) for a message given as its text: the reason from the parser, the rule
    from the same evidence (headers, From address, subject, content types, file names)."""
    data = text.lstrip("\n").encode("utf-8")
    message = parse_message(RawMail(data, "INBOX", "t"))
    parsed = BytesParser(policy=compat32).parsebytes(data)
    headers: dict[str, str] = {}
    for name, value in parsed.items():
        if not headers.get(name.lower(), "").strip():
            headers[name.lower()] = decode_value(str(value))
    parts = [(str(p.get("content-type", p.get_content_type())), p.get_filename() or "")
             for p in parsed.walk() if p is not parsed]
    found = automated_rule(headers, message.sender, message.subject, headers.get("content-type", ""), parts)
    rule, reason = found if found else (None, None)
    assert reason == message.automated_reason, "the parser and the rules disagree"
    return rule, reason


# --- header evidence --------------------------------------------------------------------

POSTFIX_DSN = """
Return-Path: <>
From: Mail Delivery System <mail@relay.larkspur.example>
To: help@larkspur.example
Subject: Returned message
Message-ID: <20260312070500.4F2A1@relay.larkspur.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2A1.1773299100/relay.larkspur.example"

--4F2A1.1773299100/relay.larkspur.example
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay.larkspur.example. I'm sorry to have to inform you
that your message could not be delivered to one or more recipients.

<ana.k@gmial.example>: host gmial.example said: 550 5.1.1 user unknown

--4F2A1.1773299100/relay.larkspur.example
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.larkspur.example
Final-Recipient: rfc822; ana.k@gmial.example
Action: failed
Status: 5.1.1

--4F2A1.1773299100/relay.larkspur.example
Content-Type: text/rfc822-headers

From: Larkspur Help <help@larkspur.example>
Subject: Re: Refund for order 5512

--4F2A1.1773299100/relay.larkspur.example--
"""

EXIM_BOUNCE = """
Return-Path: <>
X-Failed-Recipients: ana.k@gmial.example
From: Mail Delivery System <Mailer@smtp.larkspur.example>
To: help@larkspur.example
Subject: Message could not be sent
Message-ID: <E1tZ3-0004aQ-Ok@smtp.larkspur.example>
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients.
"""

EXCHANGE_NDR = """
From: Microsoft Outlook <notify@larkspur.onmicrosoft.example>
To: help@larkspur.example
Subject: Could not deliver: RE: Cancel my plan
X-MS-Exchange-Message-Is-Ndr:
Message-ID: <ndr-77@larkspur.onmicrosoft.example>
Content-Type: text/plain; charset=utf-8

Your message to ana@old-company.example couldn't be delivered.
"""


@pytest.mark.parametrize("text", [POSTFIX_DSN, EXIM_BOUNCE, EXCHANGE_NDR], ids=["rfc3464", "exim", "exchange"])
def test_delivery_reports_are_bounces_whoever_signs_them(text):
    assert decide(text) == ("delivery_report", "bounce")


ARF_REPORT = """
From: "Abuse Desk, Northline Broadband" <abuse@northline.example>
To: help@larkspur.example
Subject: [Ticket#2025100174412] Unsolicited bulk mail from larkspur.example
Message-ID: <arf-1@northline.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
 boundary="arf-boundary"

--arf-boundary
Content-Type: text/plain; charset="us-ascii"

This is an email abuse report for an email message received from IP 203.0.113.7.

--arf-boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Northline-FBL/1.0
Version: 1

--arf-boundary
Content-Type: message/rfc822

From: Larkspur <news@larkspur.example>
Subject: 20% off everything refund-free

Our sale is on.
--arf-boundary--
"""

DMARC_AGGREGATE = """
From: DMARC Aggregate Report <reports@mail.example>
To: help@larkspur.example
Subject: Weekly aggregate report
Message-ID: <dmarc-agg-1@mail.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="agg"

--agg
Content-Type: text/plain; charset="us-ascii"

This is an aggregate report from mail.example.

--agg
Content-Type: application/gzip;
 name="mail.example!larkspur.example!1756771200!1756857599.xml.gz"
Content-Disposition: attachment;
 filename="mail.example!larkspur.example!1756771200!1756857599.xml.gz"
Content-Transfer-Encoding: base64

H4sIAAAAAAAAA7NJTE7NTbXLS8xNtdMHYQCAAAA=
--agg--
"""

TLS_REPORT = """
From: TLS Report <tls-reports@mail.example>
To: help@larkspur.example
Subject: Your TLS report
TLS-Report-Domain: larkspur.example
TLS-Report-Submitter: mail.example
Message-ID: <tlsrpt-1@mail.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=tlsrpt; boundary="t"

--t
Content-Type: text/plain

This is an aggregate TLS report from mail.example.
--t--
"""


@pytest.mark.parametrize("text", [ARF_REPORT, DMARC_AGGREGATE, TLS_REPORT], ids=["arf", "dmarc-zip", "tls-rpt"])
def test_feedback_and_authentication_reports(text):
    assert decide(text) == ("feedback_report", "feedback report")


def test_a_customer_attaching_a_zip_is_not_a_report():
    text = DMARC_AGGREGATE.replace("mail.example!larkspur.example!1756771200!1756857599.xml.gz", "photos.zip")
    text = text.replace("DMARC Aggregate Report <reports@mail.example>", "Ana Kowal <ana@example.org>")
    assert decide(text) == (None, None)


def test_a_read_receipt_is_the_client_answering():
    text = """
From: Ana Kowal <ana@example.org>
To: help@larkspur.example
Subject: Read: Your refund for order 5512
Message-ID: <mdn-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="m"

--m
Content-Type: text/plain

Your message was read on Tuesday.
--m
Content-Type: message/disposition-notification

Final-Recipient: rfc822;ana@example.org
Disposition: manual-action/MDN-sent-manually; displayed
--m--
"""
    assert decide(text) == ("read_receipt", "read receipt")


MAILMAN_POST = """
Return-Path: <smallshop-ops-bounces+help=larkspur.example@lists.indieretailer.example>
From: Helen Marsh <helen@marshandmoss.example>
To: smallshop-ops@lists.indieretailer.example
Subject: [smallshop-ops] Courier lost 3 parcels - I want a refund from them
Message-ID: <C7A2@marshandmoss.example>
X-Mailer: Apple Mail (2.3826.600.51.1.1)
X-Mailman-Version: 3.3.10
Precedence: list
List-Id: "Operations chat for small shop owners" <smallshop-ops.lists.indieretailer.example>
List-Post: <mailto:smallshop-ops@lists.indieretailer.example>
List-Unsubscribe: <mailto:smallshop-ops-leave@lists.indieretailer.example>
Content-Type: text/plain; charset=utf-8

Has anyone else had this with ParcelNet? Three lost parcels this month.

Helen
"""

GOOGLE_GROUPS_POST = """
From: Mira Kovac <mira.kovac@fastmail.example>
To: uk-ecommerce-devs <uk-ecommerce-devs@googlegroups.com>
Subject: Re: Webhook retries for refund events firing twice?
Message-ID: <b1f2@fastmail.example>
In-Reply-To: <a0e1@example.net>
X-Original-Sender: mira.kovac@fastmail.example
Mailing-list: list uk-ecommerce-devs@googlegroups.com; contact uk-ecommerce-devs+owners@googlegroups.com
List-ID: <uk-ecommerce-devs.googlegroups.com>
X-Google-Group-Id: 738201945512
Content-Type: text/plain; charset=utf-8

We saw the same, dedupe on the event id.
"""


@pytest.mark.parametrize("text", [MAILMAN_POST, GOOGLE_GROUPS_POST], ids=["mailman", "google-groups"])
def test_a_persons_post_to_a_mailing_list_is_list_traffic(text):
    assert decide(text) == ("mailing_list", "mailing list")


def test_an_announcement_list_that_forbids_posting_is_bulk_mail():
    text = """
From: Homewares Insider <letters@insider.example>
To: help@larkspur.example
Subject: This week: linen prices
Message-ID: <n-48@insider.example>
List-Id: <weekly.insider.example>
List-Post: NO
List-Unsubscribe: <https://insider.example/u/abc>
Content-Type: text/plain

Prices are up.
"""
    assert decide(text) == ("bulk_headers", "bulk mail")


def test_an_auto_reply_declared_by_rfc_3834_with_an_ordinary_subject():
    text = """
From: Naomi Adeyinka <naomi@adeyinkastudio.example>
To: help@larkspur.example
Subject: Re: Your workspace export is ready
Message-ID: <ar-1@adeyinkastudio.example>
Auto-Submitted: auto-replied
Content-Type: text/plain

I'm on leave until Monday 3 November.
"""
    assert decide(text) == ("auto_reply", "auto-reply")


def test_vacation_program_headers_make_an_auto_reply():
    text = """
From: Tom <tom@whitcombe.example>
To: help@larkspur.example
Subject: Away
Message-ID: <v-1@whitcombe.example>
X-Autoreply: yes
Content-Type: text/plain

Back on the 5th.
"""
    assert decide(text) == ("auto_reply", "auto-reply")


def test_auto_generated_is_named_by_what_it_is():
    exchange_ooo = """
From: Emma Thornton <emma.thornton@brackenlegal.example>
To: help@larkspur.example
Subject: Automatic reply: Re: Refund for returned throw
Message-ID: <ooo-1@brackenlegal.example>
Auto-Submitted: auto-generated
Content-Type: text/plain

I am out of the office until 14 July.
"""
    monitoring = """
From: Uptimely <status@uptimely.example>
To: help@larkspur.example
Subject: api.larkspur.example is down
Message-ID: <up-1@uptimely.example>
Auto-Submitted: auto-generated
Content-Type: text/plain

Monitor api.larkspur.example went down at 03:12 UTC.
"""
    assert decide(exchange_ooo) == ("auto_generated", "auto-reply")
    assert decide(monitoring) == ("auto_generated", "notification")


def test_auto_submitted_no_is_a_person():
    text = """
From: Ana Kowal <ana@example.org>
To: help@larkspur.example
Subject: Refund for order 5512
Message-ID: <p-1@example.org>
Auto-Submitted: no
Content-Type: text/plain

Please refund the broken lamp.
"""
    assert decide(text) == (None, None)


def test_rss_items_sent_as_mail_are_a_feed():
    text = """
Return-Path: <ana@example.org>
From: Storefront Journal <ana@example.org>
To: help@larkspur.example
Subject: How to handle chargebacks without losing your mind
Message-ID: <rss-1@example.org>
User-Agent: rss2email/3.14
X-RSS-Feed: https://storefrontjournal.example/feed/
X-RSS-ID: https://storefrontjournal.example/2025/01/chargebacks/
X-RSS-URL: https://storefrontjournal.example/2025/01/chargebacks/
Content-Type: text/plain

Chargebacks are a fact of life.
"""
    assert decide(text) == ("feed", "feed")


@pytest.mark.parametrize("header", ["X-Spam-Flag: YES", "X-Spam: Yes",
                                    "X-Spam-Status: Yes, score=11.2 required=5.0 tests=HTML_MESSAGE",
                                    "X-Forefront-Antispam-Report: CIP:203.0.113.9;CTRY:NG;SFV:SPM;H:mx"])
def test_a_spam_filters_verdict(header):
    text = f"""
From: Wealth Desk <invest@profitline.example>
To: help@larkspur.example
Subject: TURN $250 INTO $12,000 IN 30 DAYS!!! REFUND GUARANTEED
Message-ID: <s-1@profitline.example>
{header}
Content-Type: text/plain

Act now.
"""
    assert decide(text) == ("spam_verdict", "spam")


def test_a_filter_that_says_not_spam_decides_nothing():
    text = """
From: Ana Kowal <ana@example.org>
To: help@larkspur.example
Subject: Refund for order 5512
Message-ID: <ns-1@example.org>
X-Spam-Status: No, score=-0.1 required=5.0
X-Spam-Flag: NO
X-Forefront-Antispam-Report: CIP:198.51.100.4;CTRY:GB;LANG:en;SCL:1;SFV:NSPM;H:mail.example.org
Content-Type: text/plain

Please refund the broken lamp.
"""
    assert decide(text) == (None, None)


GOOGLE_INVITATION = """
From: Priya Shah <priya.shah@larkspur.example>
To: help@larkspur.example
Subject: Q3 returns & refunds review
Reply-To: Priya Shah <priya.shah@larkspur.example>
Sender: Google Calendar <calendar-notification@google.com>
Message-ID: <inv-1@google.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

You have been invited to the following event.
--inner
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
END:VCALENDAR
--inner--
--outer--
"""


def test_a_calendar_invitation_from_a_colleague():
    assert decide(GOOGLE_INVITATION) == ("calendar_invitation", "notification")


def test_a_customer_attaching_a_booking_ics_is_still_a_customer():
    text = GOOGLE_INVITATION.replace("Priya Shah <priya.shah@larkspur.example>", "Ana <ana@example.org>")
    text = text.replace("Sender: Google Calendar <calendar-notification@google.com>\n", "")
    text = text.replace("Content-Type: text/calendar; charset=utf-8; method=REQUEST",
                        'Content-Type: application/ics; name="booking.ics"\nContent-Disposition: attachment')
    assert decide(text) == (None, None)


@pytest.mark.parametrize("header", [
    "List-Unsubscribe: <https://kettle.example/u/9f2>, <mailto:unsub@kettle.example>",
    "Precedence: bulk",
    "X-Campaign-Id: 20251021-fibre900",
    "X-MC-User: 8c1e2d3f4a5b6c7d8e9f0a1b2",
    "X-Mailer: MailerLite",
])
def test_bulk_mail_headers(header):
    text = f"""
From: Kettle & Crumb <hello@kettle.example>
To: help@larkspur.example
Subject: LAST CHANCE!!! 40% off your first 3 bags
Message-ID: <b-1@kettle.example>
{header}
Content-Type: text/html; charset=utf-8

<p>Sale ends tonight.</p>
"""
    assert decide(text) == ("bulk_headers", "bulk mail")


# --- the sender --------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["MAILER-DAEMON@yahoo.example", "postmaster@outlook.example",
                                    "post_master@mail.example",
                                    "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@larkspur.example"])
def test_the_mail_system_writing_is_a_bounce(sender):
    text = f"""
From: {sender}
To: help@larkspur.example
Subject: Problem with your message
Message-ID: <d-1@mail.example>
Content-Type: text/plain

Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver your message.
"""
    assert decide(text) == ("bounce_sender", "bounce")


@pytest.mark.parametrize("from_line, return_path", [
    ("From: <>", ""),
    ("", ""),
    ("From: Mail System <system@mx.example>", "Return-Path: <>"),
])
def test_an_empty_or_null_sender(from_line, return_path):
    text = f"""
{return_path}
{from_line}
To: help@larkspur.example
Subject: Your message
Message-ID: <e-1@mx.example>
Content-Type: text/plain

Your message was received.
""".replace("\n\n", "\n", 2)
    assert decide(text) == ("empty_sender", "empty sender")


@pytest.mark.parametrize("sender", ["smallshop-ops-request@lists.example", "smallshop-ops-owner@lists.shops.example",
                                    "smallshop-ops-confirm+16135054d5d0@lists.example", "owner-retail-l@lists.example",
                                    "listserv@listserv.uni.example", "majordomo@lists.example"])
def test_list_managers_mailboxes(sender):
    text = f"""
From: {sender}
To: help@larkspur.example
Subject: Your subscription request
Message-ID: <l-1@lists.example>
Content-Type: text/plain

To confirm, reply to this message.
"""
    assert decide(text) == ("list_manager_sender", "mailing list")


def test_a_dmarc_reporter_with_an_unusual_subject():
    text = """
From: dmarc_support@corp.mail.example
To: help@larkspur.example
Subject: Daily report for larkspur.example
Message-ID: <r-1@corp.mail.example>
Content-Type: text/plain

See attachment.
"""
    assert decide(text) == ("report_sender", "feedback report")


@pytest.mark.parametrize("sender", ["noreply@shipmate.example", "no-reply@bank.example", "no_reply@bank.example",
                                    "donotreply@bank.example", "do-not-reply@bank.example",
                                    "crash-noreply@alerts.kumo.example", "billing-noreply@cloud.example",
                                    "ne-pas-repondre@impots.example", "naoresponda@banco.example"])
def test_no_reply_senders_in_their_spellings(sender):
    text = f"""
From: Shipmate <{sender}>
To: help@larkspur.example
Subject: Something for you
Message-ID: <nr-1@example.net>
Content-Type: text/plain

Hello.
"""
    assert decide(text) == ("no_reply_sender", "no-reply sender")


@pytest.mark.parametrize("sender", ["alerts@northbridgebank.example", "notifications@github.example",
                                    "shipment-tracking@marketly.example", "zabbix@monitor.larkspur.example",
                                    "newsletter@finpilot.example"])
def test_mailboxes_only_machines_write_from(sender):
    text = f"""
From: {sender}
To: help@larkspur.example
Subject: Something for you
Message-ID: <ns-1@example.net>
Content-Type: text/plain

Hello.
"""
    rule, reason = decide(text)
    assert rule == "notification_sender" and reason in {"notification", "bulk mail"}


# --- the subject -------------------------------------------------------------------------

@pytest.mark.parametrize("subject", [
    "Automatic reply: Re: Refund for returned Hartley throw", "Auto-Reply: Re: Your refund is on its way",
    "Out of Office: Order 5512", "Automatische Antwort: Rechnung QS-2025-07-1183",
    "Réponse automatique : RE: Virement international", "Respuesta automática: Comisión por cambio",
    "Odpowiedź automatyczna: RE: Zwrot opłaty", "Abwesenheitsnotiz: Ihre Rechnung", "自動応答: Re: ご注文の件",
    "自动回复：退款", "Thank you for contacting Harvest Lane", "We've received your request [#12345]",
])
def test_auto_reply_subjects(subject):
    text = f"""
From: Someone <someone@firm.example>
To: help@larkspur.example
Subject: {subject}
Message-ID: <as-1@firm.example>
Content-Type: text/plain; charset=utf-8

I am away.
"""
    assert decide(text) == ("auto_reply_subject", "auto-reply")


@pytest.mark.parametrize("subject", [
    "Undeliverable: RE: Chargeback on a hotel booking", "Undelivered Mail Returned to Sender",
    "Delivery Status Notification (Failure)", "Mail delivery failed: returning message to sender",
    "Failure Notice", "Delayed Mail (still being retried)", "Delivery delayed:RE: Standing order cancelled?",
    "Non remis : RE: Remboursement frais", "Unzustellbar: Ihre Bestellbestätigung",
    "Mensaje no entregado: Re: Garantía", "Returned mail: see transcript for details",
])
def test_bounce_subjects(subject):
    text = f"""
From: Mail Gateway <gateway@relay.example>
To: help@larkspur.example
Subject: {subject}
Message-ID: <bs-1@relay.example>
Content-Type: text/plain; charset=utf-8

Your message could not be delivered.
"""
    assert decide(text) == ("bounce_subject", "bounce")


def test_a_dmarc_report_subject():
    text = """
From: Reports <reports@mail.example>
To: help@larkspur.example
Subject: Report Domain: larkspur.example Submitter: mail.example Report-ID: <8812@mail.example>
Message-ID: <rs-1@mail.example>
Content-Type: text/plain

Aggregate report attached.
"""
    assert decide(text) == ("report_subject", "feedback report")


def test_a_calendar_subject_without_the_calendar_part():
    text = """
From: Tom Ellis <tom.ellis@larkspur.example>
To: help@larkspur.example
Subject: Canceled event: Courier claims catch-up @ Thu 16 Oct 2025 11:00 - 11:30 (BST)
Message-ID: <cs-1@larkspur.example>
Content-Type: text/plain

This event has been canceled.
"""
    assert decide(text) == ("calendar_subject", "notification")


def test_a_list_digest_subject():
    text = """
From: Mailkit lists <lists@mailkit.example>
To: help@larkspur.example
Subject: imap-users Digest, Vol 212, Issue 4
Message-ID: <dg-1@mailkit.example>
Content-Type: text/plain

Today's Topics: 1. LMTP delivery slow
"""
    assert decide(text) == ("list_subject", "mailing list")


# --- weak evidence ---------------------------------------------------------------------------

SES_NEWSLETTER = """
Return-Path: <0101a2ab793d0610-438fadde-000000@bounce.waldhaus.example>
Feedback-ID: ::1.us-east-1.up6YiOj2LGgIL:AmazonSES
X-SES-Outgoing: 2025.07.24-54.240.16.241
From: Waldhaus Outdoor <team@waldhaus.example>
To: help@larkspur.example
Subject: Sommer-SALE: bis zu 50 % Rabatt auf Zelte
Message-ID: <0101a2ab@email.amazonses.com>
Content-Type: text/html; charset=utf-8

<p>Sale!</p>
"""


def test_an_email_service_provider_and_a_bounce_return_path_make_bulk_mail():
    assert decide(SES_NEWSLETTER) == ("two_weak_signals", "bulk mail")


def test_an_email_service_provider_alone_is_not_enough():
    # A person's company mail can go out through SES (Amazon WorkMail does).
    text = SES_NEWSLETTER.replace("Return-Path: <0101a2ab793d0610-438fadde-000000@bounce.waldhaus.example>",
                                  "Return-Path: <jonas@waldhaus.example>")
    text = text.replace("team@waldhaus.example", "jonas@waldhaus.example")
    text = text.replace("Sommer-SALE: bis zu 50 % Rabatt auf Zelte", "Rückerstattung Bestellung 5512")
    assert decide(text) == (None, None)


def test_a_bounce_return_path_and_a_notification_subject_make_a_notification():
    text = """
Return-Path: <bounces@paynest.example>
From: PayNest <service@paynest.example>
To: help@larkspur.example
Subject: You've received £59.00 GBP from Gareth Pryce
Message-ID: <pn-1@paynest.example>
Content-Type: text/plain; charset=utf-8

Gareth Pryce sent you £59.00 GBP.
"""
    assert decide(text) == ("two_weak_signals", "notification")


def test_microsoft_forwarding_rewrites_the_return_path_but_a_person_wrote_it():
    text = """
Return-Path: <bounces+SRS=k2Lq9=7Q@larkspur.example>
From: Ana Kowal <orders@kowal-shop.example>
To: help@larkspur.example
Subject: Order PO-5531 arrived damaged
Message-ID: <srs-1@kowal-shop.example>
Content-Type: text/plain

Two of the six mugs were broken.
"""
    assert decide(text) == (None, None)


def test_auto_response_suppress_alone_is_not_enough():
    text = OUTLOOK_CUSTOMER.replace("X-MS-Has-Attach:", "X-MS-Has-Attach:\nX-Auto-Response-Suppress: All")
    assert decide(text) == (None, None)


def test_a_reply_to_a_notification_sent_through_an_email_service_provider_is_a_customer():
    # Amazon WorkMail sends a person's mail through SES: one machinery signal, and the
    # subject is the notification's own, answered.
    text = REPLY_TO_A_NOTIFICATION.replace(
        "Message-ID: <CAJ7@mail.gmail.example>",
        "Message-ID: <CAJ7@mail.gmail.example>\nFeedback-ID: ::1.eu-west-1.abc=:AmazonSES\n"
        "X-SES-Outgoing: 2026.03.10-54.240.1.1")
    assert decide(text) == (None, None)
    assert decide(text.replace("Subject: Re: ", "Subject: ")) == (None, None)  # In-Reply-To: still a reply
    not_a_reply = "\n".join(line for line in text.splitlines() if not line.startswith(("In-Reply-To", "References")))
    assert decide(not_a_reply.replace("Subject: Re: ", "Subject: ")) == ("two_weak_signals", "notification")


def test_a_role_mailbox_and_a_notice_like_subject_are_a_persons_words():
    text = """
From: Accounts <billing@kowal-shop.example>
To: help@larkspur.example
Subject: Your invoice INV-2291 was sent twice
Message-ID: <bi-1@kowal-shop.example>
Content-Type: text/plain

We were charged twice for INV-2291. Please refund one.
"""
    assert decide(text) == (None, None)


# --- people's mail that must stay a customer's -------------------------------------------------

GMAIL_CUSTOMER = """
Return-Path: <priya.raman@gmail.example>
X-Gm-Message-State: AOJu0YbxEcidgqPpEO6gEVtwkgNpUcLrx5HkARdU2pbJlllofx
X-Google-Smtp-Source: AGHT+ILgjR56aVjTOV8oZMfKW/2gtiYkk+g1DddgivXDpaVnWLwAhM0S
MIME-Version: 1.0
From: Priya Raman <priya.raman@gmail.example>
Date: Tue, 10 Mar 2026 09:12:44 +0000
Message-ID: <CAK8x1=pQ2@mail.gmail.example>
Subject: Refund for the chipped vase (order HH-20417)
To: help@larkspur.example
Content-Type: multipart/alternative; boundary="000000000000b743d0e99f143453"

--000000000000b743d0e99f143453
Content-Type: text/plain; charset="UTF-8"

Hi, the vase arrived chipped. Can I have a refund please?

--
Priya Raman
Sent from my iPhone
--000000000000b743d0e99f143453--
"""

OUTLOOK_CUSTOMER = """
From: Siobhan Kelly <siobhan.kelly@kellyandco.example>
To: "help@larkspur.example" <help@larkspur.example>
Subject: Charged twice for order 7781
Thread-Topic: Charged twice for order 7781
Thread-Index: AQHkycpaX80mQavr8IYB+j8KFZB/xCB2O==
Date: Wed, 11 Mar 2026 10:00:00 +0000
Message-ID: <DB9PR02MB8588ABC@DB9PR02MB8588.eurprd02.prod.outlook.example>
Accept-Language: en-GB, en-US
Content-Language: en-GB
X-MS-Has-Attach:
X-MS-Exchange-Organization-SCL: 1
X-Forefront-Antispam-Report: CIP:255.255.255.255;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:DB9PR02MB8588
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I was charged twice for the same order. Please sort it out.

Kind regards,
Siobhan Kelly | Kelly & Co
"""

REPLY_TO_A_NOTIFICATION = """
From: Giulia Romano <giulia.romano@gmail.example>
To: Larkspur <help@larkspur.example>
Subject: Re: Your order HH-29114 has been dispatched
In-Reply-To: <dispatch-29114@larkspur.example>
References: <dispatch-29114@larkspur.example>
Message-ID: <CAJ7@mail.gmail.example>
Content-Type: text/plain; charset=utf-8

It says dispatched but the tracking has not moved in a week. Where is it?

> Your order HH-29114 has been dispatched.
> Please do not reply to this email.
"""

FORWARDED_BOUNCE = """
From: Ana Kowal <ana@example.org>
To: help@larkspur.example
Subject: Fwd: Mail delivery failed: returning message to sender
Message-ID: <fw-1@example.org>
Content-Type: text/plain

Your address bounced my complaint, I am trying again. I want my refund.

---------- Forwarded message ---------
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
"""

WEB_FORM = """
From: Web form <noreply@harbourpine.example>
To: Harbour & Pine Hotels <reservations@harbourpine.example>
Subject: Website enquiry - Manage booking
Message-ID: <wf-1@harbourpine.example>
Content-Type: text/plain; charset="utf-8"

Name: Arjun Mehta
Email: arjun.mehta@protonmail.example
Message: Hi, I need to cancel the two nights 14-16 August please.
"""

FORM_RELAYS = [  # (display name, subject): a form builder or a shop's own form, sent from a no-reply address
    ("Typeform", "New response: Contact us"),
    ("Support form", "New support request"),
    ("Helpdesk form", "[Acme] New ticket from web"),
    ("JotForm", "Re: Returns form"),
    ("Booking form", "Booking request"),
    ("Gravity Forms", "New submission"),
    ("Website Formulier", "Nieuw bericht"),
]


@pytest.mark.parametrize(("name", "subject"), FORM_RELAYS)
def test_a_form_relay_from_a_no_reply_address_stays_a_customer(name, subject):
    text = f"""
From: {name} <no-reply@harbourpine.example>
To: help@harbourpine.example
Subject: {subject}
Message-ID: <fr-1@harbourpine.example>
Content-Type: text/plain; charset=utf-8

Email: holly@example.org
Message: I'd like to stop paying for premium when this month finishes.
"""
    assert decide(text) == (None, None)


PARCEL_COMPLAINTS = [
    "Undeliverable parcel - where is my refund?", "Delivery failure - order 1234", "Niedostarczone posiłki",
    "Auto-reply not working in your app", "Order not delivered", "Re: Out of office",
]


@pytest.mark.parametrize("text", [GMAIL_CUSTOMER, OUTLOOK_CUSTOMER, REPLY_TO_A_NOTIFICATION, FORWARDED_BOUNCE,
                                  WEB_FORM],
                         ids=["gmail", "outlook", "reply-to-notification", "forwarded-bounce", "web-form"])
def test_people_stay_customers(text):
    assert decide(text) == (None, None)


@pytest.mark.parametrize("subject", PARCEL_COMPLAINTS)
def test_complaints_that_sound_like_system_mail_stay_customers(subject):
    text = f"""
From: Owen Jenkins <owen.jenkins@gmail.example>
To: help@larkspur.example
Subject: {subject}
Message-ID: <pc-1@mail.gmail.example>
Content-Type: text/plain; charset=utf-8

Still nothing. I want my money back.
"""
    assert decide(text) == (None, None)


@pytest.mark.parametrize("sender", ["owen.jenkins@gmail.example", "bruno.reply@example.org", "wang.ci@mail.example",
                                    "norman.mailer@example.org", "coffee-shop-owner@gmail.example",
                                    "orders@kowal-shop.example", "info@kowal-shop.example"])
def test_ordinary_addresses_stay_customers(sender):
    text = f"""
From: Someone <{sender}>
To: help@larkspur.example
Subject: Order PO-5531 arrived damaged
Message-ID: <oa-1@example.org>
Content-Type: text/plain

Two of the six mugs were broken.
"""
    assert decide(text) == (None, None)


# --- the rule list ---------------------------------------------------------------------------

def test_every_rule_is_named_once_documented_and_in_tier_order():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(len(rule.doc) > 40 for rule in RULES)
    tiers = [rule.tier for rule in RULES]
    order = ["header", "sender", "subject", "weak"]
    assert tiers == sorted(tiers, key=order.index)


# --- history: one sender, many distinct subjects --------------------------------------------

@pytest.mark.parametrize("counts, expected", [
    (SenderCounts(messages=623, distinct_subjects=623), True),            # an RSS feed
    (SenderCounts(messages=30, distinct_subjects=28), True),              # notifications, a few repeats
    (SenderCounts(messages=30, distinct_subjects=12), False),             # a customer chasing one issue
    (SenderCounts(messages=19, distinct_subjects=19), False),             # too few to tell
    (SenderCounts(messages=40, distinct_subjects=40, team_replies=1), False),        # the team answers them
    (SenderCounts(messages=40, distinct_subjects=40, replies_from_sender=2), False),  # they answer the team
])
def test_bulk_sender_from_history(counts, expected):
    assert bulk_sender(counts) is expected


def test_bulk_sender_thresholds_are_the_callers():
    counts = SenderCounts(messages=8, distinct_subjects=6)
    assert not bulk_sender(counts)
    assert bulk_sender(counts, min_messages=5, min_distinct_share=0.75)
