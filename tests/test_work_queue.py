"""A long pass takes mail that arrives meanwhile first, and its cursor never passes
backlog mail that is not done yet (triage.imap.sync.WorkQueue)."""

from triage.imap.sync import WorkQueue
from triage.message import RawMail


class Arrivals:
    """Stand-in for ImapMailbox: UIDs up to ``top`` exist; mail arrives as the test says."""

    folder = "INBOX"

    def __init__(self, top: int) -> None:
        self.top = top
        self.searches = 0

    def uids_since(self, last: int) -> list[int]:
        self.searches += 1
        return list(range(last + 1, self.top + 1))

    def announced_new_mail(self) -> bool:
        return False

    def fetch_batches(self, uids, batch_size, max_bytes, refused_unreadable=False):
        for start in range(0, len(uids), batch_size):
            yield [RawMail(b"x", "INBOX", str(uid), uid=uid) for uid in uids[start:start + batch_size]]


def test_mail_arriving_during_a_long_pass_is_taken_next_and_the_cursor_waits_for_the_backlog():
    box = Arrivals(top=1200)
    work = WorkQueue(box, list(range(1, 1201)), 1200, 500, 2_000_000)
    batches = work.batches()
    first = next(batches)
    assert [m.uid for m in first] == list(range(1, 501))
    work.done(first)
    assert work.fresh() == []
    assert work.cursor() == 500
    second = next(batches)
    work.done(second)
    box.top = 1203  # three customers write while the backlog is worked through
    [fresh] = work.fresh()
    assert [m.uid for m in fresh] == [1201, 1202, 1203]  # on their own: not held up by backlog
    work.done(fresh)
    assert work.cursor() == 1000  # 1001.. are not done: a crash now must not skip them
    rest = [m.uid for batch in batches for m in batch]
    assert rest == list(range(1001, 1201))
    work.done([RawMail(b"x", "INBOX", str(uid), uid=uid) for uid in rest])
    assert work.cursor() == 1203 and work.arrived == [1201, 1202, 1203]


def test_while_mail_keeps_arriving_the_backlog_goes_in_small_batches():
    """New mail waits for the batch being decided: while customers write during a long
    pass its batches are small, and big again once they stop for a while."""
    from triage.imap.sync import ARRIVING_BATCH, ARRIVING_SECONDS

    now = [0.0]
    box = Arrivals(top=2000)
    work = WorkQueue(box, list(range(1, 2001)), 2000, 500, 2_000_000, clock=lambda: now[0])
    batches = work.batches()
    assert len(next(batches)) == 500
    box.top = 2001
    assert [[m.uid for m in batch] for batch in work.fresh()] == [[2001]]
    assert len(next(batches)) == ARRIVING_BATCH
    now[0] += ARRIVING_SECONDS - 1
    assert len(next(batches)) == ARRIVING_BATCH
    now[0] += 2
    assert len(next(batches)) == 500
    assert sum(len(batch) for batch in batches) == 2000 - 500 - 2 * ARRIVING_BATCH - 500


def test_a_short_pass_does_not_search_again():
    box = Arrivals(top=12)
    work = WorkQueue(box, list(range(1, 11)), 10, 500, 2_000_000)
    assert [m.uid for batch in work.batches() for m in batch] == list(range(1, 11))
    assert work.fresh() == []  # the next pass takes 11 and 12
    assert box.searches == 0


def test_a_small_batch_is_decided_before_the_big_one_the_workers_analyse():
    """Analyzer.ahead: big batches are yielded one behind (the next is analysed while one
    is decided); a small one (fresh mail) is analysed in-process, so it goes at once."""
    from triage.analysis import PARALLEL_FROM, Analyzer

    started = []

    class Recording(Analyzer):
        def start(self, raws):
            started.append(len(raws))

    def batch(first, size):
        return [RawMail(b"x", "INBOX", str(uid), uid=uid) for uid in range(first, first + size)]

    big1, big2, small, big3 = batch(1, 500), batch(501, 500), batch(2001, 3), batch(1001, 500)
    analyzer = Recording(model=None, tone=None, processes=2)
    order = [b[0].uid for b in analyzer.ahead([big1, big2, small, big3])]
    assert order == [1, 2001, 501, 1001]
    assert started == [500, 500, 500] and len(small) < PARALLEL_FROM


def test_a_uid_that_vanished_before_its_fetch_holds_the_cursor_below_it():
    class Expunged(Arrivals):
        def fetch_batches(self, uids, batch_size, max_bytes, refused_unreadable=False):
            for batch in super().fetch_batches(uids, batch_size, max_bytes):
                yield [m for m in batch if m.uid != 7]

    box = Expunged(top=10)
    work = WorkQueue(box, list(range(1, 11)), 10, 5, 2_000_000)
    for batch in work.batches():
        work.done(batch)
    assert work.cursor() == 6  # the pass sets the cursor past it only once it ends unstopped
    assert work.top == 10
