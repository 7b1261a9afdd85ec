import { createStore } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { parseConfig } from "@/lib/config";
const cfg = parseConfig({ REVENANT_DATA_DIR: "/tmp/qbench", LOG_LEVEL: "warn" });
const s = createStore(cfg);
await migrate(s.writer);
const rows = [];
for (let i = 0; i < 20000; i++) rows.push({ key_kind: "credential", key: `tok-${i}`, revocation_id: `rev-${i % 500}`, via: "cascade", scope: "agent", subject: `a-${i%500}`, cascade: true, revoked_at: "2026-11-01 12:00:00.000", reinstated_at: null, generation: 1, version: 1 });
for (let b = 0; b < 5; b++) await s.writer.insert({ table: "coverage", values: rows.slice(b*4000, b*4000+4000), format: "JSONEachRow" });
const variants: Record<string, Record<string, unknown>> = { plain: {}, mt1: { max_threads: 1 }, mt1nolog: { max_threads: 1, log_queries: 0 } };
for (const [name, settings] of Object.entries(variants)) for (const n of [1, 20]) {
  const t = [];
  for (let i = 0; i < 300; i++) { const a = performance.now();
    const rs = await s.lookup.query({ query: `SELECT key, revocation_id, via, scope, subject, revoked_at FROM coverage FINAL WHERE key_kind = 'credential' AND key IN {ids:Array(String)} AND reinstated_at IS NULL ORDER BY key`, query_params: { ids: Array.from({length:n},(_, j)=>`tok-${(i*7+j*13)%40000}`) }, format: "JSONEachRow", clickhouse_settings: settings as never });
    await rs.json(); t.push(performance.now()-a); }
  t.sort((a,b)=>a-b); console.log(name, n, "p50", t[150].toFixed(2), "p90", t[270].toFixed(2), "p99", t[296].toFixed(2));
}
await s.close();
