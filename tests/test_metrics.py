"""/metrics: deliveries by status and kind, queue depth, lateness and attempt latency."""

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families


def scrape(client):
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    return {family: {(s.name, tuple(sorted(s.labels.items()))): s.value
                     for s in families[family].samples} for family in families}


def test_metrics_report_what_the_dispatcher_did(st, make, client, clock, tick):
    editor, operator = make.user("editor"), make.user("operator")
    channel = make.channel()
    for minutes in (10, 20, 30):
        make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id],
                  scheduled_at=clock.now() + timedelta(minutes=minutes))
    clock.advance(minutes=25)
    before = scrape(client)
    assert before["planner_delivery_queue_depth"][("planner_delivery_queue_depth", ())] == 2
    tick()
    clock.advance(seconds=1)  # one send per target per moment: its rate limit spaces them
    tick()
    after = scrape(client)
    deliveries = after["planner_deliveries"]
    assert deliveries[("planner_deliveries", (("channel_kind", "outbox"), ("status", "sent")))] == 2
    assert deliveries[("planner_deliveries", (("channel_kind", "outbox"), ("status", "pending")))] == 1
    assert after["planner_delivery_queue_depth"][("planner_delivery_queue_depth", ())] == 0
    lateness = after["planner_delivery_lateness_seconds"]
    # Sent at +25 min and +25 min 1 s: 15 minutes late and 5 minutes 1 second late.
    assert lateness[("planner_delivery_lateness_seconds_count", ())] == 2
    assert lateness[("planner_delivery_lateness_seconds_sum", ())] == 1201
    assert lateness[("planner_delivery_lateness_seconds_bucket", (("le", "300"),))] == 0
    assert lateness[("planner_delivery_lateness_seconds_bucket", (("le", "900"),))] == 2
    attempts = after["planner_delivery_attempt_seconds"]
    assert attempts[("planner_delivery_attempt_seconds_count", ())] == 2
    assert after["planner_posts"][("planner_posts", (("kind", "tutorial"), ("status", "published")))] == 2
    assert after["planner_worker_alive"][("planner_worker_alive", ())] == 0
