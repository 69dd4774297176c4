"""The words mail clients write where quoted history, forwards and signatures begin.

Plain data for :mod:`triage.quotes`, all lower case. Covers the clients' own wording in
English, German, French, Spanish, Italian, Dutch, Portuguese, Polish, Swedish, Japanese
and Chinese, with Danish, Norwegian and Czech where a form is common. Sources: what
Gmail, Outlook (desktop, web, mobile), Apple Mail, Thunderbird and Yahoo write in each
language, and the reply headers of mail-parser-reply.
"""

from __future__ import annotations

REPLY_VERBS = (
    " wrote", " writes", " schrieb", " a écrit", " escribió", " ha scritto", " scrisse",
    " schreef", " escreveu", " napisał", " pisze", " skrev", " napsal", " kirjoitti",
    "写道", "寫道", "書きました", "のメール", "작성",
)
"""The verb of a reply header ("On …, Ann <a@b.example> wrote:"), found anywhere in the
line because German, Dutch and Nordic clients put the name after it."""

REPLY_OPENERS = (
    "on ", "am ", "le ", "el ", "il ", "op ", "em ", "no dia ", "às ", "w dniu ", "dnia ",
    "den ", "dne ", "på ", "在",
)
"""How a reply header begins when it starts with its date ("On Mon, 3 Mar 2025 …",
"Am 03.03.2025 um …", "W dniu 03.03.2025 …", "在 2025年3月3日 …")."""

QUOTING_OPENERS = ("quoting ", "zitat von ", "citando ")
"""Webmail (Horde, Roundcube) attribution lines, with an address and no verb:
"Quoting Ann <a@b.example>:"."""

STRONG_REPLY_VERBS = ("さんは書きました",)
"""Verbs that make a line ending in a colon a reply header on their own."""

HEADER_KEYS_FROM = frozenset({
    "from", "von", "de", "da", "van", "od", "från", "fra", "差出人", "发件人", "寄件者", "送信者",
})
HEADER_KEYS_DATE = frozenset({
    "sent", "date", "gesendet", "datum", "envoyé", "enviado", "enviado el", "enviada", "fecha",
    "inviato", "data", "verzonden", "wysłano", "wysłane", "skickat", "sendt", "dato", "odesláno",
    "送信日時", "日付", "发送时间", "日期", "寄件日期", "時間",
})
HEADER_KEYS_SUBJECT = frozenset({
    "subject", "betreff", "objet", "asunto", "oggetto", "onderwerp", "assunto", "temat", "ämne",
    "emne", "předmět", "件名", "主题", "主旨",
})
HEADER_KEYS_OTHER = frozenset({
    "to", "cc", "bcc", "reply-to", "organization", "an", "à", "a", "para", "aan", "do", "dw",
    "till", "til", "kopia", "kopie", "komu", "宛先", "收件人", "抄送", "副本", "组织",
})
HEADER_KEYS = HEADER_KEYS_FROM | HEADER_KEYS_DATE | HEADER_KEYS_SUBJECT | HEADER_KEYS_OTHER
"""The field names of the header block Outlook and forwards put above quoted mail
("From: …", "Gesendet: …", "Objet : …", "差出人: …")."""

SEPARATOR_MARKERS = frozenset({
    "original message", "forwarded message", "ursprüngliche nachricht",
    "weitergeleitete nachricht", "message d'origine", "message d’origine", "message original",
    "message transféré", "message transmis", "mensaje original", "mensaje reenviado",
    "messaggio originale", "messaggio inoltrato", "oorspronkelijk bericht", "origineel bericht",
    "doorgestuurd bericht", "mensagem original", "mensagem encaminhada",
    "mensagem reencaminhada", "wiadomość oryginalna", "oryginalna wiadomość",
    "wiadomość przekazana", "przekazana wiadomość", "ursprungligt meddelande",
    "vidarebefordrat meddelande", "oprindelig meddelelse", "videresendt meddelelse",
    "opprinnelig melding", "videresendt melding", "původní zpráva", "přeposlaná zpráva",
    "転送されたメッセージ", "元のメッセージ", "原始邮件", "转发的邮件", "原始郵件", "轉寄郵件",
})
"""What stands between dashes on a line of its own ("-----Original Message-----",
"---------- Forwarded message ---------", "-----Ursprüngliche Nachricht-----")."""

