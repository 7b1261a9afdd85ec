/**
 * One event by id, with how it arrived and the conflicting copies kept aside
 * (GET /api/v1/events/{id}; docs/EVENTS.md, "First copy wins" and "Provenance").
 * The first-copies table gives the event's agent and time, so the row is then read from
 * events by primary key rather than by scanning for the id.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { StoredEvent } from "../events/schema";
import { queryRows, timeBound } from "../store/clickhouse";

export interface Provenance {
  /** "http" when the app itself produced the message for a principal, else "kafka". */
  via: "http" | "kafka";
  /** `api_key:<id>` or `user:<id>`, only for events posted through the API. */
  submitted_by: string | null;
  /** Where the stored copy was read from; topic '' for events stored before provenance was kept. */
  kafka: { topic: string; partition: number; offset: string };
  /** SHA-256 of the message as received ('' for events stored before hashes were kept). */
  content_hash: string;
  ingested_at: string;
}

export interface EventConflict {
  received_at: string;
  content_hash: string;
  submitted_by: string | null;
  kafka: { topic: string; partition: number; offset: string };
  /** The conflicting message as received. */
  payload: string;
}

export interface EventDetail {
  event: StoredEvent;
  provenance: Provenance;
  conflicts: EventConflict[];
}

type Row = StoredEvent & { kafka_topic: string; kafka_partition: number; kafka_offset: string; submitted_by: string; content_hash: string; ingested_at: string };
type ConflictRow = Omit<EventConflict, "kafka" | "submitted_by"> & { submitted_by: string; kafka_topic: string; kafka_partition: number; kafka_offset: string };

/** Most conflicting copies listed for one event: a flood of them is still counted. */
const MAX_CONFLICTS = 100;

export async function eventDetail(client: ClickHouseClient, eventId: string): Promise<EventDetail | null> {
  const [first] = await queryRows<{ agent_id: string; time: string }>(
    client,
    "api:event:first",
    "SELECT agent_id, time FROM event_first_copies WHERE event_id = {id:String}",
    { id: eventId },
  );
  if (!first) return null;
  const [rows, conflicts] = await Promise.all([
    queryRows<Row>(
      client,
      "api:event",
      `SELECT * EXCEPT (kafka_offset), toString(kafka_offset) AS kafka_offset FROM events FINAL
       WHERE agent_id = {a:String} AND time = ${timeBound("t")} AND event_id = {id:String} LIMIT 1`,
      { a: first.agent_id, t: first.time, id: eventId },
    ),
    queryRows<ConflictRow>(
      client,
      "api:event:conflicts",
      `SELECT received_at, content_hash, submitted_by, kafka_topic, kafka_partition, toString(kafka_offset) AS kafka_offset, payload
       FROM event_conflicts FINAL WHERE event_id = {id:String} ORDER BY received_at, kafka_partition, kafka_offset LIMIT {max:UInt32}`,
      { id: eventId, max: MAX_CONFLICTS },
    ),
  ]);
  const row = rows[0];
  if (!row) return null;
  const { kafka_topic, kafka_partition, kafka_offset, submitted_by, content_hash, ingested_at, ...event } = row;
  return {
    event,
    provenance: {
      via: submitted_by ? "http" : "kafka",
      submitted_by: submitted_by || null,
      kafka: { topic: kafka_topic, partition: kafka_partition, offset: kafka_offset },
      content_hash,
      ingested_at,
    },
    conflicts: conflicts.map((c) => ({
      received_at: c.received_at,
      content_hash: c.content_hash,
      submitted_by: c.submitted_by || null,
      kafka: { topic: c.kafka_topic, partition: c.kafka_partition, offset: c.kafka_offset },
      payload: c.payload,
    })),
  };
}
