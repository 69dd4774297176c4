"""Where mail comes from: local folders and files (``local``) or an IMAP mailbox (``triage.imap``)."""
