-- Deliveries are dropped 30 days after they were recorded, whatever the status of each row.
--
-- Every change of a delivery is a new row version (ReplacingMergeTree), and the TTL of 011
-- dropped only the rows whose status was not 'pending'. Where a delivery's first version
-- (pending) and its last (succeeded, failed, cancelled) were still in different parts on day
-- 30, the TTL deleted the last and kept the first: FINAL then showed the delivery pending
-- again, and the dispatcher sent it once more. No delivery is pending that long: retries end
-- after REVENANT_WEBHOOK_RETRY_HOURS, at most 28 days (lib/config/index.ts).
ALTER TABLE webhook_deliveries MODIFY TTL toDateTime(created_at) + INTERVAL 30 DAY;
