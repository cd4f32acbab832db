"""The batched Python peer of bench/pipeline.ts: what a careful Python user writes with
confluent-kafka and scikit-learn, on the same broker and topic as Lookout in the same run.

Consumes the raw transactions in batches (consume(1000)), parses the JSON, builds the
numeric features the events carry, scores each batch with an IsolationForest trained on the
first `train` events (score_samples, 100 trees), and produces one small JSON score record per
event to an output topic (no enrichment, no per-entity state, no exactly-once: at-least-once
with auto-committed offsets). Prints one JSON object: events scored after training, seconds
from the first scored batch to the last produce acknowledged, and the rate.

    bench/.venv/bin/python bench/reference/pipeline_peer.py <bootstrap> <input> <output> <events> [train]
"""

import json
import sys
import time
from importlib.metadata import version

import confluent_kafka
import numpy as np
import sklearn
from confluent_kafka import Consumer, Producer
from sklearn.ensemble import IsolationForest

FEATURES = (
    "amount",
    "hour_of_day",
    "location_match",
    "device_known",
    "transactions_last_hour",
    "user_avg_amount",
    "amount_vs_user_avg",
)


def features(events: list) -> np.ndarray:
    return np.array([[float(event[name]) for name in FEATURES] for event in events])


def main() -> None:
    bootstrap, source, sink, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    train = int(sys.argv[5]) if len(sys.argv) > 5 else 5_000
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"pipeline-peer-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "isolation.level": "read_committed",
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    consumer.subscribe([source])

    training: list = []
    while len(training) < train:
        for message in consumer.consume(num_messages=1000, timeout=1.0):
            if message.error() is None:
                training.append(json.loads(message.value()))
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=1).fit(features(training))

    scored = 0
    started = None
    while scored < total - train:
        batch = [m for m in consumer.consume(num_messages=1000, timeout=1.0) if m.error() is None]
        if not batch:
            continue
        if started is None:
            started = time.perf_counter()
        events = [json.loads(m.value()) for m in batch]
        scores = -model.score_samples(features(events))
        for message, event, score in zip(batch, events, scores):
            value = json.dumps({"id": event["transaction_id"], "score": float(score)})
            while True:
                try:
                    producer.produce(sink, key=message.key(), value=value)
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.poll(0)
        scored += len(batch)
    producer.flush()
    seconds = time.perf_counter() - started
    consumer.close()
    print(
        json.dumps(
            {
                "events": scored,
                "seconds": seconds,
                "rate": scored / seconds,
                "confluentKafka": version("confluent-kafka"),
                "librdkafka": confluent_kafka.libversion()[0],
                "sklearn": sklearn.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