FORWARD_INTROS = frozenset({
    "begin forwarded message", "anfang der weitergeleiteten nachricht",
    "début du message réexpédié", "début du message transféré", "inicio del mensaje reenviado",
    "comienzo del mensaje reenviado", "inizio messaggio inoltrato", "messaggio inoltrato",
    "begin doorgestuurd bericht", "doorgestuurd bericht", "início da mensagem reencaminhada",
    "início da mensagem encaminhada", "początek przekazywanej wiadomości",
    "vidarebefordrat mejl", "vidarebefordrat brev", "videresendt meddelelse",
    "転送されたメッセージ", "转发的邮件", "轉寄的郵件",
})
"""Apple Mail's forward line, ending in a colon ("Begin forwarded message:")."""

SIGNATURE_PREFIXES = (
    "sent from ", "sent with ", "sent via ", "sent using ", "get outlook for ",
    "download outlook for ", "enviado desde ", "enviado con ", "obtener outlook para ",
    "von meinem ", "gesendet von ", "gesendet mit ", "outlook für ", "envoyé de mon ",
    "envoyé depuis ", "envoyé de yahoo", "envoyé de l'", "envoyé de l’", "envoyé à partir de ",
    "obtenir outlook pour ", "télécharger outlook pour ",
    "inviato da ", "inviato dal mio ", "scarica outlook per ", "ottieni outlook per ",
    "verzonden vanaf ", "verzonden met ", "verstuurd vanaf ", "verstuurd met ",
    "outlook voor ", "download outlook voor ", "enviado do meu ", "enviado de meu ",
    "enviado a partir do ", "obter o outlook para ", "obtenha o outlook para ", "wysłane z ",
    "wysłano z ", "wysłane przy użyciu ", "pobierz aplikację outlook ", "pobierz outlook ",
    "skickat från ", "skickat med ", "hämta outlook för ", "skaffa outlook för ", "sendt fra ",
    "odesláno z ", "发自我的", "从我的", "發自我的", "寄自我的",
)
SIGNATURE_SUFFIXES = ("から送信", "から送信しました", "发送", "傳送")
"""Phone and app footers ("Sent from my iPhone", "Von meinem iPhone gesendet",
"iPhoneから送信"); the signature starts there."""

DISCLAIMER_OPENERS_STRONG = (
    "confidentiality notice", "confidential notice", "confidentiality note",
    "confidentiality:", "disclaimer", "legal disclaimer", "important notice:",
    "privileged and confidential", "privileged & confidential", "haftungsausschluss",
    "vertraulichkeitshinweis", "avis de confidentialité", "aviso de confidencialidad",
    "aviso legal:", "avviso di riservatezza", "vertrouwelijkheidsverklaring",
)
DISCLAIMER_OPENERS = (
    "this email", "this e-mail", "this message", "the information contained in",
    "the information in this", "the content of this", "the contents of this", "diese e-mail",
    "diese email", "diese nachricht", "ce message", "ce courriel", "ce mail", "ce courrier",
    "este mensaje", "este correo", "este e-mail", "este email", "esta mensagem",
    "questa e-mail", "questa email", "questo messaggio", "il presente messaggio",
    "le informazioni contenute", "deze e-mail", "deze email", "dit bericht", "de informatie in",
    "ta wiadomość", "niniejsza wiadomość", "detta e-postmeddelande", "detta meddelande",
    "denna e-post", "denne e-mail",
)
DISCLAIMER_WORDS = (
    "confiden", "privileged", "intended", "addressee", "vertraulich", "adressat",
    "destinataire", "riservat", "destinatario", "vertrouwelijk", "geadresseerde", "poufn",
    "adresat", "konfidentiell", "sekretess", "mottagare", "fortrolig",
)
"""A corporate disclaimer: a notice's title alone, or an opening such as "This email …"
with confidentiality or addressee words in its first line."""
