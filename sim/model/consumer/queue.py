"""Queue-mode consumption (SQS-like): receive from every broker in turn; what is not deleted
becomes visible again after the visibility timeout, and the broker dead-letters a message
received ``max_receives`` times. The commit mode says whether to delete on receipt or after
processing."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ...history.ops import Op
from ..host import ConsumerHost
from ..messages import Receive


class QueueConsumption:
    def __init__(self, consumer: ConsumerHost) -> None:
        self.consumer = consumer

    def start(self) -> None:
        self.consumer.spawn(self._run())

    def _run(self) -> Generator[Any, Any, None]:
        c = self.consumer
        while True:
            for broker in c.topology.broker_names:
                reply = yield from c.call(
                    broker,
                    lambda r: Receive(r, c.max_records),
                    retry=False,
                    timeout=c.fetch_wait + c.request_timeout,
                )
                if reply is None or not reply.records:
                    continue
                for rec, n in zip(reply.records, reply.receives, strict=True):
                    c.record(
                        Op.RECEIVE,
                        c.name,
                        (rec.eid,),
                        peer=broker,
                        part=rec.partition,
                        num=rec.offset,
                        detail=(n, reply.epochs.get(rec.partition, 0)),
                    )
                yield from c.commit.consume_queue(broker, reply)
