"""Queue-mode consumption (SQS-like): receive from every broker in turn; what is not deleted
becomes visible again after the visibility timeout, and the broker dead-letters a message
received ``max_receives`` times. The commit mode says whether to delete on receipt or after
processing."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ...history.ops import Op
from ..host import ConsumerHost
from ..messages import ChangeVisibility, Receive, ReceiveResponse
from ..tasks import Ask, Sleep, Task

SQS_MAX_MESSAGES = 10
"""A receive returns at most ten messages (SQS's MaxNumberOfMessages)."""


class QueueConsumption:
    def __init__(self, consumer: ConsumerHost) -> None:
        self.consumer = consumer

    def start(self) -> None:
        self.consumer.task(self._run())

    def _run(self) -> Generator[Any, Any, None]:
        c = self.consumer
        limit = min(c.max_records, SQS_MAX_MESSAGES)
        while True:
            for broker in c.topology.broker_names:
                reply = yield Ask(
                    broker,
                    lambda r: Receive(r, limit, c.group_name),
                    retry=False,
                    timeout=c.fetch_wait + c.request_timeout,
                )
                if reply is None or not reply.records:
                    continue
                for rec, n in zip(reply.records, reply.receives, strict=True):
                    epoch = reply.epochs.get(rec.partition, 0)
                    c.record(
                        Op.RECEIVE,
                        c.name,
                        (rec.eid,),
                        peer=broker,
                        part=rec.partition,
                        num=rec.offset,
                        detail=(n, epoch),
                    )
                keeper = self._keep_invisible(broker, reply)
                yield from c.commit.consume_queue(broker, reply)
                if keeper is not None and keeper.is_alive:
                    keeper.interrupt()

    def _keep_invisible(self, broker: str, reply: ReceiveResponse) -> Task | None:
        """With ``visibility_heartbeat``: extend the batch's visibility while it is worked on."""
        c = self.consumer
        every = c.visibility_heartbeat
        if every is None:
            return None
        items = tuple(
            (r.partition, r.offset, reply.epochs.get(r.partition, 0)) for r in reply.records
        )

        def beat() -> Generator[Any, Any, None]:
            while True:
                yield Sleep(every)
                c.send(broker, ChangeVisibility(-1, items, c.group_name))

        return c.task(beat())
